package survey

import (
	"slices"
	"time"
)

// Version is the survey file format version this package writes and reads.
const Version = 1

// Survey is one building surveyed for one job. Its JSON and YAML field names
// are the same (snake_case); docs/survey.md describes each field.
type Survey struct {
	Version   int        `json:"version" yaml:"version"`
	Job       string     `json:"job" yaml:"job"`
	Building  Building   `json:"building" yaml:"building"`
	Entrances []Entrance `json:"entrances" yaml:"entrances"`
	Power     Power      `json:"power" yaml:"power"`
	Mount     Mount      `json:"mount" yaml:"mount"`
	// Signal is what the paired unit measured at the mount point; nil until
	// the unit is paired (the verdict is then pending-signal).
	Signal  *Signal  `json:"signal,omitempty" yaml:"signal,omitempty"`
	Photos  []Photo  `json:"photos" yaml:"photos"`
	Hazards []string `json:"hazards" yaml:"hazards"`
	Notes   string   `json:"notes" yaml:"notes"`
	// UpdatedAt is when the survey was last saved; the front end sets it.
	UpdatedAt time.Time `json:"updated_at,omitzero" yaml:"updated_at,omitempty"`
}

// Building is the building as a whole.
type Building struct {
	Address string `json:"address" yaml:"address"`
	Floors  int    `json:"floors" yaml:"floors"`
	// Units is the number of apartments.
	Units int `json:"units" yaml:"units"`
}

// Entrance is one door the unit will release. Its name is the job's name
// for the door ("lobby", "garage"), given by the office.
type Entrance struct {
	Name     string   `json:"name" yaml:"name"`
	DoorType DoorType `json:"door_type" yaml:"door_type"`
	// Egress is true when the door is on a required exit route: people
	// must be able to leave through it at any time, power or not.
	Egress   bool     `json:"egress" yaml:"egress"`
	Hardware Hardware `json:"hardware" yaml:"hardware"`
	// ReleaseVoltage is the voltage the lock needs to change state; empty
	// when the door has no electric lock.
	ReleaseVoltage Voltage `json:"release_voltage" yaml:"release_voltage"`
	// LockWiring is the cable run to the lock.
	LockWiring LockWiring `json:"lock_wiring" yaml:"lock_wiring"`
	// FailSafeWiring is true when the unit's release contact is wired to
	// cut the lock's power (in series, normally closed), so a power failure
	// or a dead unit leaves the door free. Only a fail-safe lock (maglock,
	// fail-safe strike) can be wired so.
	FailSafeWiring bool `json:"fail_safe_wiring" yaml:"fail_safe_wiring"`
	// FireAlarmRelease is true when the building's fire alarm panel cuts
	// the lock's power on alarm.
	FireAlarmRelease bool     `json:"fire_alarm_release" yaml:"fire_alarm_release"`
	Intercom         Intercom `json:"intercom" yaml:"intercom"`
	// ExistingAccess names an access system already on the door (a fob
	// reader, a keypad), empty when there is none.
	ExistingAccess string `json:"existing_access" yaml:"existing_access"`
}

// Intercom is the intercom the unit is fitted into at one entrance.
type Intercom struct {
	Make   string         `json:"make" yaml:"make"`
	Model  string         `json:"model" yaml:"model"`
	Wiring IntercomWiring `json:"wiring" yaml:"wiring"`
	// ReleaseWired is true when the intercom's door-release output is
	// wired to this entrance's lock, so the unit can sit on that circuit.
	ReleaseWired bool `json:"release_wired" yaml:"release_wired"`
}

// Power is the supply the unit will run from.
type Power struct {
	Source PowerSource `json:"source" yaml:"source"`
	// DistanceM is the cable run from the supply to the mount point, in
	// metres.
	DistanceM float64 `json:"distance_m" yaml:"distance_m"`
}

// Mount is where the unit will be fitted.
type Mount struct {
	Location string `json:"location" yaml:"location"`
	Indoor   bool   `json:"indoor" yaml:"indoor"`
}

// Signal is the cellular signal the paired unit measured at the mount point
// (its status answer, see internal/device.Status).
type Signal struct {
	// RSSIDBm is the received signal strength in dBm; nil when the unit's
	// modem found no network at all.
	RSSIDBm *int `json:"rssi_dbm,omitempty" yaml:"rssi_dbm,omitempty"`
	// RSRPDBm is the LTE reference signal received power in dBm, when the
	// unit reported it. It is recorded, not ruled on.
	RSRPDBm    *int      `json:"rsrp_dbm,omitempty" yaml:"rsrp_dbm,omitempty"`
	MeasuredAt time.Time `json:"measured_at" yaml:"measured_at"`
	// Unit is the serial number of the unit that measured.
	Unit string `json:"unit" yaml:"unit"`
}

// Photo is one photo of the site, copied into the job's photo directory
// under its content hash (see AddPhoto).
type Photo struct {
	// File is the file's name in the photo directory: <sha256>.<ext>.
	File    string `json:"file" yaml:"file"`
	SHA256  string `json:"sha256" yaml:"sha256"`
	Caption string `json:"caption" yaml:"caption"`
}

// DoorType is how a door moves.
type DoorType string

// The door types.
const (
	DoorSwing     DoorType = "swing"
	DoorSliding   DoorType = "sliding"
	DoorRevolving DoorType = "revolving"
	DoorGate      DoorType = "gate"
)

// DoorTypes lists every door type, in the order docs/survey.md gives them.
func DoorTypes() []DoorType {
	return []DoorType{DoorSwing, DoorSliding, DoorRevolving, DoorGate}
}

// Hardware is the electric lock on a door.
type Hardware string

// The lock hardware. A fail-secure strike stays locked without power, a
// fail-safe strike and a maglock open without power, a motor lock is driven
// by its own controller.
const (
	HardwareStrikeFailSecure Hardware = "strike-fail-secure"
	HardwareStrikeFailSafe   Hardware = "strike-fail-safe"
	HardwareMaglock          Hardware = "maglock"
	HardwareMotorLock        Hardware = "motor-lock"
	HardwareNone             Hardware = "none"
)

// Hardwares lists every kind of lock hardware.
func Hardwares() []Hardware {
	return []Hardware{HardwareStrikeFailSecure, HardwareStrikeFailSafe, HardwareMaglock, HardwareMotorLock, HardwareNone}
}

// failSafe reports whether h opens when its power is cut.
func (h Hardware) failSafe() bool { return h == HardwareStrikeFailSafe || h == HardwareMaglock }

// Voltage is a lock's release voltage.
type Voltage string

// The release voltages.
const (
	Voltage12VDC Voltage = "12VDC"
	Voltage24VDC Voltage = "24VDC"
	Voltage12VAC Voltage = "12VAC"
	Voltage24VAC Voltage = "24VAC"
	VoltageOther Voltage = "other"
)

// Voltages lists every release voltage.
func Voltages() []Voltage {
	return []Voltage{Voltage12VDC, Voltage24VDC, Voltage12VAC, Voltage24VAC, VoltageOther}
}

// LockWiring is the cable run to a lock: two conductors (lock power only),
// four (power and a door or lock-state contact), something else, or none.
type LockWiring string

// The lock wiring.
const (
	LockWiring2Wire LockWiring = "2-wire"
	LockWiring4Wire LockWiring = "4-wire"
	LockWiringOther LockWiring = "other"
	LockWiringNone  LockWiring = "none"
)

// LockWirings lists every kind of lock wiring.
func LockWirings() []LockWiring {
	return []LockWiring{LockWiring2Wire, LockWiring4Wire, LockWiringOther, LockWiringNone}
}

// IntercomWiring is how an intercom system is wired: a two-wire bus, an
// analogue multi-wire (4+n) system, IP, wireless (GSM), or no intercom.
type IntercomWiring string

// The intercom wiring.
const (
	IntercomWiring2Wire     IntercomWiring = "2-wire"
	IntercomWiringMultiWire IntercomWiring = "multi-wire"
	IntercomWiringIP        IntercomWiring = "ip"
	IntercomWiringWireless  IntercomWiring = "wireless"
	IntercomWiringNone      IntercomWiring = "none"
)

// IntercomWirings lists every kind of intercom wiring.
func IntercomWirings() []IntercomWiring {
	return []IntercomWiring{IntercomWiring2Wire, IntercomWiringMultiWire, IntercomWiringIP, IntercomWiringWireless, IntercomWiringNone}
}

// PowerSource is where the unit's supply comes from.
type PowerSource string

// The power sources: a mains adapter, power over Ethernet, a battery, the
// intercom's own supply, or nothing in reach.
const (
	PowerMains    PowerSource = "mains"
	PowerPoE      PowerSource = "poe"
	PowerBattery  PowerSource = "battery"
	PowerIntercom PowerSource = "intercom"
	PowerNone     PowerSource = "none"
)

// PowerSources lists every power source.
func PowerSources() []PowerSource {
	return []PowerSource{PowerMains, PowerPoE, PowerBattery, PowerIntercom, PowerNone}
}

// Clone returns a deep copy of s.
func (s Survey) Clone() Survey {
	c := s
	c.Entrances = slices.Clone(s.Entrances)
	c.Photos = slices.Clone(s.Photos)
	c.Hazards = slices.Clone(s.Hazards)
	if s.Signal != nil {
		c.Signal = s.Signal.clone()
	}
	return c
}

func (g *Signal) clone() *Signal {
	c := *g
	if g.RSSIDBm != nil {
		v := *g.RSSIDBm
		c.RSSIDBm = &v
	}
	if g.RSRPDBm != nil {
		v := *g.RSRPDBm
		c.RSRPDBm = &v
	}
	return &c
}

// normalize returns s in the one form that is hashed and written: empty
// lists rather than nil, times in UTC.
func normalize(s Survey) Survey {
	s = s.Clone()
	if s.Entrances == nil {
		s.Entrances = []Entrance{}
	}
	if s.Photos == nil {
		s.Photos = []Photo{}
	}
	if s.Hazards == nil {
		s.Hazards = []string{}
	}
	if !s.UpdatedAt.IsZero() {
		s.UpdatedAt = s.UpdatedAt.UTC()
	}
	if s.Signal != nil && !s.Signal.MeasuredAt.IsZero() {
		s.Signal.MeasuredAt = s.Signal.MeasuredAt.UTC()
	}
	return s
}

// WithSignal returns a copy of s with the signal the paired unit measured at
// the mount point. Pairing calls it; run Evaluate again on the result, as a
// pending-signal verdict now has what it waited for.
func WithSignal(s Survey, g Signal) Survey {
	c := s.Clone()
	c.Signal = g.clone()
	return c
}

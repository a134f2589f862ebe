// Package diag is what support reads from a unit: a report of who it is, what
// firmware it runs, its live state and its counters; its event log; its
// self-tests; and a support bundle with secrets redacted. It works on any SMP
// device through [Unit] and says so when the device is not a latchkey unit.
// It knows nothing of terminals or flags: the command line and the screens
// format what it returns.
package diag

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/latchkey/latchkey/internal/device"
	"github.com/latchkey/latchkey/internal/smp"
)

// Unit is what diag needs of a unit; *device.Unit has it. Each method is one
// request (or, for AllEvents, a run of paged ones) with the unit's timeout.
type Unit interface {
	Detect(ctx context.Context) (device.Detection, error)
	Params(ctx context.Context) (smp.Params, error)
	OSInfo(ctx context.Context, format string) (string, error)
	ImageState(ctx context.Context) ([]device.ImageSlot, error)
	Status(ctx context.Context) (device.Status, error)
	StatsList(ctx context.Context) ([]string, error)
	StatsRead(ctx context.Context, name string) (device.StatsGroup, error)
	SettingsRead(ctx context.Context, name string) ([]byte, error)
	AllEvents(ctx context.Context, since uint64, limit int) ([]device.Event, uint64, error)
	SelfTests(ctx context.Context) ([]device.SelfTest, error)
	RunSelfTest(ctx context.Context, name string, relay bool) ([]device.SelfTestResult, error)
	DoorConfig(ctx context.Context) (device.DoorConfig, error)
}

var _ Unit = (*device.Unit)(nil)

// NotLatchkeyNote is the line diag status prints for an SMP device that does
// not implement latchkey's group 64.
const NotLatchkeyNote = "not a latchkey unit"

// Report is what `diag status` shows. Its JSON form is stable for scripts:
// fields are added, never renamed or removed.
type Report struct {
	// Latchkey is true for a unit that answers latchkey's group 64.
	Latchkey bool `json:"latchkey"`
	// Note says why the device is not taken for a latchkey unit, or that
	// latchkey should be updated to read it fully.
	Note     string     `json:"note,omitempty"`
	Identity *Identity  `json:"identity,omitempty"`
	Firmware Firmware   `json:"firmware"`
	Status   *Status    `json:"status,omitempty"`
	Counters []Counters `json:"counters"`
	// Problems lists the parts that could not be read, each as
	// "part: error". Parts a device does not implement are not problems.
	Problems []string `json:"problems,omitempty"`
}

// Identity is who a latchkey unit says it is (not yet proven: attestation
// proves it). The keys are public keys, in hex.
type Identity struct {
	Serial   string `json:"serial"`
	Model    string `json:"model"`
	Hardware string `json:"hardware"`
	Firmware string `json:"firmware"`
	Label    string `json:"label"`
	State    string `json:"state"`
	Slots    uint8  `json:"slots"`
	Proto    uint16 `json:"proto"`
	SignKey  string `json:"sign_key"`
	KexKey   string `json:"kex_key"`
}

// Firmware is what the standard groups say about the software on the device.
type Firmware struct {
	OSInfo   string  `json:"os_info,omitempty"`
	BufSize  uint32  `json:"buf_size,omitempty"`
	BufCount uint32  `json:"buf_count,omitempty"`
	Images   []Image `json:"images"`
}

// Image is one image slot as MCUboot reports it.
type Image struct {
	Image     uint32 `json:"image"`
	Slot      uint32 `json:"slot"`
	Version   string `json:"version"`
	Hash      string `json:"hash,omitempty"`
	Bootable  bool   `json:"bootable"`
	Pending   bool   `json:"pending"`
	Confirmed bool   `json:"confirmed"`
	Active    bool   `json:"active"`
	Permanent bool   `json:"permanent"`
}

// Flags renders an image's state as the letters mcumgr uses: active,
// confirmed, pending, permanent, bootable.
func (im Image) Flags() string {
	s := ""
	for _, f := range []struct {
		on bool
		c  string
	}{{im.Active, "active"}, {im.Confirmed, "confirmed"}, {im.Pending, "pending"}, {im.Permanent, "permanent"}, {im.Bootable, "bootable"}} {
		if f.on {
			if s != "" {
				s += ","
			}
			s += f.c
		}
	}
	return s
}

// Status is a latchkey unit's live state.
type Status struct {
	Relay    string `json:"relay"`
	Tamper   bool   `json:"tamper"`
	SupplyMV uint32 `json:"supply_mv"`
	Modem    string `json:"modem"`
	RSSI     *int   `json:"rssi_dbm,omitempty"`
	RSRP     *int   `json:"rsrp_dbm,omitempty"`
	UptimeS  uint64 `json:"uptime_s"`
	// Clock is the unit's clock in RFC 3339 UTC, "" if it was never set.
	Clock string   `json:"clock,omitempty"`
	Slots []string `json:"slots"`
}

// Counters is one statistics group.
type Counters struct {
	Group  string            `json:"group"`
	Fields map[string]uint64 `json:"fields"`
}

// Gather reads a report from u. It fails only when the device cannot be
// told apart (no answer, an identity that does not decode); every later part
// that fails is listed in Report.Problems and the rest is still read, since
// a partial report is what support needs from a failing unit.
func Gather(ctx context.Context, u Unit) (Report, error) {
	det, err := u.Detect(ctx)
	if err != nil {
		return Report{}, err
	}
	r := Report{Latchkey: det.Latchkey, Note: det.Reason, Counters: []Counters{}}
	if !det.Latchkey {
		r.Note = NotLatchkeyNote + ": " + det.Reason
	} else {
		id := identityOf(det.Identity)
		r.Identity = &id
	}
	problem := func(part string, err error) {
		if err != nil && !unsupported(err) {
			r.Problems = append(r.Problems, fmt.Sprintf("%s: %v", part, err))
		}
	}
	if p, err := u.Params(ctx); err == nil {
		r.Firmware.BufSize, r.Firmware.BufCount = p.BufSize, p.BufCount
	} else {
		problem("parameters", err)
	}
	if info, err := u.OSInfo(ctx, "a"); err == nil {
		r.Firmware.OSInfo = info
	} else {
		problem("os info", err)
	}
	r.Firmware.Images, err = images(ctx, u)
	problem("image state", err)
	if r.Latchkey {
		if s, err := u.Status(ctx); err == nil {
			st := statusOf(s)
			r.Status = &st
		} else {
			problem("status", err)
		}
	}
	r.Counters, err = counters(ctx, u)
	problem("statistics", err)
	return r, nil
}

// unsupported reports whether err says the device does not implement a
// command, which for an optional part is an answer, not a failure.
func unsupported(err error) bool {
	return errors.Is(err, smp.MgmtNotSup) || errors.Is(err, device.ErrNotLatchkey)
}

func images(ctx context.Context, u Unit) ([]Image, error) {
	slots, err := u.ImageState(ctx)
	out := make([]Image, 0, len(slots))
	for _, s := range slots {
		out = append(out, Image{Image: s.Image, Slot: s.Slot, Version: s.Version, Hash: hex.EncodeToString(s.Hash),
			Bootable: s.Bootable, Pending: s.Pending, Confirmed: s.Confirmed, Active: s.Active, Permanent: s.Permanent})
	}
	return out, err
}

// counters reads every statistics group, in name order. A group that fails
// is left out and the error returned with the others.
func counters(ctx context.Context, u Unit) ([]Counters, error) {
	names, err := u.StatsList(ctx)
	if err != nil {
		return []Counters{}, err
	}
	slices.Sort(names)
	out := make([]Counters, 0, len(names))
	var errs []error
	for _, n := range names {
		g, err := u.StatsRead(ctx, n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if g.Fields == nil {
			g.Fields = map[string]uint64{}
		}
		out = append(out, Counters{Group: n, Fields: g.Fields})
	}
	return out, errors.Join(errs...)
}

func identityOf(id device.Identity) Identity {
	return Identity{Serial: id.Serial, Model: id.Model, Hardware: id.Hardware, Firmware: id.Firmware, Label: id.Label,
		State: id.State, Slots: id.Slots, Proto: id.Proto, SignKey: hex.EncodeToString(id.SignKey), KexKey: hex.EncodeToString(id.KexKey)}
}

func statusOf(s device.Status) Status {
	out := Status{Relay: s.Relay, Tamper: s.Tamper, SupplyMV: s.SupplyMV, Modem: s.Modem, UptimeS: s.Uptime, Slots: s.Slots}
	if s.RSSI != nil {
		v := int(*s.RSSI)
		out.RSSI = &v
	}
	if s.RSRP != nil {
		v := int(*s.RSRP)
		out.RSRP = &v
	}
	if s.Time != 0 {
		out.Clock = unixUTC(s.Time)
	}
	if out.Slots == nil {
		out.Slots = []string{}
	}
	return out
}

func unixUTC(sec uint64) string {
	if sec > 1<<40 { // far beyond any real clock; keep time.Unix in range
		return fmt.Sprintf("@%d", sec)
	}
	return time.Unix(int64(sec), 0).UTC().Format(time.RFC3339)
}

// Uptime renders seconds as "3d 4h 5m", "4h 5m 6s" or "6s".
func Uptime(sec uint64) string {
	d, h, m, s := sec/86400, sec/3600%24, sec/60%60, sec%60
	switch {
	case d > 0:
		return fmt.Sprintf("%dd %dh %dm", d, h, m)
	case h > 0:
		return fmt.Sprintf("%dh %dm %ds", h, m, s)
	case m > 0:
		return fmt.Sprintf("%dm %ds", m, s)
	}
	return fmt.Sprintf("%ds", s)
}

// Signal rates a cellular signal for a person: LTE RSRP when the unit
// reports it (3GPP bands as carriers use them: -80 and above excellent,
// -90 good, -100 fair, below poor), else RSSI (-70, -85, -100). "" when the
// modem has no cell.
func Signal(s Status) string {
	switch {
	case s.RSRP != nil:
		return rate(*s.RSRP, -80, -90, -100)
	case s.RSSI != nil:
		return rate(*s.RSSI, -70, -85, -100)
	}
	return ""
}

func rate(v, excellent, good, fair int) string {
	switch {
	case v >= excellent:
		return "excellent"
	case v >= good:
		return "good"
	case v >= fair:
		return "fair"
	}
	return "poor"
}

// Supply renders millivolts as volts, "12.04 V".
func Supply(mv uint32) string { return fmt.Sprintf("%d.%02d V", mv/1000, mv%1000/10) }

// SupplyOK reports whether the supply is within the 10-28 V the unit's
// supply self-test accepts (docs/protocol.md "Self-tests").
func SupplyOK(mv uint32) bool { return mv >= 10000 && mv <= 28000 }

package sim

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/latchkey/latchkey/internal/fsutil"
)

// Files in a state directory. unit.json is replaced atomically (temp file,
// fsync, rename); slot images are immutable files named by their hash, so
// a swap only rewrites unit.json; upload.bin is the secondary slot being
// written, and unit.json never claims more of it than was synced.
const (
	stateFile   = "unit.json"
	uploadFile  = "upload.bin"
	slotPrefix  = "slot-"
	stateFormat = 1

	// DefaultSlotSize is the size of each image slot: room for the 256 KiB
	// images of the upload benchmark and more.
	DefaultSlotSize = 1 << 20
	maxEvents       = 512
	maxSettingName  = 64
	maxSettingValue = 256
)

// ErrCorrupt marks a state directory the unit cannot trust.
var ErrCorrupt = errors.New("sim: corrupt state")

// Identity holds the unit's factory identity. The values are placeholders
// derived from the seed until the provisioning design gives them meaning.
type Identity struct {
	Serial string `json:"serial"`
	Model  string `json:"model"`
	HWRev  string `json:"hw_rev"`
}

// Slot is one MCUboot image slot's metadata. Slot 0 is the primary (the
// running image), slot 1 the secondary (where uploads go).
type Slot struct {
	// File names the image in the state directory, "" for an empty slot.
	File    string `json:"file,omitempty"`
	Hash    []byte `json:"hash,omitempty"`
	Version string `json:"version,omitempty"`
	Size    int    `json:"size,omitempty"`
	// Confirmed is MCUboot's image_ok: on the primary, the running image
	// stays; on the secondary, the image that a revert would bring back.
	Confirmed bool `json:"confirmed,omitempty"`
	// Pending (secondary only) swaps the image in on the next boot;
	// Permanent makes that swap final rather than a test.
	Pending   bool `json:"pending,omitempty"`
	Permanent bool `json:"permanent,omitempty"`
}

func (s Slot) empty() bool { return s.File == "" }

// Upload is the image upload in progress into the secondary slot.
type Upload struct {
	Active bool   `json:"active,omitempty"`
	Size   int    `json:"size,omitempty"`
	Off    int    `json:"off,omitempty"`
	SHA    []byte `json:"sha,omitempty"`
}

// Event is one entry of the unit's event log.
type Event struct {
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
	// Up is the uptime in seconds when the event happened (group 64
	// reports it, docs/protocol.md 4.6); 0 in logs written before it was kept.
	Up     uint64 `json:"up,omitempty"`
	Kind   string `json:"kind"`
	Detail string `json:"detail,omitempty"`
}

// State is the unit's persistent memory, what --state keeps across
// restarts.
type State struct {
	Format      int               `json:"format"`
	Identity    Identity          `json:"identity"`
	Slots       [2]Slot           `json:"slots"`
	Upload      Upload            `json:"upload"`
	Settings    map[string][]byte `json:"settings"`
	Events      []Event           `json:"events"`
	NextEvent   uint64            `json:"next_event"`
	Boots       uint64            `json:"boots"`
	ClockOffset time.Duration     `json:"clock_offset"`
	// Ext holds the persistent data of extensions (the custom group), one
	// entry per extension, opaque to this package.
	Ext map[string]json.RawMessage `json:"ext,omitempty"`
}

// Config configures [Open].
type Config struct {
	// Dir keeps the state across restarts; "" keeps it in memory.
	Dir string
	// Seed derives the identity and factory image on first start.
	Seed uint64
	// SlotSize is each image slot's size; zero means DefaultSlotSize.
	SlotSize int
	// Now is the host clock; nil means time.Now.
	Now func() time.Time
}

// Unit is a virtual unit's memory and its SMP command handlers. It is safe
// for concurrent use.
type Unit struct {
	dir      string
	slotSize int
	now      func() time.Time
	started  time.Time

	mu      sync.Mutex
	st      State
	images  [2][]byte
	partial []byte // the secondary slot's flash during an upload
	// stats are RAM, as Zephyr's statistics are: they restart at every
	// reset; the boot count comes from State.Boots.
	stats map[string]map[string]uint64

	// flashFault, if set, fails writes to the secondary slot (tests).
	flashFault func(off int) error

	resetRequested atomic.Bool
}

// Open powers the unit on: it loads the state from cfg.Dir, or creates a
// new unit from cfg.Seed if there is none, and boots it, which applies
// MCUboot's swap or revert as a real power cycle would.
func Open(cfg Config) (*Unit, error) {
	u := &Unit{dir: cfg.Dir, slotSize: cfg.SlotSize, now: cfg.Now}
	if u.slotSize <= 0 {
		u.slotSize = DefaultSlotSize
	}
	if u.now == nil {
		u.now = time.Now
	}
	u.started = u.now()
	u.resetStats()
	loaded := false
	if u.dir != "" {
		if err := os.MkdirAll(u.dir, 0o700); err != nil {
			return nil, fmt.Errorf("sim: state directory: %w", err)
		}
		var err error
		if loaded, err = u.load(); err != nil {
			return nil, err
		}
	}
	if !loaded {
		u.factory(cfg.Seed)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.boot()
	if err := u.saveLocked(); err != nil {
		return nil, err
	}
	return u, nil
}

// factory creates a new unit: identity from the seed and a confirmed
// version 1.0.0 image in the primary slot.
func (u *Unit) factory(seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x6c61746368)) // "latch"
	models := []string{"LK-100", "LK-110", "LK-200"}
	revs := []string{"A", "B", "C"}
	u.st = State{
		Format: stateFormat,
		Identity: Identity{
			Serial: fmt.Sprintf("LK%010d", rng.Uint64N(1e10)),
			Model:  models[rng.IntN(len(models))],
			HWRev:  revs[rng.IntN(len(revs))],
		},
		Settings: map[string][]byte{
			"door/pulse_ms":   []byte("500"),
			"door/courier":    []byte("off"),
			"modem/apn":       []byte("iot.example"),
			"log/level":       []byte("inf"),
			"mcumgr/smp_uart": []byte("on"),
		},
	}
	payload := make([]byte, 4096)
	for i := range payload {
		payload[i] = byte(rng.Uint32())
	}
	img := BuildImage(Version{Major: 1}, payload)
	info, _ := VerifyImage(img)
	u.images[0] = img
	u.st.Slots[0] = Slot{File: slotFile(info.Hash), Hash: info.Hash, Version: info.Version.String(), Size: len(img), Confirmed: true}
	u.logLocked("factory", "serial "+u.st.Identity.Serial)
}

func slotFile(hash []byte) string { return slotPrefix + hex.EncodeToString(hash) + ".bin" }

// load reads the state directory; false means there is none yet.
func (u *Unit) load() (bool, error) {
	path := filepath.Join(u.dir, stateFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sim: read state: %w", err)
	}
	corrupt := func(file, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s (move the state directory aside to start a new unit)", ErrCorrupt, file, fmt.Sprintf(format, args...))
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return false, corrupt(path, "%v", err)
	}
	if st.Format != stateFormat {
		return false, corrupt(path, "format %d, this build reads %d", st.Format, stateFormat)
	}
	if st.Upload.Active && (st.Upload.Size <= 0 || st.Upload.Size > u.slotSize || st.Upload.Off < 0 || st.Upload.Off > st.Upload.Size) {
		return false, corrupt(path, "upload of %d bytes at offset %d", st.Upload.Size, st.Upload.Off)
	}
	for i, s := range st.Slots {
		if s.empty() {
			continue
		}
		if s.File != slotFile(s.Hash) {
			return false, corrupt(path, "slot %d names file %q", i, s.File)
		}
		f := filepath.Join(u.dir, s.File)
		img, err := os.ReadFile(f)
		if err != nil {
			return false, corrupt(f, "%v", err)
		}
		info, err := VerifyImage(img)
		if err != nil || !bytes.Equal(info.Hash, s.Hash) {
			return false, corrupt(f, "image does not verify")
		}
		u.images[i] = img
	}
	if st.Upload.Active {
		f := filepath.Join(u.dir, uploadFile)
		b, err := os.ReadFile(f)
		if err != nil {
			return false, corrupt(f, "%v", err)
		}
		if len(b) < st.Upload.Off {
			return false, corrupt(f, "%d bytes, the upload reached %d", len(b), st.Upload.Off)
		}
		u.partial = make([]byte, st.Upload.Size)
		copy(u.partial, b[:st.Upload.Off])
	}
	if st.Settings == nil {
		st.Settings = map[string][]byte{}
	}
	u.st = st
	return true, nil
}

// saveLocked writes the state: slot images first (they are immutable and
// named by hash, so an existing one is kept), then unit.json atomically,
// then it removes slot files nothing refers to.
func (u *Unit) saveLocked() error {
	if u.dir == "" {
		return nil
	}
	for i, s := range u.st.Slots {
		if s.empty() {
			continue
		}
		path := filepath.Join(u.dir, s.File)
		if _, err := os.Stat(path); err == nil {
			continue
		}
		img := u.images[i]
		if err := fsutil.WriteFile(path, 0o600, func(w io.Writer) error { _, err := w.Write(img); return err }); err != nil {
			return fmt.Errorf("sim: save slot %d: %w", i, err)
		}
	}
	b, err := json.MarshalIndent(u.st, "", "  ")
	if err != nil {
		return fmt.Errorf("sim: save state: %w", err)
	}
	if err := fsutil.WriteFile(filepath.Join(u.dir, stateFile), 0o600, func(w io.Writer) error { _, err := w.Write(append(b, '\n')); return err }); err != nil {
		return fmt.Errorf("sim: save state: %w", err)
	}
	entries, _ := os.ReadDir(u.dir)
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, slotPrefix) && n != u.st.Slots[0].File && n != u.st.Slots[1].File {
			_ = os.Remove(filepath.Join(u.dir, n))
		}
	}
	if !u.st.Upload.Active {
		_ = os.Remove(filepath.Join(u.dir, uploadFile))
	}
	return nil
}

// writeFlash writes data at off of the secondary slot and makes it durable
// before the caller records the new offset.
func (u *Unit) writeFlash(off int, data []byte) error {
	if u.flashFault != nil {
		if err := u.flashFault(off); err != nil {
			return err
		}
	}
	if u.dir != "" {
		f, err := os.OpenFile(filepath.Join(u.dir, uploadFile), os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return err
		}
		if off == 0 {
			if err := f.Truncate(0); err != nil {
				_ = f.Close()
				return err
			}
		}
		_, err = f.WriteAt(data, int64(off))
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	copy(u.partial[off:], data)
	return nil
}

// boot runs what MCUboot does at power-on in swap mode with revert: a
// pending secondary image is swapped in (for a test, or permanently); a
// tested image that was not confirmed is swapped back out.
func (u *Unit) boot() {
	s := &u.st
	switch {
	case s.Slots[1].Pending && !s.Slots[1].empty():
		permanent := s.Slots[1].Permanent
		u.swapLocked()
		s.Slots[0].Pending, s.Slots[0].Permanent = false, false
		s.Slots[0].Confirmed = permanent
		// The old image is what a revert brings back.
		s.Slots[1].Confirmed = !permanent
		if permanent {
			u.logLocked("swap", "permanent "+s.Slots[0].Version)
		} else {
			u.logLocked("swap", "test "+s.Slots[0].Version)
		}
	case !s.Slots[0].Confirmed && !s.Slots[1].empty():
		u.swapLocked()
		s.Slots[0].Confirmed, s.Slots[1].Confirmed = true, false
		u.count("boot", "reverts")
		u.logLocked("revert", "back to "+s.Slots[0].Version)
	}
	s.Slots[1].Pending, s.Slots[1].Permanent = false, false
	s.Boots++
	u.logLocked("boot", fmt.Sprintf("boot %d, running %s", s.Boots, s.Slots[0].Version))
}

func (u *Unit) swapLocked() {
	s := &u.st
	s.Slots[0], s.Slots[1] = s.Slots[1], s.Slots[0]
	u.images[0], u.images[1] = u.images[1], u.images[0]
	// The secondary slot was just rewritten: an upload into it is gone.
	s.Upload = Upload{}
	u.partial = nil
}

// Reset reboots the unit as the OS reset command or a watchdog would: RAM
// (counters) is lost, persistent memory kept, and MCUboot runs.
func (u *Unit) Reset() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.resetStats()
	u.started = u.now()
	u.boot()
	return u.saveLocked()
}

func (u *Unit) logLocked(kind, detail string) {
	u.st.NextEvent++
	u.st.Events = append(u.st.Events, Event{Seq: u.st.NextEvent, Time: u.clockLocked().UTC(), Up: uint64(u.now().Sub(u.started) / time.Second), Kind: kind, Detail: detail})
	if n := len(u.st.Events) - maxEvents; n > 0 {
		u.st.Events = append([]Event(nil), u.st.Events[n:]...)
	}
}

func (u *Unit) uptime() time.Duration {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.now().Sub(u.started)
}

func (u *Unit) clockLocked() time.Time { return u.now().Add(u.st.ClockOffset) }

// Identity returns the unit's identity.
func (u *Unit) Identity() Identity {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.st.Identity
}

// Events returns the log entries after sequence number since.
func (u *Unit) Events(since uint64) []Event {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []Event
	for _, e := range u.st.Events {
		if e.Seq > since {
			out = append(out, e)
		}
	}
	return out
}

// View calls fn with a copy of the state; fn must not keep references into
// its maps and slices.
func (u *Unit) View(fn func(State)) {
	u.mu.Lock()
	defer u.mu.Unlock()
	fn(u.st)
}

// Update changes the persistent state through fn and saves it; if fn or
// the save fails, the state is left as it was. Extensions use it for their
// own data (State.Ext) and events.
func (u *Unit) Update(fn func(*State) error) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	before, err := json.Marshal(u.st)
	if err != nil {
		return err
	}
	restore := func() {
		var st State
		if json.Unmarshal(before, &st) == nil {
			u.st = st
		}
	}
	if err := fn(&u.st); err != nil {
		restore()
		return err
	}
	if err := u.saveLocked(); err != nil {
		restore()
		return err
	}
	return nil
}

// LogEvent appends an entry to the event log and saves it.
func (u *Unit) LogEvent(kind, detail string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.logLocked(kind, detail)
	return u.saveLocked()
}

func (u *Unit) resetStats() {
	u.stats = map[string]map[string]uint64{
		"smp":  {"rx": 0, "tx": 0, "rx_err": 0},
		"img":  {"chunks": 0, "bytes": 0, "verify_fail": 0},
		"boot": {"boots": 0, "reverts": 0},
		"door": {"relay_pulses": 0, "tamper": 0},
	}
}

// count adds one to a statistics counter; the caller holds u.mu.
func (u *Unit) count(group, name string) { u.add(group, name, 1) }

func (u *Unit) add(group, name string, n uint64) {
	if g := u.stats[group]; g != nil {
		g[name] += n
	}
}

// Count adds n to a statistics counter, creating its group if needed.
func (u *Unit) Count(group, name string, n uint64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.stats[group] == nil {
		u.stats[group] = map[string]uint64{}
	}
	u.stats[group][name] += n
}

// sha256Sum is a helper so callers read as what they check.
func sha256Sum(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

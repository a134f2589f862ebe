package diag

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/device"
	"github.com/latchkey/latchkey/internal/smp"
)

// BundleFormat is the version of the bundle layout in Manifest.Format.
const BundleFormat = 1

// DefaultSettingNames are the settings a bundle reads. SMP's settings group
// has no command that lists names [group 3], so a bundle asks for the names
// latchkey firmware documents, under lk/ (docs/protocol.md "Settings"),
// and the same names without the prefix, where earlier firmware and the
// virtual unit keep them. Names that may hold a secret are asked for too, on
// purpose: a unit must answer them ENOENT, and one that does not is caught
// and its value redacted rather than left unseen.
var DefaultSettingNames = func() []string {
	base := []string{
		"door/pulse_ms", "door/courier", "log/level", "mcumgr/smp_uart",
		"modem/apn", "modem/apn_user", "modem/apn_password", "modem/sim_pin",
		"cloud/url", "cloud/token",
	}
	out := make([]string, 0, 2*len(base))
	for _, n := range base {
		out = append(out, "lk/"+n)
	}
	return append(out, base...)
}()

// BundleOptions are what a bundle is made with.
type BundleOptions struct {
	// Now is when the bundle is made.
	Now time.Time
	// Version is latchkey's version, recorded in the manifest.
	Version string
	// Port is the port the unit was read on, recorded in the manifest.
	Port string
	// LogDir holds latchkey's local logs; "" or a missing directory adds
	// none.
	LogDir string
	// LogMaxAge leaves out log files last written longer ago; default 7
	// days.
	LogMaxAge time.Duration
	// LogMaxBytes keeps only the end of a longer log file; default 1 MiB.
	LogMaxBytes int64
	// Settings are setting names to read besides DefaultSettingNames.
	Settings []string
}

// Manifest is manifest.json, the first file of a bundle: what is in it and
// what was removed.
type Manifest struct {
	Format   int    `json:"format"`
	Created  string `json:"created"`
	Latchkey string `json:"latchkey_version"`
	Port     string `json:"port,omitempty"`
	// Unit is the unit's serial number, or NotLatchkeyNote.
	Unit  string         `json:"unit"`
	Files []ManifestFile `json:"files"`
	// Redactions lists what the rules in this package removed, per file.
	Redactions []Redaction `json:"redactions"`
	// Notes say what is absent and why (a device without latchkey's
	// commands has no event log, no logs were found).
	Notes []string `json:"notes,omitempty"`
	// Problems are the parts that could not be read.
	Problems []string `json:"problems,omitempty"`
}

// ManifestFile is one file of a bundle.
type ManifestFile struct {
	Name   string `json:"name"`
	Bytes  int    `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// Redaction counts the values removed from one file.
type Redaction struct {
	File  string `json:"file"`
	Count int    `json:"count"`
	// What says which values, e.g. the setting names.
	What string `json:"what"`
}

// Bundle is a finished support bundle.
type Bundle struct {
	// Data is the tar.gz.
	Data []byte
	// SHA256 is the hash of Data in hex; ID is its first 8 digits, short
	// enough to read out on the phone and quote in a ticket.
	SHA256, ID string
	Manifest   Manifest
}

type bundleFile struct {
	name string
	data []byte
}

// MakeBundle reads everything a support engineer needs from u and the local
// logs into a tar.gz, secrets redacted by the rules in redact.go. It fails
// only when the device cannot be read at all; a part that fails is listed
// in the manifest's problems.
func MakeBundle(ctx context.Context, u Unit, opts BundleOptions) (Bundle, error) {
	if opts.LogMaxAge <= 0 {
		opts.LogMaxAge = 7 * 24 * time.Hour
	}
	if opts.LogMaxBytes <= 0 {
		opts.LogMaxBytes = 1 << 20
	}
	rep, err := Gather(ctx, u)
	if err != nil {
		return Bundle{}, err
	}
	m := Manifest{Format: BundleFormat, Created: opts.Now.UTC().Format(time.RFC3339), Latchkey: opts.Version, Port: opts.Port,
		Unit: NotLatchkeyNote, Files: []ManifestFile{}, Redactions: []Redaction{}, Problems: rep.Problems}
	if rep.Identity != nil {
		m.Unit = rep.Identity.Serial
	}
	var files []bundleFile
	add := func(name string, v any) error {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return fmt.Errorf("bundle %s: %w", name, err)
		}
		files = append(files, bundleFile{name, append(b, '\n')})
		return nil
	}
	problem := func(part string, err error) {
		m.Problems = append(m.Problems, fmt.Sprintf("%s: %v", part, err))
	}

	if err := add("status.json", rep); err != nil {
		return Bundle{}, err
	}
	if err := add("images.json", rep.Firmware.Images); err != nil {
		return Bundle{}, err
	}
	if err := add("stats.json", rep.Counters); err != nil {
		return Bundle{}, err
	}

	if rep.Latchkey {
		page, err := ReadEvents(ctx, u, 0)
		if err != nil {
			problem("events", err)
		}
		n := 0
		for i := range page.Events {
			var c int
			page.Events[i].Msg, c = RedactText(page.Events[i].Msg)
			n += c
		}
		if n > 0 {
			m.Redactions = append(m.Redactions, Redaction{File: "events.json", Count: n, What: "secret-looking text in event messages"})
		}
		if err := add("events.json", page); err != nil {
			return Bundle{}, err
		}
		if door, err := u.DoorConfig(ctx); err == nil {
			if err := add("door.json", doorOf(door)); err != nil {
				return Bundle{}, err
			}
		} else {
			problem("door configuration", err)
		}
	} else {
		m.Notes = append(m.Notes, "events, door configuration: the device does not answer latchkey's commands, so it has no latchkey event log")
	}

	settings, red, err := readSettings(ctx, u, opts.Settings)
	switch {
	case unsupported(err):
		m.Notes = append(m.Notes, "settings: the device does not implement the settings group")
	case err != nil:
		problem("settings", err)
	}
	if len(red) > 0 {
		m.Redactions = append(m.Redactions, Redaction{File: "settings.json", Count: len(red), What: strings.Join(red, ", ")})
	}
	if err := add("settings.json", settings); err != nil {
		return Bundle{}, err
	}

	logs, reds, err := readLogs(opts)
	if err != nil {
		problem("local logs", err)
	}
	if len(logs) == 0 {
		m.Notes = append(m.Notes, "logs: no local latchkey logs from the last "+fmt.Sprint(opts.LogMaxAge))
	}
	files = append(files, logs...)
	m.Redactions = append(m.Redactions, reds...)

	for _, f := range files {
		sum := sha256.Sum256(f.data)
		m.Files = append(m.Files, ManifestFile{Name: f.name, Bytes: len(f.data), SHA256: hex.EncodeToString(sum[:])})
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Bundle{}, fmt.Errorf("bundle manifest: %w", err)
	}
	files = append([]bundleFile{{"manifest.json", append(mb, '\n')}}, files...)
	data, err := pack(BundleDir(opts.Now), opts.Now, files)
	if err != nil {
		return Bundle{}, err
	}
	sum := sha256.Sum256(data)
	h := hex.EncodeToString(sum[:])
	return Bundle{Data: data, SHA256: h, ID: h[:8], Manifest: m}, nil
}

// BundleDir is the directory every file of a bundle made at t sits in.
func BundleDir(t time.Time) string {
	return "latchkey-diag-" + t.UTC().Format("20060102T150405Z")
}

// readSettings reads the default and extra setting names, dropping those
// the unit does not have, and returns them redacted with the names whose
// values were removed.
func readSettings(ctx context.Context, u Unit, extra []string) ([]Setting, []string, error) {
	names := slices.Clone(DefaultSettingNames)
	for _, n := range extra {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	out := []Setting{}
	var redacted []string
	var errs []error
	for _, n := range names {
		val, err := u.SettingsRead(ctx, n)
		switch {
		case errors.Is(err, smp.MgmtNoEnt):
			continue
		case errors.Is(err, smp.MgmtNotSup):
			return out, redacted, err
		case err != nil:
			errs = append(errs, err)
			continue
		}
		s := RedactSetting(n, val)
		if s.Why != "" {
			redacted = append(redacted, n)
		}
		out = append(out, s)
	}
	return out, redacted, errors.Join(errs...)
}

// readLogs returns the local log files written within LogMaxAge, newest
// first up to 20, the end of each up to LogMaxBytes, every line redacted.
func readLogs(opts BundleOptions) ([]bundleFile, []Redaction, error) {
	if opts.LogDir == "" {
		return nil, nil, nil
	}
	type logFile struct {
		path, rel string
		mod       time.Time
	}
	var found []logFile
	err := filepath.WalkDir(opts.LogDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if opts.Now.Sub(info.ModTime()) > opts.LogMaxAge {
			return nil
		}
		rel, _ := filepath.Rel(opts.LogDir, path)
		found = append(found, logFile{path, filepath.ToSlash(rel), info.ModTime()})
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read log directory: %w", err)
	}
	slices.SortFunc(found, func(a, b logFile) int { return b.mod.Compare(a.mod) })
	if len(found) > 20 {
		found = found[:20]
	}
	var files []bundleFile
	var reds []Redaction
	var errs []error
	for _, lf := range found {
		b, err := tail(lf.path, opts.LogMaxBytes)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		text, n := RedactText(string(b))
		name := "logs/" + lf.rel
		files = append(files, bundleFile{name, []byte(text)})
		if n > 0 {
			reds = append(reds, Redaction{File: name, Count: n, What: "secret-looking values in log lines"})
		}
	}
	return files, reds, errors.Join(errs...)
}

// tail reads at most max bytes from the end of the file at path, starting
// after a line break when it had to cut.
func tail(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := st.Size() - max
	if off <= 0 {
		return io.ReadAll(io.LimitReader(f, max))
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, max))
	if err != nil {
		return nil, err
	}
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[i+1:]
	}
	return b, nil
}

// pack writes files as a tar.gz under dir, each 0600 and dated t.
func pack(dir string, t time.Time, files []bundleFile) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.ModTime = t.UTC()
	tw := tar.NewWriter(zw)
	for _, f := range files {
		h := &tar.Header{Name: dir + "/" + f.name, Mode: 0o600, Size: int64(len(f.data)), ModTime: t.UTC(), Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("bundle %s: %w", f.name, err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, fmt.Errorf("bundle %s: %w", f.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	return buf.Bytes(), nil
}

// ReadBundle lists the files of a bundle made by MakeBundle and their
// contents, for tests and for checking a bundle before sending it.
func ReadBundle(data []byte) (map[string][]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("read bundle: %w", err)
	}
	tr := tar.NewReader(zr)
	out := map[string][]byte{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read bundle: %w", err)
		}
		b, err := io.ReadAll(io.LimitReader(tr, 64<<20))
		if err != nil {
			return nil, fmt.Errorf("read bundle %s: %w", h.Name, err)
		}
		_, name, _ := strings.Cut(h.Name, "/")
		out[name] = b
	}
}

// Door is door.json: the unit's door configuration in a stable JSON form.
type Door struct {
	Courier bool         `json:"courier"`
	Hours   []DoorWindow `json:"hours"`
	PulseMS uint16       `json:"pulse_ms"`
	Mode    string       `json:"mode"`
	TZ      string       `json:"tz"`
}

// DoorWindow is one access window: days is a bit set, bit 0 Monday; from
// and to are minutes after local midnight.
type DoorWindow struct {
	Days uint8  `json:"days"`
	From uint16 `json:"from"`
	To   uint16 `json:"to"`
}

func doorOf(c device.DoorConfig) Door {
	d := Door{Courier: c.Courier, Hours: []DoorWindow{}, PulseMS: c.PulseMS, Mode: c.Mode, TZ: c.TZ}
	for _, w := range c.Hours {
		d.Hours = append(d.Hours, DoorWindow{Days: w.Days, From: w.From, To: w.To})
	}
	return d
}

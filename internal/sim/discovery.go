package sim

import (
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/latchkey/latchkey/internal/fsutil"
)

// Running describes a running sim. It is what `latchkey sim --json` prints
// on start and what the discovery file holds.
//
// The discovery file is <cache dir>/sims/<pid>.json (cache dir as in
// 'latchkey config path'), one per running sim, written atomically when the
// port appears or reappears and removed when the sim exits. 'latchkey ports'
// lists the files whose pid is alive and whose link exists; a file left by a
// killed sim has a dead pid and is removed when it is next listed.
type Running struct {
	Link    string    `json:"link"`
	PTY     string    `json:"pty"`
	PID     int       `json:"pid"`
	Serial  string    `json:"serial"`
	State   string    `json:"state,omitempty"`
	Started time.Time `json:"started"`
}

// DiscoveryFile is where the sim with process id pid announces itself.
func DiscoveryFile(cacheDir string, pid int) string {
	return filepath.Join(cacheDir, "sims", strconv.Itoa(pid)+".json")
}

// Announce writes r to its discovery file.
func Announce(file string, r Running) error {
	return fsutil.WriteFile(file, 0o600, func(w io.Writer) error {
		return json.NewEncoder(w).Encode(r)
	})
}

// ListRunning returns the sims announced under cacheDir whose process is
// alive and whose link exists, by link path. Files of dead sims are removed;
// files that do not parse are skipped.
func ListRunning(cacheDir string) ([]Running, error) {
	dir := filepath.Join(cacheDir, "sims")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Running
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		var r Running
		if json.Unmarshal(b, &r) != nil || r.PID <= 0 {
			continue
		}
		if !alive(r.PID) {
			_ = os.Remove(path)
			continue
		}
		if _, err := os.Stat(r.Link); err != nil {
			continue // between a pull and the port coming back
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Link < out[j].Link })
	return out, nil
}

// alive reports whether a process with this id exists (signal 0 checks
// without sending anything).
func alive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM)
}

package provision_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/sim"
	"github.com/latchkey/latchkey/internal/testutil/clitest"
)

// TestKeysNeverLeak burns known keys, runs every command an installer or
// support might run on that job and unit, and then searches every file
// under the laptop's LATCHKEY_HOME, the back office's data, every captured
// stdout and stderr, and a support bundle (and the files inside it) for the
// keys in raw, hex and base64 form: there must be no hit. The unit's own
// state is the one place the keys belong, and is not searched.
func TestKeysNeverLeak(t *testing.T) {
	b := newBench(t)
	job := b.job("lobby,garage,bikes")
	u := b.unit(sim.Genuine)
	label := b.label(u)

	var outputs []clitest.Result
	run := func(args ...string) {
		t.Helper()
		r := b.sam.Run(args...)
		if r.Code != 0 {
			t.Fatalf("latchkey %s: exit %d\n%s", strings.Join(args, " "), r.Code, r.Stderr)
		}
		outputs = append(outputs, r)
	}
	bundle := filepath.Join(b.sam.Home, "unit.tar.gz")
	run("-v", "pair", "--job", job, "--port", u.Link, "--confirm-label", label)
	run("install", "selftest", "--job", job, "--port", u.Link)
	run("-v", "burn", "--job", job, "--port", u.Link)
	run("-v", "--json", "burn", "--job", job, "--port", u.Link)
	run("--json", "jobs", "show", job)
	run("jobs", "show", job)
	run("--json", "outbox", "list", "--all")
	run("--json", "journal", "list")
	run("-v", "diag", "status", "--port", u.Link)
	run("--json", "diag", "status", "--port", u.Link)
	run("diag", "bundle", "--port", u.Link, "-o", bundle)
	var rows []struct {
		ID string `json:"id"`
	}
	b.sam.JSON(&rows, "outbox", "list", "--all")
	for _, r := range rows {
		run("outbox", "show", r.ID, "--envelope")
		run("--json", "outbox", "show", r.ID)
	}
	run("-v", "sync")
	run("--json", "hub", "records", "list", "--data", b.office.Data)

	// The keys, as the unit holds them.
	var keys [][]byte
	for _, s := range u.slots(t)[:3] {
		k, err := hex.DecodeString(s.Key)
		if err != nil || len(k) != 32 {
			t.Fatalf("slot %d key %q: %v", s.Slot, s.Key, err)
		}
		keys = append(keys, k)
	}
	var needles []string
	for _, k := range keys {
		needles = append(needles, string(k), hex.EncodeToString(k), strings.ToUpper(hex.EncodeToString(k)),
			base64.StdEncoding.EncodeToString(k), base64.RawStdEncoding.EncodeToString(k),
			base64.URLEncoding.EncodeToString(k), base64.RawURLEncoding.EncodeToString(k))
	}
	found := func(data []byte) []int {
		var at []int
		for i, n := range needles {
			if bytes.Contains(data, []byte(n)) {
				at = append(at, i)
			}
		}
		return at
	}
	hits := func(where string, data []byte) {
		for _, i := range found(data) {
			t.Errorf("key %d (form %d) found in %s", i/7, i%7, where)
		}
	}

	searched := 0
	for _, root := range []string{b.sam.Home, b.office.Data, b.office.Admin.Home} {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			searched++
			hits(p, data)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for i, r := range outputs {
		hits(fmt.Sprintf("stdout of command %d", i), []byte(r.Stdout))
		hits(fmt.Sprintf("stderr of command %d", i), []byte(r.Stderr))
	}
	// Inside the bundle too, uncompressed.
	f, err := os.Open(bundle)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	inBundle := 0
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		inBundle++
		hits("bundle member "+h.Name, data)
	}
	if searched < 5 || inBundle == 0 || len(outputs) < 12 {
		t.Errorf("searched %d files, %d bundle members, %d outputs: the search looked at too little", searched, inBundle, len(outputs))
	}
	// The search does find keys where they are: in the unit's own state.
	inUnit := 0
	err = filepath.WalkDir(u.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		inUnit += len(found(data))
		return nil
	})
	if err != nil || inUnit == 0 {
		t.Errorf("the search found no key in the unit's own state (%v): it would miss a leak", err)
	}
}

// Package dirtest reads a directory's files for tests that must show a
// command left them byte for byte as they were. It is used only by tests.
package dirtest

import (
	"os"
	"path/filepath"
	"testing"
)

// Files is every file of dir with its bytes.
func Files(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

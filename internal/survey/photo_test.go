package survey

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

func pngBytes(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	img.Set(1, 1, color.RGBA{R: 255, A: 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestAddPhoto(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	store := filepath.Join(t.TempDir(), "photos")
	write := func(name string, data []byte) string {
		p := filepath.Join(src, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	heic := append([]byte{0, 0, 0, 24}, []byte("ftypheic\x00\x00\x00\x00mif1heic")...)
	jpeg := append([]byte{0xff, 0xd8, 0xff, 0xe0, 0, 16}, []byte("JFIF\x00rest of it")...)
	tests := []struct {
		name, file string
		data       []byte
		ext        string
		err        error
	}{
		{"png named jpg", "a.jpg", pngBytes(t), "png", nil},
		{"jpeg", "b.jpeg", jpeg, "jpg", nil},
		{"heic", "c.HEIC", heic, "heic", nil},
		{"text named jpg", "d.jpg", []byte("not a photo at all"), "", ErrNotImage},
		{"pdf", "e.pdf", []byte("%PDF-1.7\n"), "", ErrNotImage},
		{"mp4 is not heic", "f.heic", append([]byte{0, 0, 0, 24}, []byte("ftypisom\x00\x00\x00\x00")...), "", ErrNotImage},
		{"too large", "g.jpg", append(jpeg, make([]byte, MaxPhoto)...), "", ErrPhotoTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := write(tt.file, tt.data)
			p, err := AddPhoto(store, path, "cap")
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("error %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(tt.data)
			h := hex.EncodeToString(sum[:])
			if p.SHA256 != h || p.File != h+"."+tt.ext || p.Caption != "cap" {
				t.Errorf("photo %+v", p)
			}
			dst := filepath.Join(store, p.File)
			got, err := os.ReadFile(dst)
			if err != nil || !bytes.Equal(got, tt.data) {
				t.Fatalf("stored copy differs: %v", err)
			}
			if fi, _ := os.Stat(dst); fi.Mode().Perm() != 0o600 {
				t.Errorf("mode %v", fi.Mode())
			}
			// Twice is once.
			if p2, err := AddPhoto(store, path, "cap"); err != nil || p2 != p {
				t.Errorf("again: %+v %v", p2, err)
			}
		})
	}
	entries, _ := os.ReadDir(store)
	if len(entries) != 3 {
		t.Errorf("store holds %d files, want 3: %v", len(entries), entries)
	}
	if _, err := AddPhoto(store, src, ""); !errors.Is(err, ErrNotImage) {
		t.Errorf("a directory: %v", err)
	}
	if _, err := AddPhoto(store, filepath.Join(src, "missing.jpg"), ""); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
}

func TestCheckPhotos(t *testing.T) {
	t.Parallel()
	store, src := t.TempDir(), filepath.Join(t.TempDir(), "a.png")
	if err := os.WriteFile(src, pngBytes(t), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := AddPhoto(store, src, "")
	if err != nil {
		t.Fatal(err)
	}
	s := sample()
	s.Photos = []Photo{p}
	if ps := CheckPhotos(store, s); len(ps) != 0 {
		t.Fatalf("problems %v", ps)
	}
	s.Photos = append(s.Photos, sample().Photos[0], Photo{File: "../../etc/passwd"})
	if err := os.WriteFile(filepath.Join(store, p.File), []byte("changed"), 0o600); err != nil {
		t.Fatal(err)
	}
	ps := CheckPhotos(store, s)
	want := []string{"does not match its sha256", "is missing from the photo store", "is not a file name"}
	if len(ps) != len(want) {
		t.Fatalf("problems %v", ps)
	}
	for i, w := range want {
		if !bytes.Contains([]byte(ps[i].Message), []byte(w)) {
			t.Errorf("problem %d %q, want %q", i, ps[i], w)
		}
	}
}

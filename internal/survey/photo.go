package survey

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"github.com/latchkey/latchkey/internal/fsutil"
)

// MaxPhoto bounds one photo: a phone's full-resolution JPEG or HEIC is a
// few MiB; 20 MiB leaves room without letting a video in.
const MaxPhoto = 20 << 20

// photoExts are the stored photo kinds, by file extension.
var photoExts = []string{"jpg", "png", "heic", "webp"}

// Errors AddPhoto refuses a file with.
var (
	// ErrNotImage is a file that is not a JPEG, PNG, HEIC or WebP image by
	// its content, whatever its name says.
	ErrNotImage = errors.New("not a photo (JPEG, PNG, HEIC or WebP)")
	// ErrPhotoTooLarge is a file over MaxPhoto bytes.
	ErrPhotoTooLarge = errors.New("photo too large")
)

// AddPhoto copies the image at src into dir under its content hash
// (dir/<sha256>.<ext>, mode 0600, written atomically) and returns the Photo
// to add to the survey. The kind is told from the content, not the name;
// anything else, and anything over MaxPhoto, is refused. Adding the same
// image twice writes it once.
func AddPhoto(dir, src, caption string) (Photo, error) {
	f, err := os.Open(src)
	if err != nil {
		return Photo{}, fmt.Errorf("add photo: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Photo{}, fmt.Errorf("add photo: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return Photo{}, fmt.Errorf("add photo %s: %w: not a regular file", src, ErrNotImage)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxPhoto+1))
	if err != nil {
		return Photo{}, fmt.Errorf("add photo: %w", err)
	}
	if len(data) > MaxPhoto {
		return Photo{}, fmt.Errorf("add photo %s: %w: more than %d MiB", src, ErrPhotoTooLarge, MaxPhoto>>20)
	}
	ext := imageExt(data)
	if ext == "" {
		return Photo{}, fmt.Errorf("add photo %s: %w", src, ErrNotImage)
	}
	sum := sha256.Sum256(data)
	p := Photo{SHA256: hex.EncodeToString(sum[:]), Caption: caption}
	p.File = p.SHA256 + "." + ext
	dst := filepath.Join(dir, p.File)
	if old, err := os.ReadFile(dst); err == nil && bytes.Equal(old, data) {
		return p, nil
	}
	err = fsutil.WriteFile(dst, 0o600, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	if err != nil {
		return Photo{}, fmt.Errorf("add photo: %w", err)
	}
	return p, nil
}

// imageExt returns the extension of the image kind data holds, "" if it is
// none of photoExts. http.DetectContentType knows JPEG, PNG and WebP;
// HEIC (what iPhones take) is an ISO BMFF file whose ftyp box names a HEIF
// brand (ISO/IEC 23008-12, annex B).
func imageExt(data []byte) string {
	switch http.DetectContentType(data) {
	case "image/jpeg":
		return "jpg"
	case "image/png":
		return "png"
	case "image/webp":
		return "webp"
	}
	if len(data) >= 12 && string(data[4:8]) == "ftyp" {
		switch string(data[8:12]) {
		case "heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1":
			return "heic"
		}
	}
	return ""
}

// CheckPhotos reports each photo of s that is missing from dir or whose
// content no longer matches its hash.
func CheckPhotos(dir string, s Survey) []Problem {
	var ps []Problem
	for i, ph := range s.Photos {
		path := fmt.Sprintf("photos[%d].file", i)
		if filepath.Base(ph.File) != ph.File || ph.File == "" || ph.File == "." || ph.File == ".." {
			ps = append(ps, Problem{Path: path, Message: fmt.Sprintf("%q is not a file name", ph.File)})
			continue
		}
		f, err := os.Open(filepath.Join(dir, ph.File))
		if err != nil {
			ps = append(ps, Problem{Path: path, Message: fmt.Sprintf("%s is missing from the photo store", ph.File)})
			continue
		}
		h := sha256.New()
		_, err = io.Copy(h, io.LimitReader(f, MaxPhoto+1))
		f.Close()
		if err != nil || hex.EncodeToString(h.Sum(nil)) != ph.SHA256 {
			ps = append(ps, Problem{Path: path, Message: fmt.Sprintf("%s in the photo store does not match its sha256", ph.File)})
		}
	}
	return ps
}

package ids

import (
	"bytes"
	"testing"
)

func TestNewAndDerived(t *testing.T) {
	t.Parallel()
	a, err := New(bytes.NewReader(bytes.Repeat([]byte{1}, 16)))
	if err != nil || !Valid(a) || a[14] != '4' {
		t.Fatalf("New = %q, %v (want a version 4 UUID)", a, err)
	}
	if _, err := New(bytes.NewReader(nil)); err == nil {
		t.Fatal("New with no randomness did not fail")
	}
	d1, d2 := Derived("visit", []byte("x")), Derived("visit", []byte("x"))
	if d1 != d2 || !Valid(d1) || d1[14] != '5' {
		t.Fatalf("Derived not stable or not v5: %q %q", d1, d2)
	}
	if Derived("visit", []byte("x")) == Derived("survey", []byte("x")) {
		t.Fatal("kind does not change the derived id")
	}
	for _, s := range []string{"", "xyz", "0B0E4A4E-8F55-4C1E-9D5C-1B2F3A4D5E6F", "{0b0e4a4e-8f55-4c1e-9d5c-1b2f3a4d5e6f}"} {
		if Valid(s) {
			t.Errorf("Valid(%q) = true", s)
		}
	}
}

package consent_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/latchkey/latchkey/internal/consent"
	"github.com/latchkey/latchkey/internal/record"
)

// TestRFC8785 runs RFC 8785 vectors through record.Canonical, the encoder
// consents are signed with: numbers (section 3.2.2.3 and Appendix B),
// strings (3.2.2.2) and property order (3.2.3).
func TestRFC8785(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		// Numbers: the ECMAScript Number.prototype.toString form.
		{"1e21", `1e21`, `1e+21`},
		{"1e20 stays an integer", `1e20`, `100000000000000000000`},
		{"1e-7", `1e-7`, `1e-7`},
		{"0.000001", `0.000001`, `0.000001`},
		{"minus zero", `-0`, `0`},
		{"minus zero float", `-0.0`, `0`},
		{"1E30", `1E30`, `1e+30`},
		{"4.50", `4.50`, `4.5`},
		{"2e-3", `2e-3`, `0.002`},
		{"1e-27", `0.000000000000000000000000001`, `1e-27`},
		{"333333333.33333329", `333333333.33333329`, `333333333.3333333`},
		{"2^53", `9007199254740992`, `9007199254740992`},
		{"2^53+1 rounds", `9007199254740993`, `9007199254740992`},
		{"large int", `295147905179352825856`, `295147905179352830000`},
		{"1e23", `1e23`, `1e+23`},
		{"negative", `-1.5`, `-1.5`},
		{"max double", `1.7976931348623157e308`, `1.7976931348623157e+308`},
		{"min subnormal", `5e-324`, `5e-324`},
		{"3.3e-6", `-0.0000033333333333333333`, `-0.0000033333333333333333`},
		{"1424953923781206.2", `1424953923781206.25`, `1424953923781206.2`},

		// Strings: only ", \ and controls escaped; controls without a short
		// form as \u00xx in lower case; <, >, & and non-ASCII as themselves.
		{"euro", `"\u20ac"`, "\"€\""},
		{"emoji from a surrogate pair", `"\ud83d\ude00"`, "\"😀\""},
		{"non-ASCII", `"Müller, Peña, 東京"`, "\"Müller, Peña, 東京\""},
		{"html characters", `"<script>&amp;</script>"`, `"<script>&amp;</script>"`},
		{"controls", `"\u0000\u0001\u000f\u001f"`, `"\u0000\u0001\u000f\u001f"`},
		{"short escapes", `"\b\f\n\r\t"`, `"\b\f\n\r\t"`},
		{"quote, backslash, slash", `"\"\\\/"`, `"\"\\/"`},
		{"DEL and U+0080 unescaped", `"\u007f\u0080"`, "\"\u007f\u0080\""},
		{"RFC 3.2.2 string", `"\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/"`, "\"€$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\""},

		// Property order: by UTF-16 code units, recursively; the emoji
		// (U+D83D U+DE00) sorts before U+FB33 although its code point is
		// higher.
		{"RFC 3.2.3 sorting",
			`{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}`,
			"{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u0080\":\"Control\",\"ö\":\"Latin Small Letter O With Diaeresis\",\"€\":\"Euro Sign\",\"😀\":\"Emoji: Grinning Face\",\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"}"},
		{"nested, arrays keep order", `{"b":[3,1,{"z":1,"a":[]}],"a":{"y":null,"x":true}}`, `{"a":{"x":true,"y":null},"b":[3,1,{"a":[],"z":1}]}`},
		{"whitespace removed", " { \"a\" : [ 1 , 2 ] } ", `{"a":[1,2]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var v any
			if err := json.Unmarshal([]byte(tt.in), &v); err != nil {
				t.Fatal(err)
			}
			got, err := record.Canonical(v)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("Canonical(%s) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

// TestConsentEncoding runs the RFC 8785 rules through the consent
// encoding itself: the signed bytes keep non-ASCII, emoji and <>& as they
// are (encoding/json would escape <>&), sort every object's keys by UTF-16
// code units and write integers plainly.
func TestConsentEncoding(t *testing.T) {
	t.Parallel()
	f := facts()
	f.Building.Name = `Edificio Peña <A&B> "Sol" € 😀 דּ`
	f.Building.Address = `Calle Ñ 5 \ 2º`
	f.Doors = append(f.Doors, consent.Door{Name: "€ door", Hours: "24/7"}, consent.Door{Name: "😀 door", Hours: "24/7"}, consent.Door{Name: "דּ door", Hours: "24/7"})
	f.Receipts = append(f.Receipts, consent.Receipt{Door: "€ door", Slot: 200, KCV: "aa0000"}, consent.Receipt{Door: "😀 door", Slot: 255, KCV: "bb0000"}, consent.Receipt{Door: "דּ door", Slot: 3, KCV: "cc0000"})
	f.Logging.RetentionDays = 90
	terms, err := consent.TermsFor("v1", "es", f)
	if err != nil {
		t.Fatal(err)
	}
	c, err := consent.Build(f, signer(t, terms), terms, now, rnd())
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"name":"Edificio Peña <A&B> \"Sol\" € 😀 דּ"`,
		`"address":"Calle Ñ 5 \\ 2º"`,
		`"retention_days":90`,
		`"slot":255`,
		`"version":1`,
		`"created_at":"2026-11-25T15:04:05Z"`,
		`"signed_at":"2026-11-25T15:02:05Z"`,
		`"name":"María Ortiz"`,
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("payload lacks %s:\n%s", want, got)
		}
	}
	for _, bad := range []string{`\u003c`, `\u0026`, `\u20ac`, `\ud83d`, "\n", " :"} {
		if strings.Contains(string(got), bad) {
			t.Errorf("payload holds %q:\n%s", bad, got)
		}
	}
	plain, _ := json.Marshal(c)
	if !bytes.Contains(plain, []byte(`\u003c`)) {
		t.Error("encoding/json no longer escapes <: this test's premise changed")
	}
	// Every object's keys in UTF-16 order, at every depth.
	if err := keyOrder(got); err != nil {
		t.Error(err)
	}
	top := topKeys(t, got)
	want := []string{"building", "captured", "created_at", "doors", "expires_at", "id", "incentive", "installer", "job", "logging", "notice", "operator", "receipts", "revoke", "signer", "survey_sha256", "terms", "unit", "unit_info", "version", "who"}
	if !slices.Equal(top, want) {
		t.Errorf("payload keys = %v, want %v", top, want)
	}
	// Canonical is a fixed point, and Parse reads back the same consent.
	var v any
	_ = json.Unmarshal(got, &v)
	again, _ := record.Canonical(v)
	if !bytes.Equal(again, got) {
		t.Errorf("not a fixed point:\n%s\n%s", got, again)
	}
	back, err := consent.Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	if back.Building != c.Building || back.Doors[4] != c.Doors[4] {
		t.Errorf("Parse = %+v", back.Building)
	}
}

// keyOrder returns an error for the first object, at any depth, whose keys
// are not in strictly increasing UTF-16 code unit order.
func keyOrder(raw []byte) error {
	raw = bytes.TrimSpace(raw)
	switch {
	case bytes.HasPrefix(raw, []byte("[")):
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return err
		}
		for _, it := range items {
			if err := keyOrder(it); err != nil {
				return err
			}
		}
	case bytes.HasPrefix(raw, []byte("{")):
		dec := json.NewDecoder(bytes.NewReader(raw))
		_, _ = dec.Token()
		var last []uint16
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			k := utf16.Encode([]rune(tok.(string)))
			if last != nil && slices.Compare(last, k) >= 0 {
				return fmt.Errorf("key %q out of order", tok)
			}
			last = k
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return err
			}
			if err := keyOrder(v); err != nil {
				return err
			}
		}
	}
	return nil
}

func TestKeyOrderCanFail(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`{"b":1,"a":2}`, `{"a":[{"\ufb33":1,"\ud83d\ude00":2}]}`, `{"a":{"y":1,"x":2}}`, `{"a":1,"a":2}`} {
		if keyOrder([]byte(in)) == nil {
			t.Errorf("keyOrder(%s) found no fault", in)
		}
	}
	if err := keyOrder([]byte(`{"\r":1,"1":2,"\u0080":3,"\u00f6":4,"\u20ac":5,"\ud83d\ude00":6,"\ufb33":7}`)); err != nil {
		t.Error(err)
	}
}

// topKeys lists the top-level keys of a JSON object, in order.
func topKeys(t *testing.T, b []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for dec.More() {
		k, _ := dec.Token()
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

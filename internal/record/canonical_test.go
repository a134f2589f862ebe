package record_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/latchkey/latchkey/internal/record"
)

// TestCanonicalRFC8785 runs the examples of RFC 8785 through Canonical. The
// inputs are decoded into Go values first, as records are Go values when
// they are signed.
func TestCanonicalRFC8785(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{
			// Section 3.2.2, "Serialization of Primitive Data Types".
			name: "primitives",
			in: `{
  "numbers": [333333333.33333329, 1E30, 4.50,
              2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}`,
			want: `{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`,
		},
		{
			// Section 3.2.3, "Sorting of Object Properties": UTF-16 code
			// unit order, so the emoji (a surrogate pair) sorts before U+FB33.
			name: "sorting",
			in: `{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}`,
			want: "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u0080\":\"Control\",\"ö\":\"Latin Small Letter O With Diaeresis\",\"€\":\"Euro Sign\",\"😀\":\"Emoji: Grinning Face\",\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"}",
		},
		{
			// Section 3.2.3: sorting applies at every level of nesting;
			// arrays keep their order.
			name: "nested",
			in:   `{"b":[{"z":1,"a":2}],"a":{"d":true,"c":null}}`,
			want: `{"a":{"c":null,"d":true},"b":[{"a":2,"z":1}]}`,
		},
		{
			// Section 3.2.2.2: only the mandatory escapes; <, >, & and
			// U+2028, which encoding/json escapes, come out as themselves.
			name: "escapes",
			in:   `{"s":"<a&b>\u2028\u2029\u001f\u007f\t\b\f"}`,
			want: "{\"s\":\"<a&b>\u2028\u2029\\u001f\u007f\\t\\b\\f\"}",
		},
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
				t.Errorf("Canonical =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestCanonicalNumbers runs the IEEE 754 sample values of RFC 8785,
// Appendix B, which pin down the ECMAScript number form.
func TestCanonicalNumbers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		bits uint64
		want string
	}{
		{0x0000000000000000, "0"},
		{0x8000000000000000, "0"}, // minus zero
		{0x0000000000000001, "5e-324"},
		{0x8000000000000001, "-5e-324"},
		{0x7fefffffffffffff, "1.7976931348623157e+308"},
		{0xffefffffffffffff, "-1.7976931348623157e+308"},
		{0x4340000000000000, "9007199254740992"},
		{0xc340000000000000, "-9007199254740992"},
		{0x4430000000000000, "295147905179352830000"},
		{0x44b52d02c7e14af5, "9.999999999999997e+22"},
		{0x44b52d02c7e14af6, "1e+23"},
		{0x44b52d02c7e14af7, "1.0000000000000001e+23"},
		{0x444b1ae4d6e2ef4e, "999999999999999700000"},
		{0x444b1ae4d6e2ef4f, "999999999999999900000"},
		{0x444b1ae4d6e2ef50, "1e+21"},
		{0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"},
		{0x3eb0c6f7a0b5ed8d, "0.000001"},
		{0x41b3de4355555553, "333333333.3333332"},
		{0x41b3de4355555554, "333333333.33333325"},
		{0x41b3de4355555555, "333333333.3333333"},
		{0x41b3de4355555556, "333333333.3333334"},
		{0x41b3de4355555557, "333333333.33333343"},
		{0xbecbf647612f3696, "-0.0000033333333333333333"},
		{0x43143ff3c1cb0959, "1424953923781206.2"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			t.Parallel()
			got, err := record.Canonical(map[string]float64{"n": math.Float64frombits(tt.bits)})
			if err != nil {
				t.Fatal(err)
			}
			if want := `{"n":` + tt.want + `}`; string(got) != want {
				t.Errorf("%016x: Canonical = %s, want %s", tt.bits, got, want)
			}
		})
	}
	// Appendix B: NaN and Infinity have no JSON form and must be refused.
	for _, bits := range []uint64{0x7fffffffffffffff, 0x7ff0000000000000, 0xfff0000000000000} {
		if got, err := record.Canonical(math.Float64frombits(bits)); err == nil {
			t.Errorf("%016x: Canonical = %s, want an error", bits, got)
		}
	}
}

// TestCanonicalStable checks Canonical is a fixed point: canonical bytes
// decoded and encoded again come back the same, which is what Verify relies
// on to refuse every other encoding.
func TestCanonicalStable(t *testing.T) {
	t.Parallel()
	for _, v := range []any{
		sample,
		map[string]any{"z": []any{1.5, "x", nil, map[string]any{"b": 1e21, "a": -0.0}}, "é": "\x00"},
		map[string]any{},
	} {
		first, err := record.Canonical(v)
		if err != nil {
			t.Fatal(err)
		}
		var back any
		if err := json.Unmarshal(first, &back); err != nil {
			t.Fatal(err)
		}
		second, err := record.Canonical(back)
		if err != nil {
			t.Fatal(err)
		}
		if string(first) != string(second) {
			t.Errorf("not stable:\n%s\n%s", first, second)
		}
	}
}

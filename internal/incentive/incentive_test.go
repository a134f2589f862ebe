package incentive

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Offer
		canon   string
		wantErr bool
	}{
		{in: "none", want: None, canon: "none"},
		{in: "NONE", want: None, canon: "none"},
		{in: "gift-card:100:USD", want: Offer{GiftCard, 10000, "USD"}, canon: "gift-card:100:USD"},
		{in: "gift-card:99.5:eur", want: Offer{GiftCard, 9950, "EUR"}, canon: "gift-card:99.50:EUR"},
		{in: "cash:0.01:GBP", want: Offer{Cash, 1, "GBP"}, canon: "cash:0.01:GBP"},
		{in: "Rent-Credit:250:CAD", want: Offer{RentCredit, 25000, "CAD"}, canon: "rent-credit:250:CAD"},
		{in: "", wantErr: true},
		{in: "gift-card:100", wantErr: true},
		{in: "gift-card:100:USD:x", wantErr: true},
		{in: "bribe:100:USD", wantErr: true},
		{in: "gift-card:abc:USD", wantErr: true},
		{in: "gift-card:-5:USD", wantErr: true},
		{in: "gift-card:0:USD", wantErr: true},
		{in: "gift-card:1.234:USD", wantErr: true},
		{in: "gift-card:1.:USD", wantErr: true},
		{in: "gift-card:.5:USD", wantErr: true},
		{in: "gift-card:2000000:USD", wantErr: true},
		{in: "gift-card:100:XYZ", wantErr: true},
		{in: "gift-card:100:US", wantErr: true},
		{in: "gift-card:100:dollars", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrSyntax) {
					t.Fatalf("Parse(%q) error = %v, want ErrSyntax", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if got.String() != tt.canon {
				t.Fatalf("String() = %q, want %q", got.String(), tt.canon)
			}
			again, err := Parse(got.String())
			if err != nil || again != got {
				t.Fatalf("round trip of %q gave %+v, %v", got.String(), again, err)
			}
		})
	}
}

func TestJSON(t *testing.T) {
	t.Parallel()
	type rec struct{ Incentive Offer }
	b, err := json.Marshal(rec{Offer{GiftCard, 10000, "USD"}})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"Incentive":"gift-card:100:USD"}` {
		t.Fatalf("json = %s", b)
	}
	var back rec
	if err := json.Unmarshal(b, &back); err != nil || back.Incentive.Cents != 10000 {
		t.Fatalf("unmarshal: %+v %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"Incentive":"gift-card"}`), &back); err == nil {
		t.Fatal("bad incentive in JSON accepted")
	}
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	if got := (Offer{GiftCard, 10050, "USD"}).Describe(); got != "gift card worth 100.50 USD" {
		t.Fatalf("Describe = %q", got)
	}
	if got := None.Describe(); got != "no incentive" {
		t.Fatalf("Describe = %q", got)
	}
}

// Package incentive owns the one syntax the whole product uses for an
// incentive offered to a building's owner or manager: "none", or
// KIND:AMOUNT:CURRENCY such as "gift-card:100:USD". Sales visits record it
// and the consent record later discloses it, so both parse it here.
package incentive

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/text/currency"
)

// Kind is what sort of incentive was offered.
type Kind string

// The kinds of incentive the product knows.
const (
	GiftCard      Kind = "gift-card"
	Cash          Kind = "cash"
	RentCredit    Kind = "rent-credit"
	ServiceCredit Kind = "service-credit"
	Donation      Kind = "donation"
	Other         Kind = "other"
)

// Kinds lists every kind, in the order help text shows them.
func Kinds() []Kind {
	return []Kind{GiftCard, Cash, RentCredit, ServiceCredit, Donation, Other}
}

// MaxAmount bounds an incentive at a million in the currency's main unit; a
// larger figure is a typing mistake, not an incentive.
const MaxAmount = 1_000_000_00

// ErrSyntax is wrapped by every parse error.
var ErrSyntax = errors.New("not an incentive")

// syntaxError says what is wrong with one input.
type syntaxError struct{ input, reason string }

func (e *syntaxError) Error() string { return fmt.Sprintf("%q: %s", e.input, e.reason) }
func (e *syntaxError) Unwrap() error { return ErrSyntax }

func bad(input, format string, args ...any) error {
	return &syntaxError{input: input, reason: fmt.Sprintf(format, args...)}
}

// Offer is an incentive. The zero Offer is "none".
type Offer struct {
	Kind     Kind
	Cents    int64  // amount in hundredths of the currency's main unit
	Currency string // ISO 4217 code
}

// None is the zero Offer.
var None = Offer{}

// IsNone reports whether no incentive was offered.
func (o Offer) IsNone() bool { return o == Offer{} }

// Parse reads "none" or KIND:AMOUNT:CURRENCY. The amount takes at most two
// decimal places; the currency must be an ISO 4217 code.
func Parse(s string) (Offer, error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "none") {
		return None, nil
	}
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return Offer{}, bad(s, "write none, or KIND:AMOUNT:CURRENCY such as gift-card:100:USD")
	}
	kind := Kind(strings.ToLower(parts[0]))
	if !validKind(kind) {
		return Offer{}, bad(s, "unknown kind %q (one of %s)", parts[0], kindList())
	}
	cents, err := parseAmount(parts[1])
	if err != nil {
		return Offer{}, bad(s, "%v", err)
	}
	unit, err := currency.ParseISO(parts[2])
	if err != nil || len(parts[2]) != 3 {
		return Offer{}, bad(s, "%q is not an ISO 4217 currency code such as USD or EUR", parts[2])
	}
	return Offer{Kind: kind, Cents: cents, Currency: unit.String()}, nil
}

func parseAmount(a string) (int64, error) {
	whole, frac, hasFrac := strings.Cut(a, ".")
	if whole == "" || (hasFrac && (len(frac) == 0 || len(frac) > 2)) {
		return 0, fmt.Errorf("amount %q is not a number with at most two decimals", a)
	}
	w, err := strconv.ParseUint(whole, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("amount %q is not a number with at most two decimals", a)
	}
	var f uint64
	if hasFrac {
		if len(frac) == 1 {
			frac += "0"
		}
		if f, err = strconv.ParseUint(frac, 10, 8); err != nil {
			return 0, fmt.Errorf("amount %q is not a number with at most two decimals", a)
		}
	}
	cents := int64(w)*100 + int64(f)
	if cents <= 0 {
		return 0, fmt.Errorf("amount must be above zero (write none for no incentive)")
	}
	if cents > MaxAmount {
		return 0, fmt.Errorf("amount %s is above the limit of %d", a, MaxAmount/100)
	}
	return cents, nil
}

func validKind(k Kind) bool {
	for _, v := range Kinds() {
		if v == k {
			return true
		}
	}
	return false
}

func kindList() string {
	var names []string
	for _, k := range Kinds() {
		names = append(names, string(k))
	}
	return strings.Join(names, ", ")
}

// Amount formats the amount in main units: "100" or "99.50".
func (o Offer) Amount() string {
	if o.Cents%100 == 0 {
		return strconv.FormatInt(o.Cents/100, 10)
	}
	return fmt.Sprintf("%d.%02d", o.Cents/100, o.Cents%100)
}

// String is the canonical form Parse reads back.
func (o Offer) String() string {
	if o.IsNone() {
		return "none"
	}
	return string(o.Kind) + ":" + o.Amount() + ":" + o.Currency
}

// Describe says the offer in words, as a disclosure would.
func (o Offer) Describe() string {
	if o.IsNone() {
		return "no incentive"
	}
	return fmt.Sprintf("%s worth %s %s", strings.ReplaceAll(string(o.Kind), "-", " "), o.Amount(), o.Currency)
}

// MarshalText writes the canonical form, so JSON and CSV carry the same syntax
// as the command line.
func (o Offer) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText parses the canonical form.
func (o *Offer) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*o = v
	return nil
}

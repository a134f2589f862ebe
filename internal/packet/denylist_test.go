package packet_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/packet"
	"github.com/latchkey/latchkey/internal/record"
)

func TestDenylist(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	d := packet.Denylist{IssuedAt: at, Units: []packet.DeniedUnit{
		{Serial: "LK-00099", Reason: "recalled", DeniedAt: at.Add(-time.Hour)},
		{Serial: "LK-00042", Reason: "reported stolen", DeniedAt: at.Add(-2 * time.Hour)},
	}}
	b, err := packet.SignDenylist(d, priv)
	if err != nil {
		t.Fatal(err)
	}
	got, err := packet.VerifyDenylist(b, pub)
	if err != nil {
		t.Fatalf("VerifyDenylist: %v", err)
	}
	if !got.IssuedAt.Equal(at) || len(got.Units) != 2 || got.Units[0].Serial != "LK-00042" || got.Units[1].Reason != "recalled" {
		t.Errorf("VerifyDenylist = %+v", got)
	}

	// Emptied by whoever answers for the hub: the signature no longer holds.
	var env record.Envelope
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatal(err)
	}
	body, _ := base64.StdEncoding.DecodeString(env.Payload)
	i := strings.Index(string(body), `"units":`)
	emptied := string(body[:i]) + `"units":[],"version":1}`
	env.Payload = base64.StdEncoding.EncodeToString([]byte(emptied))
	tampered, _ := json.Marshal(env)

	tests := []struct {
		name string
		b    []byte
		key  ed25519.PublicKey
		want error
	}{
		{"emptied", tampered, pub, packet.ErrBadSignature},
		{"another hub", b, otherPub, packet.ErrBadSignature},
		{"not JSON", []byte("{"), pub, packet.ErrMalformed},
		{"a job packet's type", []byte(strings.Replace(string(b), "denylist+json", "job-packet+json", 1)), pub, packet.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := packet.VerifyDenylist(tt.b, tt.key); !errors.Is(err, tt.want) {
				t.Errorf("VerifyDenylist = %v, want %v", err, tt.want)
			}
		})
	}
}

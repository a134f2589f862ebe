package notice

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/record"
)

var recordedAt = time.Date(2026, 11, 4, 9, 0, 0, 0, time.UTC)

// given returns a valid posted notice, given an hour before recordedAt.
func given() Given {
	return Given{
		ID: "0b7e3c52-6d0e-4f3a-9a43-0c1d2e3f4a5b", Job: "job-1042", Unit: "LK-000123", Consent: "c0ffee00-6d0e-4f3a-9a43-0c1d2e3f4a5b",
		How: Posted, GivenAt: recordedAt.Add(-time.Hour), Where: "lobby notice board",
		PhotoSHA256: SHA256Hex([]byte("photo")), Lang: English, Text: mustText(facts(English)),
	}
}

func TestBuildRecord(t *testing.T) {
	t.Parallel()
	r, err := BuildRecord(given(), recordedAt)
	if err != nil {
		t.Fatal(err)
	}
	if !r.CreatedAt.Equal(recordedAt) || !r.ExpiresAt.Equal(recordedAt.Add(180*24*time.Hour)) {
		t.Errorf("created %s, expires %s; want %s and 180 days later", r.CreatedAt, r.ExpiresAt, recordedAt)
	}
	if want := SHA256Hex([]byte(given().Text)); r.TextSHA256 != want {
		t.Errorf("text_sha256 %s, want %s", r.TextSHA256, want)
	}
	body, err := record.Canonical(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"id":`, `"created_at":`, `"expires_at":`, `"job":"job-1042"`, `"unit":"LK-000123"`,
		`"how":"posted"`, `"given_at":"2026-11-04T08:00:00Z"`, `"where":"lobby notice board"`,
		`"photo_sha256":`, `"lang":"en"`, `"text_sha256":`} {
		if !strings.Contains(string(body), field) {
			t.Errorf("payload lacks %s: %s", field, body)
		}
	}
	if strings.Contains(string(body), `"recipients"`) {
		t.Errorf("posted payload carries recipients: %s", body)
	}
	h, err := record.ParseHeader(body)
	if err != nil || h.ID != r.ID {
		t.Errorf("ParseHeader = %+v, %v", h, err)
	}
	var back Record
	if err := json.Unmarshal(body, &back); err != nil {
		t.Fatal(err)
	}
	if err := back.Check(); err != nil {
		t.Errorf("the record read back fails Check: %v", err)
	}
}

func TestBuildRecordValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*Given)
		say    string // part of the error; "" means accepted
	}{
		{"posted", func(*Given) {}, ""},
		{"mailed", func(g *Given) { g.How, g.PhotoSHA256, g.Where, g.Recipients = Mailed, "", "", 24 }, ""},
		{"emailed with where", func(g *Given) { g.How, g.PhotoSHA256, g.Where, g.Recipients = Emailed, "", "residents' list", 3 }, ""},
		{"mailed with a photo", func(g *Given) { g.How, g.Recipients = Mailed, 24 }, ""},
		{"Spanish", func(g *Given) { g.Lang, g.Text = Spanish, mustText(facts(Spanish)) }, ""},
		{"upper-case photo hash", func(g *Given) { g.PhotoSHA256 = strings.ToUpper(g.PhotoSHA256) }, ""},
		{"no unit", func(g *Given) { g.Unit = "" }, ""},
		{"given within clock skew", func(g *Given) { g.GivenAt = recordedAt.Add(ClockSkew) }, ""},
		{"given in the future", func(g *Given) { g.GivenAt = recordedAt.Add(ClockSkew + time.Second) }, "after now"},
		{"given tomorrow", func(g *Given) { g.GivenAt = recordedAt.Add(24 * time.Hour) }, "after now"},
		{"no given_at", func(g *Given) { g.GivenAt = time.Time{} }, "no given_at"},
		{"posted without photo", func(g *Given) { g.PhotoSHA256 = "" }, "photo"},
		{"posted without place", func(g *Given) { g.Where = "  " }, "where it was posted"},
		{"posted with recipients", func(g *Given) { g.Recipients = 30 }, "not posted ones"},
		{"mailed without count", func(g *Given) { g.How, g.PhotoSHA256 = Mailed, "" }, "how many households"},
		{"emailed, negative count", func(g *Given) { g.How, g.Recipients = Emailed, -1 }, "-1 recipients"},
		{"unknown way", func(g *Given) { g.How = "told" }, `how "told"`},
		{"bad photo hash", func(g *Given) { g.PhotoSHA256 = "abc" }, "photo_sha256"},
		{"where on two lines", func(g *Given) { g.Where = "lobby\nboard" }, "one line"},
		{"no job", func(g *Given) { g.Job = "" }, "no job"},
		{"no consent", func(g *Given) { g.Consent = "" }, "no consent"},
		{"bad id", func(g *Given) { g.ID = "a b" }, "id"},
		{"bad unit", func(g *Given) { g.Unit = "LK/1" }, "unit"},
		{"no text", func(g *Given) { g.Text = "" }, "no notice text"},
		{"unknown language", func(g *Given) { g.Lang = "de" }, `language "de"`},
		{"text in another language", func(g *Given) { g.Lang = Spanish }, "content check"},
		{"text lacks an item", func(g *Given) {
			g.Text = strings.Replace(g.Text, "Objecting is free", "Objecting costs $20", 1)
		}, "object: no that objecting is free"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := given()
			tt.change(&g)
			r, err := BuildRecord(g, recordedAt)
			if tt.say == "" {
				if err != nil {
					t.Fatalf("BuildRecord: %v", err)
				}
				if err := r.Check(); err != nil {
					t.Errorf("Check: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrRecord) {
				t.Fatalf("BuildRecord: error %v, want ErrRecord", err)
			}
			if !strings.Contains(err.Error(), tt.say) {
				t.Errorf("BuildRecord: error %q does not say %q", err, tt.say)
			}
		})
	}
}

// TestRecordCheck covers records that reach the back office without
// BuildRecord: hand-made or tampered with.
func TestRecordCheck(t *testing.T) {
	t.Parallel()
	good, err := BuildRecord(given(), recordedAt)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func(*Record)
		say    string
	}{
		{"expired before created", func(r *Record) { r.ExpiresAt = r.CreatedAt }, "expires_at"},
		{"no text hash", func(r *Record) { r.TextSHA256 = "" }, "text_sha256"},
		{"upper-case text hash", func(r *Record) { r.TextSHA256 = strings.ToUpper(r.TextSHA256) }, "text_sha256"},
		{"no language", func(r *Record) { r.Lang = "" }, "language"},
		{"no how", func(r *Record) { r.How = "" }, "how"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := good
			tt.change(&r)
			err := r.Check()
			if !errors.Is(err, ErrRecord) || !strings.Contains(err.Error(), tt.say) {
				t.Errorf("Check: error %v, want ErrRecord saying %q", err, tt.say)
			}
		})
	}
}

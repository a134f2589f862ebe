package install

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/consent/notice"
	"github.com/latchkey/latchkey/internal/journal"
	"github.com/latchkey/latchkey/internal/outbox"
	"github.com/latchkey/latchkey/internal/record"
	"github.com/latchkey/latchkey/internal/store"
)

// fakeQueue and fakeJournal stand in for the outbox and the journal; fail
// makes Add fail, to check the notice row rolls back with it.
type fakeQueue struct {
	fail  bool
	kinds []record.Kind
}

func (q *fakeQueue) Add(ctx context.Context, tx *sql.Tx, kind record.Kind, payload any) (outbox.Entry, error) {
	if q.fail {
		return outbox.Entry{}, errors.New("queue is full")
	}
	q.kinds = append(q.kinds, kind)
	return outbox.Entry{}, nil
}

type fakeJournal struct{ actions []string }

func (j *fakeJournal) Append(ctx context.Context, tx *sql.Tx, e journal.Entry) (journal.Head, error) {
	j.actions = append(j.actions, e.Action)
	return journal.Head{}, nil
}

var noticeNow = time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)

func newNotices(t *testing.T) (*Notices, *store.Store, *fakeQueue, *fakeJournal, *time.Time) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "latchkey.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	stamp := noticeNow.Format(time.RFC3339Nano)
	_, err = st.DB().ExecContext(ctx, `INSERT INTO jobs
		(id, installer, installer_key_id, building, address, doors, access_hours, incentive, terms, issued_at, expires_at, packet, pulled_at)
		VALUES ('job-1042', 'sam', 'k', 'Elm Court', '12 Elm St', '["lobby"]', 'Mo-Fr 08:00-20:00', 'none', 'v1', ?, ?, x'00', ?)`,
		stamp, noticeNow.Add(14*24*time.Hour).Format(time.RFC3339Nano), stamp)
	if err != nil {
		t.Fatal(err)
	}
	now := noticeNow
	q, j := &fakeQueue{}, &fakeJournal{}
	ns := NewNotices(st, NewJobs(st, func() time.Time { return now }), q, j, func() time.Time { return now }, strings.NewReader(strings.Repeat("r", 1024)))
	return ns, st, q, j, &now
}

func consentRow(t *testing.T, st *store.Store, noticeBy string, revoked bool) {
	t.Helper()
	var rev any
	if revoked {
		rev = noticeNow.Format(time.RFC3339)
	}
	_, err := st.DB().Exec(`INSERT INTO consents (job, record_id, serial, envelope, terms_sha256, lang, notice_by, signed_at, revoked_at)
		VALUES ('job-1042', 'c-1', 'LK-000123', x'7b7d', '', 'en', ?, ?, ?)`, noticeBy, noticeNow.Add(-2*time.Hour).Format(time.RFC3339), rev)
	if err != nil {
		t.Fatal(err)
	}
}

func facts(t *testing.T, ns *Notices) notice.Facts {
	t.Helper()
	f, err := ns.Facts(context.Background(), "job-1042", NoticeInput{
		Operator: "Parcelway Inc.", UnitLocation: "in the intercom panel",
		Contact:   notice.Contact{Name: "Tenant desk", Email: "tenants@parcelway.example"},
		PolicyURL: "https://parcelway.example/policy",
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func posted(t *testing.T, ns *Notices, at time.Time) notice.Given {
	t.Helper()
	text, err := notice.Text(facts(t, ns))
	if err != nil {
		t.Fatal(err)
	}
	return notice.Given{How: notice.Posted, GivenAt: at, Where: "lobby notice board",
		PhotoSHA256: notice.SHA256Hex([]byte("photo")), Lang: notice.English, Text: text}
}

func TestNoticeGate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		noticeBy string // "" no consent row
		revoked  bool
		notice   bool
		after    time.Duration // how long after noticeNow the gate is asked
		allowed  bool
		say      string
	}{
		{"nothing", "", false, false, 0, false, "no notice recorded"},
		{"consent, no notice", "2026-12-01", false, false, 10 * 24 * time.Hour, false, "no notice recorded"},
		{"before the notice date", "2026-12-01", false, true, 0, false, "runs until 2026-12-01"},
		{"on the notice date", "2026-12-01", false, true, 5*24*time.Hour + 9*time.Hour, true, "notice period ended 2026-12-01"},
		{"date in RFC 3339", "2026-11-30T12:00:00Z", false, true, 5 * 24 * time.Hour, true, "notice period ended"},
		{"revoked", "2026-12-01", true, true, 10 * 24 * time.Hour, false, "revoked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ns, st, _, _, now := newNotices(t)
			if tt.noticeBy != "" {
				consentRow(t, st, tt.noticeBy, false)
			}
			if tt.notice {
				if _, err := ns.Record(context.Background(), "job-1042", posted(t, ns, noticeNow.Add(-time.Hour))); err != nil {
					t.Fatal(err)
				}
			}
			if tt.revoked {
				if _, err := st.DB().Exec(`UPDATE consents SET revoked_at = ? WHERE job = 'job-1042'`, noticeNow.Format(time.RFC3339)); err != nil {
					t.Fatal(err)
				}
			}
			*now = noticeNow.Add(tt.after)
			g, err := ns.Gate(context.Background(), "job-1042", *now)
			if err != nil {
				t.Fatal(err)
			}
			if g.Allowed != tt.allowed || !strings.Contains(g.Reason, tt.say) {
				t.Errorf("Gate = %v %q, want %v saying %q", g.Allowed, g.Reason, tt.allowed, tt.say)
			}
		})
	}
}

// TestNoticeNeedsItsConsent: no notice without a consent; and a notice
// given before the consent was signed, or for another consent, does not
// open the gate.
func TestNoticeNeedsItsConsent(t *testing.T) {
	t.Parallel()
	ns, st, _, _, now := newNotices(t)
	if _, err := ns.Record(context.Background(), "job-1042", posted(t, ns, noticeNow.Add(-time.Hour))); err == nil || !strings.Contains(err.Error(), "no signed consent") {
		t.Fatalf("Record without a consent = %v", err)
	}
	consentRow(t, st, "2026-12-01", false)
	// Given three hours ago: before the consent was signed (two hours ago).
	if _, err := ns.Record(context.Background(), "job-1042", posted(t, ns, noticeNow.Add(-3*time.Hour))); err != nil {
		t.Fatal(err)
	}
	*now = noticeNow.Add(10 * 24 * time.Hour)
	if g, err := ns.Gate(context.Background(), "job-1042", *now); err != nil || g.Allowed {
		t.Errorf("Gate with a notice given before the consent = %v %q, %v", g.Allowed, g.Reason, err)
	}
	// A notice for another (earlier) consent does not count either.
	if _, err := st.DB().Exec(`UPDATE notices SET given_at = ?, consent_id = 'c-0'`, noticeNow.Format(time.RFC3339Nano)); err != nil {
		t.Fatal(err)
	}
	if g, err := ns.Gate(context.Background(), "job-1042", *now); err != nil || g.Allowed {
		t.Errorf("Gate with another consent's notice = %v %q, %v", g.Allowed, g.Reason, err)
	}
}

func TestNoticeRecord(t *testing.T) {
	t.Parallel()
	ns, st, q, j, _ := newNotices(t)
	consentRow(t, st, "2026-12-01", false)
	ctx := context.Background()
	n, err := ns.Record(ctx, "job-1042", posted(t, ns, noticeNow.Add(-time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	if n.Unit != "LK-000123" || n.Job != "job-1042" || n.How != notice.Posted {
		t.Errorf("Record = %+v", n)
	}
	if len(q.kinds) != 1 || q.kinds[0] != record.KindNotice || len(j.actions) != 1 || j.actions[0] != ActionNoticeRecorded {
		t.Errorf("queued %v, journalled %v", q.kinds, j.actions)
	}
	// A posted notice without a photo is refused, and nothing is kept.
	g := posted(t, ns, noticeNow)
	g.PhotoSHA256 = ""
	if _, err := ns.Record(ctx, "job-1042", g); !errors.Is(err, notice.ErrRecord) || !strings.Contains(err.Error(), "photo") {
		t.Errorf("posted without photo: %v", err)
	}
	// A record that cannot be queued is not kept either.
	q.fail = true
	if _, err := ns.Record(ctx, "job-1042", posted(t, ns, noticeNow)); err == nil {
		t.Error("Record with a failing queue succeeded")
	}
	list, err := ns.List(ctx, "job-1042")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Record != n.Record {
		t.Errorf("List = %+v, want only %s", list, n.Record)
	}
}

func TestNoticeFacts(t *testing.T) {
	t.Parallel()
	ns, st, _, _, _ := newNotices(t)
	_, err := ns.Facts(context.Background(), "job-1042", NoticeInput{})
	for _, want := range []string{"--operator", "--unit-location", "--contact-name", "--contact-phone", "--policy-url"} {
		if !errors.Is(err, ErrNoticeFacts) || !strings.Contains(err.Error(), want) {
			t.Errorf("Facts with nothing given: %v, want it to name %s", err, want)
		}
	}
	consentRow(t, st, "2026-12-01", false)
	f := facts(t, ns)
	if f.StartsOn.Format(time.DateOnly) != "2026-12-01" || f.Retention != DefaultRetentionDays*24*time.Hour || f.AccessHours != "Mo-Fr 08:00-20:00" {
		t.Errorf("Facts = %+v", f)
	}
	text, err := notice.Text(f)
	if err != nil {
		t.Fatal(err)
	}
	if m := notice.Check(text, notice.English); len(m) > 0 {
		t.Errorf("notice fails the content check: %v", m)
	}
}

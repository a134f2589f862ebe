package hub

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/hubapi"
	"github.com/latchkey/latchkey/internal/identity"
	"github.com/latchkey/latchkey/internal/ids"
	"github.com/latchkey/latchkey/internal/incentive"
	"github.com/latchkey/latchkey/internal/packet"
)

// ErrInvalid is input the hub refuses: a bad name, role, door list or
// duration, or an installer who cannot take a job. Errors wrap it with
// what was wrong and how to put it right.
var ErrInvalid = errors.New("invalid input")

// Limits of what an administrator may ask for.
const (
	// DefaultEnrollTTL is how long an enrollment code works when no TTL
	// is given: long enough to pass it on by phone the same day.
	DefaultEnrollTTL = 24 * time.Hour
	// MaxEnrollTTL bounds a code's life; an unredeemed code is a way in.
	MaxEnrollTTL = 30 * 24 * time.Hour
	// DefaultJobTTL is how long a job packet is valid when no TTL is given.
	DefaultJobTTL = 14 * 24 * time.Hour
	// MaxJobTTL bounds a packet's life: its keys sit on a laptop until then.
	MaxJobTTL = 90 * 24 * time.Hour
	// DefaultTerms is the version of the consent terms a job carries when
	// the administrator names none.
	DefaultTerms = "v1"
	// MaxDoors bounds the doors of one job.
	MaxDoors = 64
	// maxText bounds free-text job fields.
	maxText = 1000
)

// namePattern is what user names look like: they appear in logs, tables and
// URLs, so plain and short.
var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// serialPattern matches record.Header's unit field, which names serials.
var serialPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)

// AdminConfig is what an Admin works with.
type AdminConfig struct {
	Store Storage
	// Key is the hub's identity (LoadKeys); its Ed25519 key signs packets.
	Key identity.Identity
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand is the source of codes, ids and door keys; nil means crypto/rand.
	Rand io.Reader
}

// Admin is what the hub's administrator does, straight on the store (the
// admin commands run beside `hub serve`, on the same database).
type Admin struct {
	store Storage
	key   identity.Identity
	now   func() time.Time
	rand  io.Reader
}

// NewAdmin returns an Admin over cfg.Store.
func NewAdmin(cfg AdminConfig) (*Admin, error) {
	if cfg.Store == nil {
		return nil, errors.New("new admin: no store")
	}
	a := &Admin{store: cfg.Store, key: cfg.Key, now: cfg.Now, rand: cfg.Rand}
	if a.now == nil {
		a.now = time.Now
	}
	if a.rand == nil {
		a.rand = rand.Reader
	}
	return a, nil
}

// Enroll makes a one-time enrollment code for a new user (or a known user
// with a new laptop) with role, valid for ttl (0: DefaultEnrollTTL). Only
// the code's SHA-256 is stored; the code is shown once, here.
func (a *Admin) Enroll(ctx context.Context, name, role string, ttl time.Duration) (code string, expires time.Time, err error) {
	if err := checkName(name); err != nil {
		return "", time.Time{}, fmt.Errorf("enroll: %w", err)
	}
	if !validRole(role) {
		return "", time.Time{}, fmt.Errorf("enroll %s: %w: role %q (want one of %s)", name, ErrInvalid, role, strings.Join(hubapi.Roles(), ", "))
	}
	if ttl == 0 {
		ttl = DefaultEnrollTTL
	}
	if ttl < time.Minute || ttl > MaxEnrollTTL {
		return "", time.Time{}, fmt.Errorf("enroll %s: %w: code lifetime %s (want 1m to %s)", name, ErrInvalid, ttl, MaxEnrollTTL)
	}
	switch u, err := a.store.User(ctx, name); {
	case err == nil && u.Revoked():
		return "", time.Time{}, fmt.Errorf("enroll %s: %w: user %s was revoked; enroll them under another name", name, ErrInvalid, name)
	case err != nil && !errors.Is(err, ErrNotFound):
		return "", time.Time{}, fmt.Errorf("enroll %s: %w", name, err)
	}
	code, err = newCode(a.rand)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("enroll %s: %w", name, err)
	}
	norm, _ := normalizeCode(code)
	now := a.now().UTC()
	e := Enrollment{CodeHash: hashCode(norm), Name: name, Role: role, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := a.store.CreateEnrollment(ctx, e); err != nil {
		return "", time.Time{}, fmt.Errorf("enroll %s: %w", name, err)
	}
	return code, e.ExpiresAt, nil
}

// Users lists every user, by name.
func (a *Admin) Users(ctx context.Context) ([]User, error) {
	us, err := a.store.Users(ctx)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return us, nil
}

// Revoke revokes a user: their token and signatures are refused from now on
// (ErrNotFound when there is no such user).
func (a *Admin) Revoke(ctx context.Context, name string) (User, error) {
	u, err := a.store.RevokeUser(ctx, name, a.now().UTC())
	if err != nil {
		return User{}, fmt.Errorf("revoke %s: %w", name, err)
	}
	return u, nil
}

// JobSpec is what an administrator says about a new job.
type JobSpec struct {
	Building    string
	Address     string
	Doors       []string
	AccessHours string
	Incentive   string
	Terms       string // terms version
	Installer   string // user name of an enrolled installer
	TTL         time.Duration
}

// CreateJob makes a job for an enrolled installer: one fresh 32-byte key per
// door, sealed into a job packet to the installer's X25519 key and signed
// with the hub key. The keys are wiped once sealed; the hub keeps only the
// packet.
func (a *Admin) CreateJob(ctx context.Context, spec JobSpec) (Job, error) {
	if err := checkJobSpec(&spec); err != nil {
		return Job{}, fmt.Errorf("create job: %w", err)
	}
	if a.key.Sign == nil {
		return Job{}, errors.New("create job: no hub key to sign the packet with")
	}
	u, err := a.store.User(ctx, spec.Installer)
	switch {
	case errors.Is(err, ErrNotFound):
		return Job{}, fmt.Errorf("create job: %w: installer %s has not logged in yet (enroll them and have them run 'latchkey login' with the code)", ErrInvalid, spec.Installer)
	case err != nil:
		return Job{}, fmt.Errorf("create job: %w", err)
	case u.Revoked():
		return Job{}, fmt.Errorf("create job: %w: installer %s was revoked", ErrInvalid, spec.Installer)
	case u.Role != hubapi.RoleInstaller:
		return Job{}, fmt.Errorf("create job: %w: %s is a %s user, not an installer", ErrInvalid, spec.Installer, u.Role)
	case len(u.KexKey) != 32:
		return Job{}, fmt.Errorf("create job: installer %s has no key-agreement key on file", spec.Installer)
	}
	id, err := ids.New(a.rand)
	if err != nil {
		return Job{}, fmt.Errorf("create job: %w", err)
	}
	now := a.now().UTC()
	pj := packet.Job{
		ID: id, Building: spec.Building, Address: spec.Address, Doors: spec.Doors,
		AccessHours: spec.AccessHours, Incentive: spec.Incentive, Terms: spec.Terms,
		Installer: u.Name, InstallerKeyID: u.KeyID,
		IssuedAt: now, ExpiresAt: now.Add(spec.TTL),
	}
	keys, err := packet.GenerateKeys(spec.Doors, a.rand)
	if err != nil {
		return Job{}, fmt.Errorf("create job: %w", err)
	}
	sealed, err := packet.Seal(pj, keys, u.KexKey, a.key.Sign)
	keys.Wipe()
	if err != nil {
		return Job{}, fmt.Errorf("create job: %w", err)
	}
	j := Job{
		ID: id, Building: spec.Building, Address: spec.Address, Doors: slices.Clone(spec.Doors),
		AccessHours: spec.AccessHours, Incentive: spec.Incentive, Terms: spec.Terms,
		Installer: u.Name, CreatedAt: now, ExpiresAt: pj.ExpiresAt, Packet: sealed,
	}
	if err := a.store.CreateJob(ctx, j); err != nil {
		return Job{}, fmt.Errorf("create job: %w", err)
	}
	return j, nil
}

// Jobs lists jobs, newest first; installer "" means all.
func (a *Admin) Jobs(ctx context.Context, installer string) ([]Job, error) {
	js, err := a.store.Jobs(ctx, installer)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	return js, nil
}

// Records lists stored records, oldest first.
func (a *Admin) Records(ctx context.Context, f RecordFilter) ([]Record, error) {
	if f.Limit < 0 {
		return nil, fmt.Errorf("list records: %w: limit %d", ErrInvalid, f.Limit)
	}
	rs, err := a.store.Records(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("list records: %w", err)
	}
	return rs, nil
}

// Units lists the units the hub has heard of, by serial.
func (a *Admin) Units(ctx context.Context) ([]Unit, error) {
	us, err := a.store.Units(ctx)
	if err != nil {
		return nil, fmt.Errorf("list units: %w", err)
	}
	return us, nil
}

// DenyUnit puts a unit on the denylist installers pull with their jobs, so
// nobody pairs it or burns keys into it; a second call updates the reason.
func (a *Admin) DenyUnit(ctx context.Context, serial, reason string) (DeniedUnit, error) {
	reason = strings.TrimSpace(reason)
	switch {
	case !serialPattern.MatchString(serial):
		return DeniedUnit{}, fmt.Errorf("deny unit: %w: serial %q (want 1-128 of A-Z a-z 0-9 . _ : -)", ErrInvalid, serial)
	case reason == "":
		return DeniedUnit{}, fmt.Errorf("deny unit %s: %w: give a reason; installers see it", serial, ErrInvalid)
	case len(reason) > maxText:
		return DeniedUnit{}, fmt.Errorf("deny unit %s: %w: reason longer than %d bytes", serial, ErrInvalid, maxText)
	}
	d := DeniedUnit{Serial: serial, Reason: reason, DeniedAt: a.now().UTC()}
	if err := a.store.DenyUnit(ctx, d); err != nil {
		return DeniedUnit{}, fmt.Errorf("deny unit %s: %w", serial, err)
	}
	return d, nil
}

func checkName(name string) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("%w: user name %q (want 1-64 of a-z 0-9 . _ -, starting with a letter or digit)", ErrInvalid, name)
	}
	return nil
}

// checkJobSpec validates spec and fills in its default TTL.
func checkJobSpec(spec *JobSpec) error {
	spec.Building = strings.TrimSpace(spec.Building)
	spec.Address = strings.TrimSpace(spec.Address)
	spec.Incentive = strings.TrimSpace(spec.Incentive)
	spec.Terms = strings.TrimSpace(spec.Terms)
	if spec.Incentive == "" {
		spec.Incentive = "none"
	}
	if spec.Terms == "" {
		spec.Terms = DefaultTerms
	}
	if _, err := incentive.Parse(spec.Incentive); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	switch {
	case spec.Building == "":
		return fmt.Errorf("%w: no building", ErrInvalid)
	case spec.Address == "":
		return fmt.Errorf("%w: no address", ErrInvalid)
	case spec.Installer == "":
		return fmt.Errorf("%w: no installer", ErrInvalid)
	case len(spec.Doors) == 0:
		return fmt.Errorf("%w: no doors (name at least one, e.g. 'lobby')", ErrInvalid)
	case len(spec.Doors) > MaxDoors:
		return fmt.Errorf("%w: %d doors, at most %d", ErrInvalid, len(spec.Doors), MaxDoors)
	}
	for field, v := range map[string]string{"building": spec.Building, "address": spec.Address, "access hours": spec.AccessHours, "incentive": spec.Incentive, "terms": spec.Terms} {
		if len(v) > maxText {
			return fmt.Errorf("%w: %s longer than %d bytes", ErrInvalid, field, maxText)
		}
	}
	for i, d := range spec.Doors {
		if strings.TrimSpace(d) == "" || d != strings.TrimSpace(d) || len(d) > 64 {
			return fmt.Errorf("%w: door %d %q (want 1-64 characters, no surrounding spaces)", ErrInvalid, i+1, d)
		}
		if slices.Contains(spec.Doors[:i], d) {
			return fmt.Errorf("%w: door %q named twice", ErrInvalid, d)
		}
	}
	if err := checkName(spec.Installer); err != nil {
		return err
	}
	if spec.TTL == 0 {
		spec.TTL = DefaultJobTTL
	}
	if spec.TTL < time.Hour || spec.TTL > MaxJobTTL {
		return fmt.Errorf("%w: job lifetime %s (want 1h to %s)", ErrInvalid, spec.TTL, MaxJobTTL)
	}
	return nil
}

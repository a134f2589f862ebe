// Package wizard is the full-screen install wizard of `latchkey install` and
// `latchkey demo`, and its --plain line mode for screen readers and dumb
// terminals: job → survey → pair → self-test → burn → consent → notice →
// upload. The screens only collect input and show results; every step is a
// call on a Driver (internal/install/flow), which saves it before it
// returns, so the wizard can be left anywhere and resumed.
package wizard

import (
	"context"

	"github.com/latchkey/latchkey/internal/install"
	"github.com/latchkey/latchkey/internal/install/flow"
	"github.com/latchkey/latchkey/internal/provision"
	"github.com/latchkey/latchkey/internal/survey"
)

// Driver is what the wizard drives: the install flow (*flow.Flow).
type Driver interface {
	Jobs(ctx context.Context) ([]flow.JobItem, error)
	Resume(ctx context.Context) (string, error)
	Status(ctx context.Context, job string) (install.Status, error)
	Job(ctx context.Context, job string) (install.Job, error)

	SurveyDraft(ctx context.Context, job string) (survey.Survey, error)
	CheckSurvey(ctx context.Context, job string, s survey.Survey) ([]survey.Problem, error)
	SaveSurvey(ctx context.Context, job string, s survey.Survey, photos []flow.PhotoInput) (install.Saved, error)
	OverrideSurvey(ctx context.Context, job, reason string) (install.Saved, error)

	Pair(ctx context.Context, job string, confirm func(ctx context.Context, label string) (bool, error)) (flow.PairResult, error)
	MeasureSignal(ctx context.Context, job string) (flow.PairResult, error)
	SelfTest(ctx context.Context, job string, relay bool) (flow.SelfTest, error)
	BurnPlan(ctx context.Context, job string) (flow.BurnPlan, error)
	Burn(ctx context.Context, job string, progress func(provision.SlotResult)) (provision.BurnResult, error)

	ConsentDefaults() flow.ConsentInput
	Terms(ctx context.Context, job string, in flow.ConsentInput) (flow.Terms, error)
	SignConsent(ctx context.Context, job string, in flow.ConsentInput, shown flow.Terms, s flow.Signer, typed string) (install.StoredConsent, error)
	Consent(ctx context.Context, job string) (install.StoredConsent, error)

	NoticeDefaults() install.NoticeInput
	PrintNotice(ctx context.Context, job string, in install.NoticeInput) (flow.Printed, error)
	RecordNotice(ctx context.Context, job string, in install.NoticeInput, g flow.Given) (install.Notice, error)
	Gate(ctx context.Context, job string) (install.GateResult, error)

	Finish(ctx context.Context, job string) (string, error)
	Upload(ctx context.Context, progress func(done, total int)) (flow.Upload, error)
}

var _ Driver = (*flow.Flow)(nil)

// Options set the wizard up.
type Options struct {
	// Job is the job to install ("" to pick one); Resume continues the
	// last unfinished install (Driver.Resume).
	Job    string
	Resume bool
	// Tour adds short hints for a new installer on each screen.
	Tour    bool
	NoColor bool
	// Demo is true under `latchkey demo`: the screens say the unit and the
	// back office are simulated.
	Demo bool
	// BoxLabel is the label code printed on the unit's box when the
	// wizard knows it (the demo's virtual unit); the pair screen shows it
	// beside the one the unit reports.
	BoxLabel string
}

// Result is where the wizard left the install.
type Result struct {
	Job      string // "" when no job was chosen
	Finished bool   // the install report is queued
	Report   string // its record id
	Upload   flow.Upload
	Uploaded bool // the upload step ran
}

package wizard

import (
	"context"
	"errors"

	"github.com/latchkey/latchkey/internal/consent"
	"github.com/latchkey/latchkey/internal/device"
	"github.com/latchkey/latchkey/internal/install"
	"github.com/latchkey/latchkey/internal/install/flow"
	"github.com/latchkey/latchkey/internal/provision"
	"github.com/latchkey/latchkey/internal/survey"
)

// rule is what to do next after the errors is matches, in the words of
// each mode: on the full screen (keys r and esc) and in --plain mode
// (answers r and q). One table serves both, so the two never disagree on
// what to do.
type rule struct {
	is           func(error) bool
	screen, line string
}

// isAny matches errors that wrap one of targets.
func isAny(targets ...error) func(error) bool {
	return func(err error) bool {
		for _, t := range targets {
			if errors.Is(err, t) {
				return true
			}
		}
		return false
	}
}

// attemptsOrDeadline matches a unit that did not answer: every attempt of a
// request, or the step's deadline, ran out.
func attemptsOrDeadline(err error) bool {
	var ae *device.AttemptsError
	return errors.As(err, &ae) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, device.ErrTimeout)
}

// rules are tried in order; the first that matches speaks.
var rules = []rule{
	{isAny(ErrQuit),
		"You left the install. Run 'latchkey install --resume' to continue where you left off.",
		"run 'latchkey install --resume' to continue where you left off"},
	{isAny(flow.ErrNothingToResume),
		"Pick a job from the list.",
		"pick a job from the list"},
	{isAny(context.Canceled),
		"The step was stopped before it finished. Press r to run it again: finished steps are kept.",
		"the step was stopped before it finished: answer r to run it again; finished steps are kept"},
	{isAny(flow.ErrLabelMismatch, provision.ErrLabel),
		"Do not install this unit: put it back in its box and report it to your operator. To pair another unit, connect it and press r.",
		"check that the unit on the cable came out of this box; answer r to compare the codes again, or q to stop, and do not install a unit whose code does not match: report it to your operator"},
	{isAny(flow.ErrWrongUnit, provision.ErrOtherUnit),
		"Connect the unit that was paired for this job (its serial is in the message above), then press r.",
		"connect the unit paired with this job (the message names its serial number) and answer r to retry"},
	{isAny(flow.ErrNameMismatch),
		"The signer must type their own name as entered on the signer screen (case and spaces do not matter). Press esc and type it again.",
		"type the signer's name exactly as given (case and spaces do not matter); answer r to try again; nothing was signed"},
	{isAny(flow.ErrTermsChanged),
		"The terms changed since the manager read them. Press r to show the new terms; the manager reads them again before signing.",
		"the facts behind the terms changed since they were read: answer r to show the new terms and have the manager read them again"},
	{isAny(errPlainNotAgreed),
		"Nothing was signed. Press esc to go through the terms again with the manager.",
		"nothing was signed; answer r to go through the terms again with the manager, or q to stop here (the install waits at the consent)"},
	{isAny(errPlainNoAuthority),
		"Only the owner, the managing agent or a board member may sign: come back with one of them.",
		"only the owner, the managing agent or a board member may sign: answer q and come back with one of them, or r if they are here now"},
	{isAny(install.ErrConsentNotReady),
		"A step before the consent is not done (the message says which): press esc, finish it (the step list shows where you are), then come back.",
		"the survey must say go, the unit must be paired and every door key burned before the manager signs: do the step the message names first"},
	{isAny(install.ErrSelfTestFailed),
		"The install cannot go on until the unit passes its self-test: fix what failed, then run the self-test again.",
		"fix what the failed test names (tamper switch, supply, antenna), then run 'latchkey install --resume' to test again; do not fit a unit that keeps failing"},
	{isAny(install.ErrNotReady),
		"A step before this one is not done (the message says which): press esc and finish it; the step list shows which steps are done.",
		"a step before this one is not done: answer q and see 'latchkey install status' for which"},
	{isAny(survey.ErrNoGo),
		"The survey says no-go: edit the survey, or override it with a written reason, before going on.",
		"the survey says no-go: edit the survey, or override it with a written reason, before going on"},
	{isAny(survey.ErrPendingSignal),
		"The survey waits for the signal reading: pair the unit at its mount point first.",
		"the survey waits for the signal reading: pair the unit at its mount point first"},
	{isAny(install.ErrNoOverride),
		"Press esc and write the reason out: who decided, and why it is safe (at least 10 characters).",
		"write out who decided to go ahead and why it is safe (at least 10 characters)"},
	{isAny(install.ErrConsentRevoked),
		"The building revoked its consent: do not re-sign on the spot. The unit must be decommissioned ('latchkey unit decommission'), and a new consent needs a new job from the office.",
		"do not re-sign on the spot: decommission the unit ('latchkey unit decommission') and ask the office for a new job"},
	{isAny(install.ErrConsented),
		"This job has a signed consent already: nothing more to sign. Press esc to go on.",
		"this job's consent is signed already: nothing more to sign"},
	{isAny(install.ErrSurveyLocked),
		"The signed consent names this survey, so it cannot change here. Press esc to keep the saved survey.",
		"the signed consent names the saved survey, so it cannot change: keep it"},
	{isAny(consent.ErrInvalid),
		"Press esc and correct the field the message names, then try again.",
		"correct the answer the message names: answer r to enter it again; nothing was kept"},
	{isAny(survey.ErrNotImage, survey.ErrPhotoTooLarge),
		"Press esc and give the path of a JPEG, PNG, HEIC or WebP photo (at most 20 MB), or clear the photo path.",
		"give the path of a JPEG, PNG, HEIC or WebP photo of at most 20 MB: answer r to enter it again"},
	{isAny(provision.ErrDenied, provision.ErrQuarantined, provision.ErrChainInvalid, provision.ErrUnknownRoot,
		provision.ErrCertExpired, provision.ErrKeyUsage, provision.ErrSerialMismatch, provision.ErrKeyMismatch,
		provision.ErrNonceMismatch, provision.ErrBadSignature, provision.ErrBadReceipt, provision.ErrKCVMismatch,
		provision.ErrReceiptMismatch),
		"Do not install this unit: follow the message above and report the unit to your operator. Finished steps are kept.",
		"do what the message says; do not install a unit that fails its checks: report it to your operator"},
	{isAny(device.ErrDisconnected, device.ErrClosed),
		"Reconnect the cable and press r to try again: finished steps are kept.",
		"reconnect the cable and answer r to retry"},
	{attemptsOrDeadline,
		"Reconnect the cable, check the unit has power, and press r to try again: finished steps are kept.",
		"check the cable and that the unit has power, then answer r to retry"},
}

// advice says what to do next after err: in --plain mode's words when
// plain. An error that knows its own next step (a command-line hint) says
// it; anything else may be tried again.
func advice(err error, plain bool) string {
	if err == nil {
		return ""
	}
	for _, r := range rules {
		if r.is(err) {
			if plain {
				return r.line
			}
			return r.screen
		}
	}
	var hinted interface{ NextStep() string }
	if errors.As(err, &hinted) && hinted.NextStep() != "" {
		return hinted.NextStep()
	}
	if plain {
		return "answer r to try again, or q to stop here: what was done is kept and 'latchkey install --resume' continues"
	}
	return "Press r to try again: finished steps are kept. If it happens again, note the message and run 'latchkey install status' for the next step."
}

// errorAdvice is what the full screen says under an error.
func errorAdvice(err error) string { return advice(err, false) }

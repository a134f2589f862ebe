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

// errorAdvice says what to do next after err, from the errors the domain
// names; anything else may be tried again.
func errorAdvice(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return "The step was stopped before it finished. Press r to run it again: finished steps are kept."
	case errors.Is(err, flow.ErrLabelMismatch), errors.Is(err, provision.ErrLabel):
		return "Do not install this unit: put it back in its box and report it to your operator. To pair another unit, connect it and press r."
	case errors.Is(err, flow.ErrWrongUnit), errors.Is(err, provision.ErrOtherUnit):
		return "Connect the unit that was paired for this job (its serial is in the message above), then press r."
	case errors.Is(err, install.ErrSelfTestFailed):
		return "The install cannot go on until the unit passes its self-test: fix what failed, then run the self-test again."
	case errors.Is(err, install.ErrConsentNotReady):
		return "A step before the consent is not done (the message says which): press esc, finish it (the step list shows where you are), then come back."
	case errors.Is(err, install.ErrNotReady):
		return "A step before this one is not done (the message says which): press esc and finish it; the step list shows which steps are done."
	case errors.Is(err, flow.ErrNameMismatch):
		return "The signer must type their own name as entered on the signer screen (case and spaces do not matter). Press esc and type it again."
	case errors.Is(err, flow.ErrTermsChanged):
		return "The terms changed since the manager read them. Press r to show the new terms; the manager reads them again before signing."
	case errors.Is(err, consent.ErrInvalid):
		return "Press esc and correct the field the message names, then try again."
	case errors.Is(err, install.ErrConsented):
		return "This job has a signed consent already: nothing more to sign. Press esc to go on."
	case errors.Is(err, install.ErrSurveyLocked):
		return "The signed consent names this survey, so it cannot change here. Press esc to keep the saved survey."
	case errors.Is(err, install.ErrNoOverride):
		return "Press esc and write the reason out: who decided, and why it is safe (at least 10 characters)."
	case errors.Is(err, survey.ErrNotImage), errors.Is(err, survey.ErrPhotoTooLarge):
		return "Press esc and give the path of a JPEG, PNG, HEIC or WebP photo (at most 20 MB), or clear the photo path."
	case errors.Is(err, provision.ErrDenied), errors.Is(err, provision.ErrQuarantined),
		errors.Is(err, provision.ErrChainInvalid), errors.Is(err, provision.ErrUnknownRoot),
		errors.Is(err, provision.ErrCertExpired), errors.Is(err, provision.ErrKeyUsage),
		errors.Is(err, provision.ErrSerialMismatch), errors.Is(err, provision.ErrKeyMismatch),
		errors.Is(err, provision.ErrNonceMismatch), errors.Is(err, provision.ErrBadSignature),
		errors.Is(err, provision.ErrBadReceipt), errors.Is(err, provision.ErrKCVMismatch),
		errors.Is(err, provision.ErrReceiptMismatch):
		return "Do not install this unit: follow the message above and report the unit to your operator. Finished steps are kept."
	case linkError(err):
		return "Reconnect the cable and press r to try again: finished steps are kept."
	}
	// An error that knows its own next step (a command-line hint).
	var hinted interface{ NextStep() string }
	if errors.As(err, &hinted) && hinted.NextStep() != "" {
		return hinted.NextStep()
	}
	return "Press r to try again: finished steps are kept. If it happens again, note the message and run 'latchkey install status' for the next step."
}

// linkError reports whether err is the cable or the unit not answering.
func linkError(err error) bool {
	var ae *device.AttemptsError
	return errors.As(err, &ae) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, device.ErrDisconnected) || errors.Is(err, device.ErrTimeout) || errors.Is(err, device.ErrClosed)
}

// Package install will own the install session: the state machine keyed by
// job id that takes an installer from job to survey, pairing, self-test, key
// burning, consent, tenant notice and upload, saved after every step so that
// the commands and the wizard can be mixed and resumed after a kill, a sleep
// or a pulled cable. It has no behaviour yet; the install-journey issue
// builds it.
package install

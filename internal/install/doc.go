// Package install owns the installer's side of a job: the jobs pulled from
// the back office (their signed, sealed packets kept as issued) and the unit
// denylist that comes with them. The install session itself — the state
// machine keyed by job id that takes an installer from job to survey,
// pairing, self-test, key burning, consent, tenant notice and upload, saved
// after every step — comes with the install-journey issue.
package install

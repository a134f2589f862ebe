// Package provision will own trust at install time: verifying a unit's
// attestation chain to the manufacturer root over a fresh nonce, sealing
// building keys with HPKE to the unit's attested key, and verifying the
// receipts the unit signs. It has no behaviour yet; the provisioning issue
// builds it.
package provision

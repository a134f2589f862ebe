// Package provision owns trust at install time: attestation of units
// against the manufacturer roots this laptop trusts (VerifyAttestation,
// TrustStore), the sealed-key format in which building keys are burned
// into a unit (SealKey, OpenKey: HPKE to the unit's attested X25519 key,
// bound to its serial, the slot, the job and the burn nonce), key check
// values (CMAC, KCV), and verification of the receipts a unit signs after a
// burn (VerifyReceipt). Pairing and burn sessions, which drive a unit
// through these steps, build on them here.
//
// Nothing is trusted implicitly: a root is trusted only once added to a
// TrustStore, and the simulator's test root never is (roots/production.pem.txt).
package provision

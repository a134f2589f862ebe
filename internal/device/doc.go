// Package device is latchkey's typed client for an access unit: it turns
// calls such as [Unit.Identity], [Unit.Burn] and [Unit.ImageUpload] into SMP
// requests over an [smp.Client] and the unit's answers into Go values and
// errors an installer can act on. Callers above it never see frames,
// sequence numbers or CBOR.
//
// The unit speaks the standard MCUmgr groups (OS, image, statistics,
// settings) and latchkey's own group 64. docs/protocol.md is the
// specification of both as a unit implements them; proto.go holds the same
// schema as Go types, shared with the virtual unit (internal/sim), so the
// two ends cannot drift apart silently.
//
// What the package checks is the shape of what the unit says: lengths,
// presence of members, ranges. Whether the unit is genuine (certificate
// chains, signatures over nonces and receipts) is decided in
// internal/provision, from the bytes this package hands it; proto.go defines
// exactly which bytes are signed.
package device

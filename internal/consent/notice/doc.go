// Package notice makes the tenant notice of an installation and holds the
// rules around it: the one-page notice itself (plain text and PDF, English
// and Spanish), the content check that proves every required item is in it,
// the signed `notice` record in which the installer says how the notice was
// given, and the courier gate that keeps courier access off until tenants
// have been told.
//
// A unit on the front door changes who can walk into a building, and the
// people who live there are the ones most often left uninformed (DESIGN.md,
// the problem). So the notice is built from the same facts the building
// manager agreed to in the consent, in words a tenant can follow, and the
// gate (CourierAllowed) is one pure function shared by the laptop and the
// back office so both refuse the same cases. docs/notice.md describes the
// items, the record and the rule.
//
// The package is domain only: no command line, no store. It does not import
// internal/consent; the caller copies the consent's terms into Facts and
// the consent's "tenant notice by" date into CourierAllowed.
package notice

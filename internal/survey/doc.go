// Package survey owns the building survey an installer makes before a unit
// is fitted: its typed schema (building, entrances with their door hardware
// and intercom, power, mounting spot, the cellular signal the paired unit
// measured there, photos, hazards, notes), reading it strictly from JSON or
// YAML, validation in the installer's words, the feasibility rules that give
// a go / go-with-conditions / no-go / pending-signal verdict with reasons,
// the content-addressed photo store, and the payload of the signed survey
// record.
//
// It stores nothing in a database and queues nothing: the command line and
// the install session call it, keep the survey with the job and put Record's
// payload in the outbox. The file format is documented in docs/survey.md and
// docs/survey.schema.json.
package survey

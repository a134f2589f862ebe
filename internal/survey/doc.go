// Package survey will own the building survey: its typed schema (entrances,
// door hardware, intercom, power, mounting spot, signal, photos), validation,
// and the feasibility rules that give a go / go-with-conditions / no-go /
// pending-signal verdict with reasons. It has no behaviour yet; the
// install-journey issue builds it.
package survey

// Package fw is `latchkey fw`: the firmware images in a unit's MCUboot
// slots, uploading a new one (validated before it is sent, resumed after a
// dropped link, verified after), and testing, confirming and resetting.
// The protocol work lives in internal/device; these commands turn flags into
// calls on it and its answers into tables or JSON.
package fw

import (
	"bytes"
	"context"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/internal/cli/cmdutil"
	"github.com/latchkey/latchkey/internal/cli/unitopt"
	"github.com/latchkey/latchkey/internal/device"
)

// NewCmdFw groups the firmware verbs.
func NewCmdFw(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "fw",
		Short: "Manage the firmware images on a unit",
		Long: `Manage the firmware images in a unit's two MCUboot slots: slot 0 holds the
running image, slot 1 the one uploaded next. A new image is uploaded to slot 1,
tested (the unit boots it once and reverts on the following reset unless it is
confirmed) and then confirmed, so a bad image never bricks a unit.`,
		Example: `  latchkey fw list
  latchkey fw upload latchkey-1.4.0.signed.bin --confirm --wait
  latchkey fw confirm`,
	}
	cmd.AddCommand(
		NewCmdList(f, nil), NewCmdUpload(f, nil), NewCmdTest(f, nil),
		NewCmdConfirm(f, nil), NewCmdReset(f, nil),
	)
	return cmd
}

// opener opens the link to the unit lazily, so flag errors never touch a
// port.
type opener func(ctx context.Context) (*unitopt.Link, error)

func openWith(f *cmdutil.Factory, fl *unitopt.Flags) opener {
	return func(ctx context.Context) (*unitopt.Link, error) { return unitopt.Open(ctx, f, *fl) }
}

// Slot is one image slot as the commands print it; its JSON form is stable
// for scripts.
type Slot struct {
	Image     uint32 `json:"image"`
	Slot      uint32 `json:"slot"`
	Version   string `json:"version"`
	Hash      string `json:"hash"`
	Bootable  bool   `json:"bootable"`
	Pending   bool   `json:"pending"`
	Confirmed bool   `json:"confirmed"`
	Active    bool   `json:"active"`
	Permanent bool   `json:"permanent"`
}

func slotsOf(in []device.ImageSlot) []Slot {
	out := make([]Slot, len(in))
	for i, s := range in {
		out[i] = Slot{Image: s.Image, Slot: s.Slot, Version: s.Version, Hash: hex.EncodeToString(s.Hash),
			Bootable: s.Bootable, Pending: s.Pending, Confirmed: s.Confirmed, Active: s.Active, Permanent: s.Permanent}
	}
	return out
}

// flags lists a slot's state words, e.g. "active, confirmed".
func (s Slot) flags() string {
	var f []string
	for _, x := range []struct {
		on   bool
		word string
	}{{s.Active, "active"}, {s.Confirmed, "confirmed"}, {s.Pending, "pending"}, {s.Permanent, "permanent"}} {
		if x.on {
			f = append(f, x.word)
		}
	}
	return strings.Join(f, ", ")
}

// shortHash is how a hash is shown in a table: enough to tell images apart
// and to pass to 'fw test', which accepts a prefix.
func shortHash(h string) string {
	if len(h) > 16 {
		return h[:16]
	}
	return h
}

// writeSlots prints slots as a table (or tab-separated when piped).
func writeSlots(io *cmdutil.IO, slots []Slot) error {
	rows := make([][]string, len(slots))
	for i, s := range slots {
		rows[i] = []string{itoa(s.Image), itoa(s.Slot), s.Version, shortHash(s.Hash), s.flags()}
	}
	return cmdutil.Table(io, []string{"IMAGE", "SLOT", "VERSION", "HASH", "STATE"}, rows)
}

func itoa(n uint32) string { return strconv.FormatUint(uint64(n), 10) }

// findSlot returns the slot whose hash is hash.
func findSlot(slots []device.ImageSlot, hash []byte) (device.ImageSlot, bool) {
	for _, s := range slots {
		if bytes.Equal(s.Hash, hash) {
			return s, true
		}
	}
	return device.ImageSlot{}, false
}

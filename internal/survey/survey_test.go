package survey

import (
	"time"
)

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

// sample is a valid survey of a two-door building whose verdict is go:
// every test case changes one thing of it.
func sample() Survey {
	return Survey{
		Version:  Version,
		Job:      "job-42",
		Building: Building{Address: "12 Elm Street", Floors: 5, Units: 24},
		Entrances: []Entrance{
			{
				Name: "lobby", DoorType: DoorSwing, Hardware: HardwareStrikeFailSecure,
				ReleaseVoltage: Voltage12VDC, LockWiring: LockWiring2Wire,
				Intercom:       Intercom{Make: "Comelit", Model: "1602", Wiring: IntercomWiring2Wire, ReleaseWired: true},
				ExistingAccess: "fob reader",
			},
			{
				Name: "garage", DoorType: DoorGate, Hardware: HardwareMotorLock,
				ReleaseVoltage: Voltage24VAC, LockWiring: LockWiring4Wire,
				Intercom: Intercom{Wiring: IntercomWiringMultiWire, ReleaseWired: true},
			},
		},
		Power: Power{Source: PowerMains, DistanceM: 3.5},
		Mount: Mount{Location: "lobby intercom back box", Indoor: true},
		Signal: &Signal{
			RSSIDBm: ptr(-71), RSRPDBm: ptr(-98),
			MeasuredAt: time.Date(2026, 3, 1, 14, 30, 0, 0, time.UTC), Unit: "LK1-000123",
		},
		Photos: []Photo{{
			File:    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08.jpg",
			SHA256:  "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
			Caption: "intercom panel, cover off",
		}},
		Hazards:   []string{},
		Notes:     "Super on site Tue-Thu.\nKey in the key safe.",
		UpdatedAt: time.Date(2026, 3, 1, 15, 0, 0, 0, time.UTC),
	}
}

var sampleDoors = []string{"lobby", "garage"}

// Package sim is the virtual unit: the far end of internal/smp, serving the
// standard SMP groups of a Zephyr/MCUboot device on a pseudo-terminal, so
// that every command that talks to a unit can be trained on and tested
// without hardware.
//
// A [Unit] is the unit's persistent memory (identity, image slots, the
// upload in progress, settings, event log), kept in memory or in a state
// directory written crash-safely. [Serve] puts a unit on a pty behind a
// stable symlink, paces the line like a UART when asked, and injects the
// faults of [Faults]: line noise, dropped bytes, console chatter, stalls,
// reboots and cable pulls, all reproducible from a seed.
//
// The groups follow Zephyr's SMP group documentation
// (doc/services/device_mgmt/smp_groups/smp_group_{0,1,2,3}.rst) and, where
// it is silent, the behaviour of Zephyr's img_mgmt and os_mgmt; the slots
// behave like MCUboot in swap mode with revert (mcu-tools/mcuboot
// docs/design.md).
package sim

// Package smp implements the wire side of the MCUmgr Simple Management
// Protocol (SMP) as Zephyr and MCUboot devices speak it over a serial line:
// the CRC16 and base64 framing of the SMP serial transport, the 8-byte SMP
// header, message encoding, CBOR bodies and the SMP error objects; and both
// ends of a conversation over any byte stream: a [Client] that matches
// responses to requests by sequence number with a deadline on every request
// and several in flight, and a [Server] that dispatches requests to handlers
// by group and command (the virtual unit's side).
//
// It owns bytes on the wire and nothing else: it knows nothing of latchkey's
// domain (units, keys, installs), opens no ports, keeps no package-level
// mutable state and never logs. Input it cannot use is dropped and reported
// to the caller through [DecoderOptions.OnDiscard] and [Decoder.Stats], so a
// unit printing log lines on the same port does not break the stream.
//
// The specifications followed are Zephyr's "SMP Protocol Specification"
// (doc/services/device_mgmt/smp_protocol.rst), "SMP Transport Specification",
// section "UART/serial and console" (smp_transport.rst), and the error codes
// of include/zephyr/mgmt/mcumgr/mgmt/mgmt_defines.h. Comments cite them as
// [protocol] and [transport].
package smp

package smp

import (
	"context"
	"fmt"
)

// GroupOS is the default/OS management group ([protocol] "Management Group
// ID's"; smp_groups/smp_group_0.rst).
const GroupOS uint16 = 0

// Command ids of the OS group (smp_group_0.rst).
const (
	OSEcho      uint8 = 0
	OSTaskStats uint8 = 2
	OSMemPool   uint8 = 3
	OSDateTime  uint8 = 4
	OSReset     uint8 = 5
	OSParams    uint8 = 6
	OSInfo      uint8 = 7
)

// EchoRequest and EchoResponse are the bodies of the OS echo command.
type (
	EchoRequest struct {
		D string `cbor:"d"`
	}
	EchoResponse struct {
		R string `cbor:"r"`
	}
)

// Params are the MCUmgr parameters a unit reports (OS command 6): the size
// of one SMP buffer, which bounds a whole SMP message (header and data), and
// how many such buffers the unit has, which bounds requests in flight.
type Params struct {
	BufSize  uint32 `cbor:"buf_size"`
	BufCount uint32 `cbor:"buf_count"`
}

// Echo sends s to the unit's echo command and returns the unit's reply. It
// uses the write op, which every MCUmgr server accepts for echo.
func (c *Client) Echo(ctx context.Context, s string) (string, error) {
	rsp, err := c.Do(ctx, Request{Op: OpWrite, Group: GroupOS, ID: OSEcho, Body: EchoRequest{D: s}})
	if err != nil {
		return "", fmt.Errorf("echo: %w", err)
	}
	r, err := decodeEcho(rsp.Body)
	if err != nil {
		return "", fmt.Errorf("echo: %w", err)
	}
	return r, nil
}

func decodeEcho(body []byte) (string, error) {
	var v struct {
		R *string `cbor:"r"`
	}
	if err := DecodeResponse(body, &v); err != nil {
		return "", err
	}
	if v.R == nil {
		return "", fmt.Errorf("%w: echo response without \"r\"", ErrBody)
	}
	return *v.R, nil
}

// Params reads the unit's MCUmgr parameters (OS command 6).
func (c *Client) Params(ctx context.Context) (Params, error) {
	rsp, err := c.Do(ctx, Request{Op: OpRead, Group: GroupOS, ID: OSParams})
	if err != nil {
		return Params{}, fmt.Errorf("mcumgr parameters: %w", err)
	}
	p, err := decodeParams(rsp.Body)
	if err != nil {
		return Params{}, fmt.Errorf("mcumgr parameters: %w", err)
	}
	return p, nil
}

// decodeParams requires both members and rejects values no real unit could
// have: a buffer smaller than an SMP header, or no buffers at all.
func decodeParams(body []byte) (Params, error) {
	var v struct {
		BufSize  *uint32 `cbor:"buf_size"`
		BufCount *uint32 `cbor:"buf_count"`
	}
	if err := DecodeResponse(body, &v); err != nil {
		return Params{}, err
	}
	switch {
	case v.BufSize == nil || v.BufCount == nil:
		return Params{}, fmt.Errorf("%w: parameters response without buf_size or buf_count", ErrBody)
	case *v.BufSize <= HeaderSize:
		return Params{}, fmt.Errorf("%w: buf_size %d is not larger than the smp header", ErrBody, *v.BufSize)
	case *v.BufCount == 0:
		return Params{}, fmt.Errorf("%w: buf_count is 0", ErrBody)
	}
	return Params{BufSize: *v.BufSize, BufCount: *v.BufCount}, nil
}

package sim

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/smp"
)

// Params are the MCUmgr parameters the unit advertises (OS command 6).
type Params struct {
	BufSize  int
	BufCount int
}

// Firmware defaults, as stated for the unit in docs/protocol.md.
const (
	DefaultBufSize  = 2048
	DefaultBufCount = 4
)

// Command ids of the image, statistics and settings groups.
const (
	imgState    uint8 = 0
	imgUpload   uint8 = 1
	imgErase    uint8 = 5
	imgSlotInfo uint8 = 6

	statRead uint8 = 0
	statList uint8 = 1

	settingsRW     uint8 = 0
	settingsDelete uint8 = 1
	settingsCommit uint8 = 2
)

// Extension adds commands to the unit's server: the latchkey custom group
// (64, designed in internal/device) plugs in here. It is called once per
// [Serve], after the standard groups are registered; its handlers keep
// their persistent data through [Unit.Update] (State.Ext) and may log
// events with [Unit.LogEvent].
type Extension func(u *Unit, s *smp.Server)

// Register adds the standard groups' handlers to s: OS (echo, task
// statistics, date-time, reset, parameters, info), image management (state,
// upload, erase, slot info), statistics (read, list) and settings (read,
// write, delete, commit). A reset request is only recorded; the link that
// serves s acts on it (see [Unit.TakeReset]).
func (u *Unit) Register(s *smp.Server, p Params) {
	if p.BufSize <= 0 {
		p.BufSize = DefaultBufSize
	}
	if p.BufCount <= 0 {
		p.BufCount = DefaultBufCount
	}
	echo := func(_ context.Context, req smp.Message) (any, error) {
		var v struct {
			D *string `cbor:"d"`
		}
		if err := smp.DecodeCBOR(req.Body, &v); err != nil || v.D == nil {
			return nil, smp.MgmtInval
		}
		return map[string]string{"r": *v.D}, nil
	}
	s.Handle(groupOS, smp.OSEcho, smp.OpRead, echo)
	s.Handle(groupOS, smp.OSEcho, smp.OpWrite, echo)
	s.Handle(groupOS, smp.OSTaskStats, smp.OpRead, u.taskStats)
	s.Handle(groupOS, smp.OSDateTime, smp.OpRead, u.dateTimeRead)
	s.Handle(groupOS, smp.OSDateTime, smp.OpWrite, u.dateTimeWrite)
	s.Handle(groupOS, smp.OSReset, smp.OpWrite, func(context.Context, smp.Message) (any, error) {
		u.resetRequested.Store(true)
		return nil, nil
	})
	s.Handle(groupOS, smp.OSParams, smp.OpRead, func(context.Context, smp.Message) (any, error) {
		return map[string]int{"buf_size": p.BufSize, "buf_count": p.BufCount}, nil
	})
	s.Handle(groupOS, smp.OSInfo, smp.OpRead, u.info)

	s.Handle(groupImage, imgState, smp.OpRead, u.imageStateRead)
	s.Handle(groupImage, imgState, smp.OpWrite, u.imageStateWrite)
	s.Handle(groupImage, imgUpload, smp.OpWrite, u.upload)
	s.Handle(groupImage, imgErase, smp.OpWrite, u.erase)
	s.Handle(groupImage, imgSlotInfo, smp.OpRead, u.slotInfo)

	s.Handle(groupStats, statRead, smp.OpRead, u.statsRead)
	s.Handle(groupStats, statList, smp.OpRead, u.statsList)

	s.Handle(groupSettings, settingsRW, smp.OpRead, u.settingsRead)
	s.Handle(groupSettings, settingsRW, smp.OpWrite, u.settingsWrite)
	s.Handle(groupSettings, settingsDelete, smp.OpWrite, u.settingsDelete)
	s.Handle(groupSettings, settingsCommit, smp.OpWrite, func(context.Context, smp.Message) (any, error) { return nil, nil })
}

// TakeReset reports whether a reset was requested since the last call.
func (u *Unit) TakeReset() bool { return u.resetRequested.Swap(false) }

// emptyMap accepts a request body that must be a CBOR map (commands
// without arguments); anything else is EINVAL.
func emptyMap(body []byte) error {
	var m map[string]any
	if err := smp.DecodeCBOR(body, &m); err != nil {
		return smp.MgmtInval
	}
	return nil
}

// task is one row of the task statistics; the values are what a small
// Zephyr application on a Cortex-M33 shows.
type task struct {
	Prio    uint   `cbor:"prio"`
	TID     uint   `cbor:"tid"`
	State   uint   `cbor:"state"`
	StkUse  uint   `cbor:"stkuse"`
	StkSiz  uint   `cbor:"stksiz"`
	CswCnt  uint64 `cbor:"cswcnt"`
	Runtime uint64 `cbor:"runtime"`
	LastChk uint   `cbor:"last_checkin"`
	NextChk uint   `cbor:"next_checkin"`
}

func (u *Unit) taskStats(_ context.Context, req smp.Message) (any, error) {
	if err := emptyMap(req.Body); err != nil {
		return nil, err
	}
	u.mu.Lock()
	up := uint64(u.now().Sub(u.started) / time.Millisecond)
	u.mu.Unlock()
	rows := []struct {
		name            string
		prio, stk, used uint
		switchesPerSec  uint64
		runtimePermille uint64
	}{
		{"idle", 15, 80, 18, 900, 870},
		{"main", 0, 512, 210, 2, 4},
		{"mcumgr", 3, 1024, 610, 40, 60},
		{"modem", 5, 768, 402, 20, 30},
		{"door", 2, 384, 150, 5, 1},
		{"logging", 14, 256, 96, 30, 35},
	}
	tasks := make(map[string]task, len(rows))
	for i, r := range rows {
		tasks[r.name] = task{
			Prio: r.prio, TID: uint(i + 1), State: 1, StkUse: r.used, StkSiz: r.stk,
			CswCnt: r.switchesPerSec * up / 1000, Runtime: r.runtimePermille * up / 1000,
		}
	}
	return map[string]any{"tasks": tasks}, nil
}

// dateTimeLayout is the date-time command's format,
// yyyy-MM-dd'T'HH:mm:ss.SSSSSSZZZZZ (smp_group_0.rst).
const dateTimeLayout = "2006-01-02T15:04:05.000000-07:00"

func (u *Unit) dateTimeRead(_ context.Context, req smp.Message) (any, error) {
	if err := emptyMap(req.Body); err != nil {
		return nil, err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return map[string]string{"datetime": u.clockLocked().UTC().Format(dateTimeLayout)}, nil
}

func (u *Unit) dateTimeWrite(_ context.Context, req smp.Message) (any, error) {
	var v struct {
		DateTime *string `cbor:"datetime"`
	}
	if err := smp.DecodeCBOR(req.Body, &v); err != nil || v.DateTime == nil {
		return nil, smp.MgmtInval
	}
	t, err := parseDateTime(*v.DateTime)
	if err != nil {
		return nil, smp.MgmtInval
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.st.ClockOffset = t.Sub(u.now())
	u.logLocked("clock", "set to "+t.UTC().Format(time.RFC3339))
	if err := u.saveLocked(); err != nil {
		return nil, fmt.Errorf("save clock: %w", err)
	}
	return nil, nil
}

// parseDateTime accepts the command's format with or without fraction and
// zone, as Zephyr does; a time without a zone is UTC.
func parseDateTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("bad date-time")
}

func (u *Unit) info(_ context.Context, req smp.Message) (any, error) {
	var v struct {
		Format *string `cbor:"format"`
	}
	if err := smp.DecodeCBOR(req.Body, &v); err != nil {
		return nil, smp.MgmtInval
	}
	format := "s"
	if v.Format != nil && *v.Format != "" {
		format = *v.Format
	}
	id := u.Identity()
	u.mu.Lock()
	fw := u.st.Slots[0].Version
	u.mu.Unlock()
	// Fields come out in their natural order whatever the order asked
	// (smp_group_0.rst, "OS/Application Info").
	fields := []struct {
		c   byte
		val string
	}{
		{'s', "Zephyr"},
		{'n', strings.ToLower(id.Serial)},
		{'r', "3.7.0"},
		{'v', "latchkey-" + fw},
		{'b', "Mon Jan  6 09:00:00 2025"},
		{'m', "arm"},
		{'p', "cortex-m33"},
		{'i', strings.ToLower(id.Model) + "_rev" + strings.ToLower(id.HWRev)},
		{'o', "Zephyr"},
	}
	want := map[byte]bool{}
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c == 'a' {
			for _, f := range fields {
				want[f.c] = true
			}
			continue
		}
		if !slices.ContainsFunc(fields, func(f struct {
			c   byte
			val string
		}) bool {
			return f.c == c
		}) {
			return nil, groupErr(groupOS, osErrInvalidFormat)
		}
		want[c] = true
	}
	var out []string
	for _, f := range fields {
		if want[f.c] {
			out = append(out, f.val)
		}
	}
	return map[string]string{"output": strings.Join(out, " ")}, nil
}

// imageEntry is one element of the image state list (smp_group_1.rst,
// "Get state of images response").
type imageEntry struct {
	Image     uint   `cbor:"image"`
	Slot      uint   `cbor:"slot"`
	Version   string `cbor:"version"`
	Hash      []byte `cbor:"hash"`
	Bootable  bool   `cbor:"bootable,omitempty"`
	Pending   bool   `cbor:"pending,omitempty"`
	Confirmed bool   `cbor:"confirmed,omitempty"`
	Active    bool   `cbor:"active,omitempty"`
	Permanent bool   `cbor:"permanent,omitempty"`
}

func (u *Unit) imageListLocked() map[string]any {
	images := []imageEntry{}
	for i, s := range u.st.Slots {
		if s.empty() {
			continue // only valid images are listed
		}
		images = append(images, imageEntry{
			Slot: uint(i), Version: s.Version, Hash: s.Hash, Bootable: true,
			Pending: s.Pending, Permanent: s.Pending && s.Permanent,
			Confirmed: s.Confirmed, Active: i == 0,
		})
	}
	return map[string]any{"images": images, "splitStatus": 0}
}

func (u *Unit) imageStateRead(_ context.Context, req smp.Message) (any, error) {
	if err := emptyMap(req.Body); err != nil {
		return nil, err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.imageListLocked(), nil
}

func (u *Unit) imageStateWrite(_ context.Context, req smp.Message) (any, error) {
	var v struct {
		Hash    []byte `cbor:"hash"`
		Confirm bool   `cbor:"confirm"`
	}
	if err := smp.DecodeCBOR(req.Body, &v); err != nil {
		return nil, smp.MgmtInval
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	s := &u.st
	switch {
	case v.Hash == nil && !v.Confirm:
		return nil, smp.MgmtInval
	case v.Hash == nil || bytes.Equal(v.Hash, s.Slots[0].Hash):
		if !v.Confirm {
			return nil, groupErr(groupImage, imgErrTestToActiveDenied)
		}
		if !s.Slots[0].Confirmed {
			s.Slots[0].Confirmed, s.Slots[1].Confirmed = true, false
			u.logLocked("confirm", s.Slots[0].Version)
		}
	case !s.Slots[1].empty() && bytes.Equal(v.Hash, s.Slots[1].Hash):
		if !s.Slots[0].Confirmed && !v.Confirm {
			// The running image is itself on test: finish that first.
			return nil, groupErr(groupImage, imgErrImageAlreadyPending)
		}
		s.Slots[1].Pending, s.Slots[1].Permanent = true, v.Confirm
		if v.Confirm {
			u.logLocked("pending", "permanent "+s.Slots[1].Version)
		} else {
			u.logLocked("pending", "test "+s.Slots[1].Version)
		}
	default:
		return nil, groupErr(groupImage, imgErrHashNotFound)
	}
	if err := u.saveLocked(); err != nil {
		return nil, groupErr(groupImage, imgErrFlashWriteFailed)
	}
	return u.imageListLocked(), nil
}

// uploadRequest is the image upload request (smp_group_1.rst, "Image
// upload request"). Pointers tell absent fields from zero ones.
type uploadRequest struct {
	Image   *uint64 `cbor:"image"`
	Len     *uint64 `cbor:"len"`
	Off     *uint64 `cbor:"off"`
	SHA     []byte  `cbor:"sha"`
	Data    []byte  `cbor:"data"`
	Upgrade bool    `cbor:"upgrade"`
}

// upload writes one chunk into the secondary slot. The rules, after
// Zephyr's img_mgmt_upload and its bug history:
//
//   - off 0 starts an upload (len required) or, when sha and len match
//     the upload in progress, resumes it: the answer is the unit's offset
//     and nothing is written;
//   - any other off must equal the unit's offset, else the answer is the
//     unit's offset (0 when no upload is in progress, so the client starts
//     over with the first-chunk fields) and nothing is written;
//   - a chunk running past len, a failed flash write, or a failed
//     verification answers an error and leaves the offset where it was
//     (verification failure ends the upload and leaves the slot empty), so
//     the next request sees a consistent state.
func (u *Unit) upload(_ context.Context, req smp.Message) (any, error) {
	var r uploadRequest
	if err := smp.DecodeCBOR(req.Body, &r); err != nil || r.Off == nil || r.Data == nil {
		return nil, smp.MgmtInval
	}
	if r.Image != nil && *r.Image != 0 {
		return nil, groupErr(groupImage, imgErrInvalidSlot)
	}
	if len(r.SHA) > 32 {
		return nil, groupErr(groupImage, imgErrInvalidHash)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	up := &u.st.Upload
	reply := func(off int) map[string]any { return map[string]any{"off": off} }

	if *r.Off == 0 {
		if r.Len == nil {
			return nil, groupErr(groupImage, imgErrInvalidLength)
		}
		if *r.Len < ImageHeaderSize {
			return nil, groupErr(groupImage, imgErrInvalidImageHeader)
		}
		if *r.Len > uint64(u.slotSize) {
			return nil, groupErr(groupImage, imgErrImageTooLarge)
		}
		size := int(*r.Len)
		resume := up.Active && len(r.SHA) > 0 && bytes.Equal(r.SHA, up.SHA) && size == up.Size
		if resume && up.Off > 0 {
			return reply(up.Off), nil
		}
		if !resume {
			if err := u.startUploadLocked(r, size); err != nil {
				return nil, err
			}
		}
	} else {
		if !up.Active {
			return reply(0), nil
		}
		if *r.Off != uint64(up.Off) {
			return reply(up.Off), nil
		}
	}
	if len(r.Data) > up.Size-up.Off {
		return nil, groupErr(groupImage, imgErrImageDataOverrun)
	}
	if err := u.writeFlash(up.Off, r.Data); err != nil {
		return nil, groupErr(groupImage, imgErrFlashWriteFailed)
	}
	up.Off += len(r.Data)
	if err := u.saveLocked(); err != nil {
		up.Off -= len(r.Data)
		return nil, groupErr(groupImage, imgErrFlashWriteFailed)
	}
	u.count("img", "chunks")
	u.add("img", "bytes", uint64(len(r.Data)))
	if up.Off < up.Size {
		return reply(up.Off), nil
	}
	return u.finishUploadLocked()
}

// startUploadLocked checks a first chunk and erases the secondary slot for
// a new upload of size bytes.
func (u *Unit) startUploadLocked(r uploadRequest, size int) error {
	up := &u.st.Upload
	if sl := u.st.Slots[1]; sl.Pending || (sl.Confirmed && !u.st.Slots[0].Confirmed) {
		return groupErr(groupImage, imgErrNoFreeSlot)
	}
	if len(r.Data) >= ImageHeaderSize {
		if binary.LittleEndian.Uint32(r.Data) != ImageMagic {
			return groupErr(groupImage, imgErrInvalidImageHeaderMagic)
		}
		if r.Upgrade {
			v := Version{Major: r.Data[20], Minor: r.Data[21], Revision: binary.LittleEndian.Uint16(r.Data[22:]), Build: binary.LittleEndian.Uint32(r.Data[24:])}
			if cur, err := VerifyImage(u.images[0]); err == nil && !cur.Version.Less(v) {
				return groupErr(groupImage, imgErrCurrentVersionIsNewer)
			}
		}
	}
	// Start over: erase the secondary slot.
	u.st.Slots[1] = Slot{}
	u.images[1] = nil
	*up = Upload{Active: true, Size: size, SHA: bytes.Clone(r.SHA)}
	u.partial = make([]byte, size)
	u.logLocked("upload", fmt.Sprintf("start, %d bytes", size))
	if err := u.saveLocked(); err != nil {
		*up = Upload{}
		return groupErr(groupImage, imgErrFlashWriteFailed)
	}
	return nil
}

// finishUploadLocked verifies a complete upload. Either the secondary slot
// holds a verified image or it is left empty; the upload ends both ways.
func (u *Unit) finishUploadLocked() (any, error) {
	up := u.st.Upload
	img := u.partial
	fail := func(code int, why string) (any, error) {
		u.st.Upload, u.partial = Upload{}, nil
		u.count("img", "verify_fail")
		u.logLocked("upload", "rejected: "+why)
		_ = u.saveLocked()
		return nil, groupErr(groupImage, code)
	}
	match := false
	if len(up.SHA) == 32 {
		if !bytes.Equal(sha256Sum(img), up.SHA) {
			return fail(imgErrInvalidHash, "sha does not match the data")
		}
		match = true
	}
	info, err := VerifyImage(img)
	if err != nil {
		code := imgErrUnknown
		var ie *imageError
		if errors.As(err, &ie) {
			code = ie.code
		}
		return fail(code, err.Error())
	}
	u.st.Slots[1] = Slot{File: slotFile(info.Hash), Hash: info.Hash, Version: info.Version.String(), Size: len(img)}
	u.images[1] = img
	u.st.Upload, u.partial = Upload{}, nil
	u.logLocked("upload", "complete, "+info.Version.String())
	if err := u.saveLocked(); err != nil {
		return nil, groupErr(groupImage, imgErrFlashWriteFailed)
	}
	rsp := map[string]any{"off": up.Size}
	if match {
		rsp["match"] = true
	}
	return rsp, nil
}

func (u *Unit) erase(_ context.Context, req smp.Message) (any, error) {
	var v struct {
		Slot *uint64 `cbor:"slot"`
	}
	if err := smp.DecodeCBOR(req.Body, &v); err != nil {
		return nil, smp.MgmtInval
	}
	if v.Slot != nil && *v.Slot != 1 {
		return nil, groupErr(groupImage, imgErrInvalidSlot)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if sl := u.st.Slots[1]; sl.Pending || (sl.Confirmed && !u.st.Slots[0].Confirmed) {
		return nil, groupErr(groupImage, imgErrImageAlreadyPending)
	}
	u.st.Slots[1], u.images[1] = Slot{}, nil
	u.st.Upload, u.partial = Upload{}, nil
	u.logLocked("erase", "slot 1")
	if err := u.saveLocked(); err != nil {
		return nil, groupErr(groupImage, imgErrFlashWriteFailed)
	}
	return nil, nil
}

func (u *Unit) slotInfo(_ context.Context, req smp.Message) (any, error) {
	if err := emptyMap(req.Body); err != nil {
		return nil, err
	}
	return map[string]any{"images": []any{map[string]any{
		"image":          0,
		"slots":          []any{map[string]int{"slot": 0, "size": u.slotSize}, map[string]int{"slot": 1, "size": u.slotSize}},
		"max_image_size": u.slotSize,
	}}}, nil
}

func (u *Unit) statsList(_ context.Context, req smp.Message) (any, error) {
	if err := emptyMap(req.Body); err != nil {
		return nil, err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return map[string]any{"stat_list": slices.Sorted(maps.Keys(u.stats))}, nil
}

func (u *Unit) statsRead(_ context.Context, req smp.Message) (any, error) {
	var v struct {
		Name *string `cbor:"name"`
	}
	if err := smp.DecodeCBOR(req.Body, &v); err != nil || v.Name == nil {
		return nil, smp.MgmtInval
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	g, ok := u.stats[*v.Name]
	if !ok {
		return nil, groupErr(groupStats, statErrInvalidGroup)
	}
	fields := maps.Clone(g)
	if *v.Name == "boot" {
		fields["boots"] = u.st.Boots
	}
	return map[string]any{"name": *v.Name, "fields": fields}, nil
}

func (u *Unit) settingsRead(_ context.Context, req smp.Message) (any, error) {
	var v struct {
		Name    *string `cbor:"name"`
		MaxSize *uint64 `cbor:"max_size"`
	}
	if err := smp.DecodeCBOR(req.Body, &v); err != nil || v.Name == nil {
		return nil, smp.MgmtInval
	}
	if len(*v.Name) > maxSettingName {
		return nil, groupErr(groupSettings, settingsErrKeyTooLong)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	val, ok := u.st.Settings[*v.Name]
	if !ok {
		return nil, groupErr(groupSettings, settingsErrKeyNotFound)
	}
	rsp := map[string]any{}
	if v.MaxSize != nil && *v.MaxSize < uint64(len(val)) {
		val = val[:*v.MaxSize]
	}
	if v.MaxSize != nil && *v.MaxSize > maxSettingValue {
		rsp["max_size"] = maxSettingValue
	}
	rsp["val"] = bytes.Clone(val)
	return rsp, nil
}

func (u *Unit) settingsWrite(_ context.Context, req smp.Message) (any, error) {
	var v struct {
		Name *string `cbor:"name"`
		Val  []byte  `cbor:"val"`
	}
	if err := smp.DecodeCBOR(req.Body, &v); err != nil || v.Name == nil || v.Val == nil || *v.Name == "" {
		return nil, smp.MgmtInval
	}
	if len(*v.Name) > maxSettingName {
		return nil, groupErr(groupSettings, settingsErrKeyTooLong)
	}
	if len(v.Val) > maxSettingValue {
		return nil, smp.MgmtInval
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	old, had := u.st.Settings[*v.Name]
	u.st.Settings[*v.Name] = bytes.Clone(v.Val)
	u.logLocked("setting", *v.Name)
	if err := u.saveLocked(); err != nil {
		if had {
			u.st.Settings[*v.Name] = old
		} else {
			delete(u.st.Settings, *v.Name)
		}
		return nil, fmt.Errorf("save setting: %w", err)
	}
	return nil, nil
}

func (u *Unit) settingsDelete(_ context.Context, req smp.Message) (any, error) {
	var v struct {
		Name *string `cbor:"name"`
	}
	if err := smp.DecodeCBOR(req.Body, &v); err != nil || v.Name == nil {
		return nil, smp.MgmtInval
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	old, ok := u.st.Settings[*v.Name]
	if !ok {
		return nil, groupErr(groupSettings, settingsErrKeyNotFound)
	}
	delete(u.st.Settings, *v.Name)
	if err := u.saveLocked(); err != nil {
		u.st.Settings[*v.Name] = old
		return nil, fmt.Errorf("save setting: %w", err)
	}
	return nil, nil
}

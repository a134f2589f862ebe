package sim

import (
	"github.com/latchkey/latchkey/internal/smp"
)

// Standard group ids ([protocol] "Management Group ID's").
const (
	groupOS       uint16 = 0
	groupImage    uint16 = 1
	groupStats    uint16 = 2
	groupSettings uint16 = 3
)

// Group error codes (SMP version 2 "err" objects), from Zephyr's
// os_mgmt.h, img_mgmt.h, stat_mgmt.h and settings_mgmt.h. Only the ones the
// sim reports are listed.
const (
	osErrInvalidFormat = 2 // OS_MGMT_ERR_INVALID_FORMAT

	imgErrUnknown                 = 1  // IMG_MGMT_ERR_UNKNOWN
	imgErrNoImage                 = 3  // IMG_MGMT_ERR_NO_IMAGE
	imgErrNoTLVs                  = 4  // IMG_MGMT_ERR_NO_TLVS
	imgErrInvalidTLV              = 5  // IMG_MGMT_ERR_INVALID_TLV
	imgErrTLVMultipleHashes       = 6  // IMG_MGMT_ERR_TLV_MULTIPLE_HASHES_FOUND
	imgErrTLVInvalidSize          = 7  // IMG_MGMT_ERR_TLV_INVALID_SIZE
	imgErrHashNotFound            = 8  // IMG_MGMT_ERR_HASH_NOT_FOUND
	imgErrNoFreeSlot              = 9  // IMG_MGMT_ERR_NO_FREE_SLOT
	imgErrFlashWriteFailed        = 12 // IMG_MGMT_ERR_FLASH_WRITE_FAILED
	imgErrInvalidSlot             = 14 // IMG_MGMT_ERR_INVALID_SLOT
	imgErrInvalidLength           = 21 // IMG_MGMT_ERR_INVALID_LENGTH
	imgErrInvalidImageHeader      = 22 // IMG_MGMT_ERR_INVALID_IMAGE_HEADER
	imgErrInvalidImageHeaderMagic = 23 // IMG_MGMT_ERR_INVALID_IMAGE_HEADER_MAGIC
	imgErrInvalidHash             = 24 // IMG_MGMT_ERR_INVALID_HASH
	imgErrCurrentVersionIsNewer   = 27 // IMG_MGMT_ERR_CURRENT_VERSION_IS_NEWER
	imgErrImageAlreadyPending     = 28 // IMG_MGMT_ERR_IMAGE_ALREADY_PENDING
	imgErrImageTooLarge           = 30 // IMG_MGMT_ERR_INVALID_IMAGE_TOO_LARGE
	imgErrImageDataOverrun        = 31 // IMG_MGMT_ERR_INVALID_IMAGE_DATA_OVERRUN
	imgErrTestToActiveDenied      = 33 // IMG_MGMT_ERR_IMAGE_SETTING_TEST_TO_ACTIVE_DENIED

	statErrInvalidGroup = 2 // STAT_MGMT_ERR_INVALID_GROUP

	settingsErrKeyTooLong  = 2 // SETTINGS_MGMT_ERR_KEY_TOO_LONG
	settingsErrKeyNotFound = 3 // SETTINGS_MGMT_ERR_KEY_NOT_FOUND
)

func groupErr(group uint16, rc int) error {
	return &smp.Error{Version: smp.V2, Group: group, RC: rc}
}

// translate maps a group error to the legacy code a version 1 request gets,
// as the groups' translation functions in Zephyr do (img_mgmt.c
// img_mgmt_translate_error_code and its siblings).
func translate(group uint16, rc int) smp.MgmtErr {
	switch group {
	case groupOS:
		if rc == osErrInvalidFormat {
			return smp.MgmtInval
		}
	case groupImage:
		switch rc {
		case imgErrNoImage, imgErrNoTLVs:
			return smp.MgmtNoEnt
		case imgErrNoFreeSlot, imgErrCurrentVersionIsNewer, imgErrImageAlreadyPending:
			return smp.MgmtBadState
		case imgErrInvalidSlot, imgErrInvalidLength, imgErrInvalidImageHeader, imgErrInvalidHash:
			return smp.MgmtInval
		}
	case groupStats:
		if rc == statErrInvalidGroup {
			return smp.MgmtNoEnt
		}
	case groupSettings:
		switch rc {
		case settingsErrKeyNotFound:
			return smp.MgmtNoEnt
		case settingsErrKeyTooLong:
			return smp.MgmtInval
		}
	}
	return smp.MgmtUnknown
}

package hub

import (
	"slices"

	"github.com/latchkey/latchkey/internal/hubapi"
	"github.com/latchkey/latchkey/internal/record"
)

// KindsFor lists the record kinds a role may make, the one table the hub
// holds them to (issue 5, intake): sales log visits; installers make
// everything an installation produces; support revokes and decommissions
// units. An unknown role may make nothing.
func KindsFor(role string) []record.Kind {
	switch role {
	case hubapi.RoleSales:
		return []record.Kind{record.KindVisit}
	case hubapi.RoleInstaller:
		return []record.Kind{
			record.KindSurvey, record.KindPairing, record.KindReceipt, record.KindConsent,
			record.KindNotice, record.KindRevocation, record.KindDecommission, record.KindInstallReport,
		}
	case hubapi.RoleSupport:
		return []record.Kind{record.KindRevocation, record.KindDecommission}
	}
	return nil
}

// MayMake reports whether a user with role may sign records of kind k.
func MayMake(role string, k record.Kind) bool { return slices.Contains(KindsFor(role), k) }

// validRole reports whether role is one of hubapi.Roles.
func validRole(role string) bool { return slices.Contains(hubapi.Roles(), role) }

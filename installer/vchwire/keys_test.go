package vchwire_test

import (
	"testing"

	"github.com/vice-engine/vice/installer/vchwire"
	"github.com/vice-engine/vice/tether/wire"
)

// TestKeysKeepTheirNames pins the guestinfo keys to the strings every deployed VCH already carries in its
// extraConfig: an endpoint written by an older vice-machine must still be found, configured and upgraded.
func TestKeysKeepTheirNames(t *testing.T) {
	for got, want := range map[string]string{
		vchwire.KeyAppliance:       "guestinfo.vice./appliance",
		vchwire.KeyApplianceTLS:    "guestinfo.vice./appliance.tls",
		vchwire.KeyApplianceDebug:  "guestinfo.vice./appliance.debug",
		vchwire.KeyApplianceStatus: "guestinfo.vice../appliance",
		vchwire.KeyVCHVersion:      "guestinfo.vice./vch.version",
		vchwire.KeyVCHPrevious:     "guestinfo.vice./vch.previous",
		vchwire.KeyPublicKey:       "guestinfo.vice./appliance.publickey",
		// ESXi's hidden key, as VIC used it: the value is in the .vmx, never in an API read.
		vchwire.KeySecretKey: "guestinfo.ovfEnv",
	} {
		if got != want {
			t.Errorf("key %q, want %q", got, want)
		}
	}
	// One namespace for both guests: the prefixes are tether/wire's.
	if vchwire.ConfigPrefix != wire.ConfigPrefix || vchwire.GuestPrefix != wire.GuestPrefix {
		t.Errorf("prefixes %q %q differ from tether/wire's %q %q",
			vchwire.ConfigPrefix, vchwire.GuestPrefix, wire.ConfigPrefix, wire.GuestPrefix)
	}
}

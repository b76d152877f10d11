package vch

import (
	"context"
	"errors"

	"github.com/vice-engine/vice/installer/vchwire"
)

// Debug turns SSH access to the endpoint on (for o.AuthorizedKeys) or off. The appliance reads
// vchwire.KeyApplianceDebug while it runs, so no restart is needed.
func (m *Manager) Debug(ctx context.Context, o DebugOptions) (*DebugResult, error) {
	if o.EnableSSH == o.DisableSSH {
		return nil, errors.New("give --enable-ssh (with --authorized-key FILE) or --disable-ssh")
	}
	if o.EnableSSH && len(o.AuthorizedKeys) == 0 {
		return nil, errors.New("--enable-ssh needs --authorized-key FILE: a public key file (such as ~/.ssh/id_ed25519.pub) for the appliance's root")
	}
	ctx, s, v, done, err := m.openVCH(ctx, o.CommonOptions)
	if err != nil {
		return nil, err
	}
	defer done()
	ep := m.endpoint(s, v, "")
	d := vchwire.ApplianceDebug{SSH: o.EnableSSH}
	if o.EnableSSH {
		d.AuthorizedKeys = o.AuthorizedKeys
	}
	if err := ep.reconfigure(ctx, map[string]string{vchwire.KeyApplianceDebug: mustJSON(d)}); err != nil {
		return nil, err
	}
	res := &DebugResult{SSH: d.SSH, Keys: len(d.AuthorizedKeys)}
	if v.Status != nil {
		res.IP = v.Status.IP
	}
	return res, nil
}

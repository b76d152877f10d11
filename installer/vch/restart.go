package vch

import (
	"context"

	"github.com/vice-engine/vice/installer/vchwire"
)

// restart is a power cycle of the endpoint VM with a new configuration (upgrade, rollback, configure):
// the containerVMs keep running meanwhile.
type restart struct {
	m    *Manager
	v    *VCH
	ep   *endpointVM
	tlsm *tlsMaterial
	// reissue installs the certificate folder's material even when the VCH's current certificate would do.
	reissue bool
}

func (m *Manager) newRestart(s *Session, v *VCH, files *dsFiles, tlsm *tlsMaterial) *restart {
	return &restart{m: m, v: v, ep: m.endpoint(s, v, files.path(v.Name+"/"+applianceLogName)), tlsm: tlsm}
}

// stop powers the appliance off.
func (r *restart) stop(ctx context.Context) error {
	r.m.log().Infof("Powering off the appliance %q", r.v.Name)
	return r.ep.powerOff(ctx)
}

// start writes changes (plus a cleared status and certificate, so the appliance reports afresh) and
// powers the appliance on, then waits for it as create does.
func (r *restart) start(ctx context.Context, changes map[string]string) (*vchwire.ApplianceStatus, error) {
	log := r.m.log()
	cur, _, err := r.ep.read(ctx)
	if err != nil {
		return nil, err
	}
	kv := map[string]string{}
	for k, v := range changes {
		if v == "" {
			if _, ok := cur[k]; !ok {
				continue // nothing to remove
			}
		}
		kv[k] = v
	}
	for _, k := range []string{vchwire.KeyApplianceStatus, vchwire.KeyApplianceTLS} {
		if _, ok := cur[k]; ok {
			kv[k] = ""
		}
	}
	for k, v := range endpointSettings {
		if cur[k] != v {
			kv[k] = v
		}
	}
	if err := r.ep.reconfigure(ctx, kv); err != nil {
		return nil, err
	}
	log.Infof("Powering on the appliance %q", r.v.Name)
	if err := r.ep.powerOn(ctx); err != nil {
		return nil, err
	}
	st, err := r.ep.waitIP(ctx)
	if err != nil {
		return st, err
	}
	if r.tlsm.mode != vchwire.TLSOff {
		var tv *vchwire.ApplianceTLS
		if !r.reissue && reusable(r.v.TLS, st.IP) {
			log.Infof("Reusing the VCH's server certificate for %s", st.IP)
			tv = r.v.TLS
		} else if tv, err = r.tlsm.install(st.IP, log); err != nil {
			return st, err
		}
		if err := r.ep.reconfigure(ctx, map[string]string{vchwire.KeyApplianceTLS: mustJSON(tv)}); err != nil {
			return st, err
		}
	}
	if st, err = r.ep.waitRunning(ctx); err != nil {
		return st, err
	}
	return st, r.m.pingDocker(ctx, st, r.tlsm)
}

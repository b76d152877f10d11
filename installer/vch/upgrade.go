package vch

import (
	"context"
	"encoding/json"
	"fmt"
	"path"

	"github.com/vice-engine/vice/installer/vchwire"
)

// savedVersion names the files an upgrade keeps of the version it replaces, in the VCH's datastore folder:
// "<name>/appliance-<version>.iso", "<name>/bootstrap-<version>.iso" and the appliance configuration of that
// version, "<name>/appliance-<version>.json".
type savedVersion struct{ appliance, bootstrap, config string }

func saved(name, version string) savedVersion {
	return savedVersion{
		appliance: path.Join(name, "appliance-"+version+".iso"),
		bootstrap: path.Join(name, "bootstrap-"+version+".iso"),
		config:    path.Join(name, "appliance-"+version+".json"),
	}
}

func (sv savedVersion) all() []string { return []string{sv.appliance, sv.bootstrap, sv.config} }

// Upgrade replaces the VCH's ISOs with o's and restarts the endpoint on them; the containerVMs keep running.
// The replaced version is kept for Rollback. A failed upgrade rolls back by itself (and its error is a
// Reported one).
func (m *Manager) Upgrade(ctx context.Context, o UpgradeOptions) (*UpgradeResult, error) {
	log := m.log()
	app, err := ReadISO(o.ApplianceISO)
	if err != nil {
		return nil, fmt.Errorf("appliance ISO: %w; give the new one with --appliance-iso", err)
	}
	boot, err := ReadISO(o.BootstrapISO)
	if err != nil {
		return nil, fmt.Errorf("bootstrap ISO: %w; give the new one with --bootstrap-iso", err)
	}
	ctx, s, v, done, err := m.openVCH(ctx, o.CommonOptions)
	if err != nil {
		return nil, err
	}
	defer done()
	old := v.Version
	if old == "" {
		old = v.Config.Version
	}
	if old == app.Version && !o.Force {
		log.Infof("VCH %q is already up to date (version %s); use --force to upgrade it to the same version anyway", v.Name, old)
		return &UpgradeResult{ID: v.ID, UpToDate: true, Version: old, Previous: v.Previous}, nil
	}
	if c, ok := CompareVersions(old, app.Version); ok && c > 0 && !o.Force {
		return nil, fmt.Errorf("VCH %q has version %s, newer than %s's %s: use the installer of that version, "+
			"`vice-machine upgrade --rollback`, or --force to install the older version", v.Name, old, app.Path, app.Version)
	}
	if app.Plugin(v.Config.Backend) == nil {
		return nil, fmt.Errorf("%s has no plugin %q, the VCH's backend (it has: %v); use an appliance ISO that has it", app.Path, v.Config.Backend, app.PluginNames())
	}
	tlsm, err := loadTLS(v, o.CertPath, nil)
	if err != nil {
		return nil, err
	}
	store, err := s.imageStore(ctx, v)
	if err != nil {
		return nil, err
	}
	files := s.files(v.Datacenter, store)
	r := m.newRestart(s, v, files, tlsm)

	log.Infof("Upgrading VCH %q from version %s to %s", v.Name, old, app.Version)
	if err := r.stop(ctx); err != nil {
		return nil, err
	}
	sv := saved(v.Name, old)
	log.Infof("Saving the ISOs and configuration of version %s", old)
	if err := files.copy(ctx, path.Join(v.Name, vchwire.ApplianceISO), sv.appliance); err != nil {
		return nil, m.restartAfterFailure(v, r, err)
	}
	if err := files.copy(ctx, path.Join(v.Name, bootstrapISOName), sv.bootstrap); err != nil {
		return nil, m.restartAfterFailure(v, r, err)
	}
	if err := files.uploadBytes(ctx, []byte(mustJSON(v.Config)), sv.config); err != nil {
		return nil, m.restartAfterFailure(v, r, err)
	}
	log.Infof("Uploading images for container")
	uploadErr := files.upload(ctx, app.Path, path.Join(v.Name, vchwire.ApplianceISO), log)
	if uploadErr == nil {
		uploadErr = files.upload(ctx, boot.Path, path.Join(v.Name, bootstrapISOName), log)
	}
	if uploadErr != nil {
		return nil, m.rollbackAfterFailure(o, v, r, files, old, uploadErr)
	}

	cfg := v.Config
	cfg.Version, cfg.Plugins = app.Version, app.registration(cfg.Backend)
	st, err := r.start(ctx, map[string]string{
		vchwire.KeyAppliance: mustJSON(cfg), vchwire.KeyVCHVersion: app.Version, vchwire.KeyVCHPrevious: old,
	})
	if err != nil {
		return nil, m.rollbackAfterFailure(o, v, r, files, old, err)
	}
	// The version before the one just saved is no longer reachable: remove its files.
	if v.Previous != "" && v.Previous != old && v.Previous != app.Version {
		for _, f := range saved(v.Name, v.Previous).all() {
			_ = files.remove(ctx, f)
		}
	}
	log.Infof("Upgrade of VCH %q to version %s succeeded", v.Name, app.Version)
	return &UpgradeResult{ID: v.ID, Version: app.Version, Previous: old, Access: tlsm.access(v.Name, st)}, nil
}

// restartAfterFailure powers the unchanged appliance on again after a failure before anything changed.
func (m *Manager) restartAfterFailure(v *VCH, r *restart, cause error) error {
	m.log().Errorf("Upgrade failed: %v", cause)
	ctx, cancel := cleanupContext()
	defer cancel()
	m.log().Infof("Powering the appliance %q on again, unchanged", v.Name)
	if err := r.ep.powerOn(ctx); err != nil {
		m.log().Errorf("%v", err)
	}
	return reportedError{fmt.Errorf("upgrade failed: %w; the VCH is unchanged", cause)}
}

// rollbackAfterFailure returns the VCH to the version it had before a failed upgrade.
func (m *Manager) rollbackAfterFailure(o UpgradeOptions, v *VCH, r *restart, files *dsFiles, old string, cause error) error {
	m.log().Errorf("Upgrade failed: %v", cause)
	m.log().Infof("Rolling back VCH %q to version %s", v.Name, old)
	ctx, cancel := withTimeout(context.Background(), o.Timeout)
	defer cancel()
	_ = r.stop(ctx)
	if _, err := m.restoreVersion(ctx, r, files, old, v.Config, v.Previous); err != nil {
		return reportedError{fmt.Errorf("upgrade failed: %w\nand rolling back to %s failed too: %v\n"+
			"retry with `vice-machine upgrade --rollback`, or look at the appliance's console log %s", cause, old, err, r.ep.console)}
	}
	m.log().Infof("Rolled back to version %s", old)
	return reportedError{fmt.Errorf("upgrade to the new version failed and VCH %q was rolled back to %s: %w", v.Name, old, cause)}
}

// restoreVersion puts the saved ISOs of version back in place, with cfg as the configuration and previous
// as the version a later rollback returns to ("" for none), and starts the appliance on them.
func (m *Manager) restoreVersion(ctx context.Context, r *restart, files *dsFiles, version string, cfg vchwire.ApplianceConfig,
	previous string) (*vchwire.ApplianceStatus, error) {
	sv := saved(r.v.Name, version)
	if err := files.copy(ctx, sv.appliance, path.Join(r.v.Name, vchwire.ApplianceISO)); err != nil {
		return nil, err
	}
	if err := files.copy(ctx, sv.bootstrap, path.Join(r.v.Name, bootstrapISOName)); err != nil {
		return nil, err
	}
	return r.start(ctx, map[string]string{
		vchwire.KeyAppliance: mustJSON(cfg), vchwire.KeyVCHVersion: version, vchwire.KeyVCHPrevious: previous,
	})
}

// Rollback returns the VCH to the version before its last upgrade, with that version's configuration. Of o
// it uses the VCH and the certificate folder.
func (m *Manager) Rollback(ctx context.Context, o UpgradeOptions) (*UpgradeResult, error) {
	log := m.log()
	ctx, s, v, done, err := m.openVCH(ctx, o.CommonOptions)
	if err != nil {
		return nil, err
	}
	defer done()
	prev := v.Previous
	if prev == "" {
		return nil, fmt.Errorf("VCH %q has no previous version to roll back to: a rollback undoes the last `vice-machine upgrade`", v.Name)
	}
	store, err := s.imageStore(ctx, v)
	if err != nil {
		return nil, err
	}
	files := s.files(v.Datacenter, store)
	sv := saved(v.Name, prev)
	for _, f := range sv.all() {
		ok, err := files.exists(ctx, f)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("the saved file %s of version %s is missing, so the VCH cannot be rolled back; upgrade it with that version's ISOs instead", files.path(f), prev)
		}
	}
	data, err := files.download(ctx, sv.config)
	if err != nil {
		return nil, err
	}
	var cfg vchwire.ApplianceConfig
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("the saved configuration %s is unreadable: %w", files.path(sv.config), err)
	}
	tlsm, err := loadTLS(v, o.CertPath, nil)
	if err != nil {
		return nil, err
	}
	r := m.newRestart(s, v, files, tlsm)
	log.Infof("Rolling back VCH %q from version %s to %s", v.Name, v.Version, prev)
	if err := r.stop(ctx); err != nil {
		return nil, err
	}
	st, err := m.restoreVersion(ctx, r, files, prev, cfg, "")
	if err != nil {
		return nil, fmt.Errorf("rollback to %s failed: %w\nthe saved files are kept; retry `vice-machine upgrade --rollback`", prev, err)
	}
	for _, f := range sv.all() {
		_ = files.remove(ctx, f)
	}
	log.Infof("Rollback of VCH %q to version %s succeeded", v.Name, prev)
	return &UpgradeResult{ID: v.ID, Version: prev, Access: tlsm.access(v.Name, st)}, nil
}

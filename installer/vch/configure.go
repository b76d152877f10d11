package vch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/vice-engine/vice/installer/certs"
	"github.com/vice-engine/vice/installer/vchwire"
)

// Configure changes a VCH. The pool limits change on the pool directly; every other change rewrites the
// appliance's configuration (and certificates) and restarts the endpoint, as upgrade does.
func (m *Manager) Configure(ctx context.Context, o ConfigureOptions) (*ConfigureResult, error) {
	log := m.log()
	ctx, s, v, done, err := m.openVCH(ctx, o.CommonOptions)
	if err != nil {
		return nil, err
	}
	defer done()

	cfg := cloneConfig(v.Config)
	var is issues
	changed := false
	for _, d := range o.DNS {
		if net.ParseIP(d) == nil {
			is.add(fmt.Errorf("--dns-server %q is not an IP address", d))
		}
	}
	if len(o.DNS) > 0 && !slices.Equal(o.DNS, cfg.DNS) {
		cfg.DNS = append([]string(nil), o.DNS...)
		changed = true
	}
	cas := registrySettings(&is, o.RegistryMirrors, o.WhitelistRegistries, o.RegistryCAFiles)
	for _, r := range []struct{ given, cur *[]string }{
		{&o.InsecureRegistries, &cfg.InsecureRegistries}, {&o.RegistryMirrors, &cfg.RegistryMirrors},
		{&o.WhitelistRegistries, &cfg.WhitelistRegistries},
	} {
		if len(*r.given) > 0 && !slices.Equal(*r.given, *r.cur) {
			*r.cur = append([]string(nil), *r.given...)
			changed = true
		}
	}
	if len(o.RegistryCAFiles) > 0 && cas != "" && cas != cfg.RegistryCAs {
		cfg.RegistryCAs, changed = cas, true
	}
	var newStores []plannedVolume
	var newNets []vchwire.ContainerNetwork
	for _, raw := range o.VolumeStores {
		vs, err := ParseVolumeStore(raw)
		if err != nil {
			is.add(err)
			continue
		}
		if cur, ok := cfg.VolumeStores[vs.Label]; ok {
			if cur != vs.URL() {
				is.add(fmt.Errorf("volume store %q is already %s: a store's location cannot change; give the new one another label", vs.Label, cur))
			}
			continue
		}
		newStores = append(newStores, plannedVolume{VolumeStore: vs})
	}
	for _, raw := range o.ContainerNetworks {
		n, err := ParseContainerNetwork(raw)
		if err != nil {
			is.add(err)
			continue
		}
		dup := false
		for _, cur := range cfg.ContainerNetworks {
			if cur.Alias == n.Alias {
				dup = true
				if cur.PortGroup != n.PortGroup {
					is.add(fmt.Errorf("container network %q is already port group %q; give the new one another name", n.Alias, cur.PortGroup))
				}
			}
		}
		if !dup {
			newNets = append(newNets, n)
		}
	}
	// The settings are the new networks': a network's addresses are fixed once containers may have them.
	is.add(o.ContainerNetworkSettings.apply(newNets, false))
	tlsChange := o.RegenerateCerts || o.CertPath != "" || len(o.CNames) > 0
	if tlsChange && cfg.TLS == vchwire.TLSOff {
		is.add(errors.New("the VCH runs without TLS (--no-tls); its certificates cannot be replaced"))
	}
	if err := is.err(); err != nil {
		return nil, err
	}
	poolChange := o.CPUMHz != nil || o.MemoryMB != nil
	if !poolChange && !changed && len(newStores) == 0 && len(newNets) == 0 && !tlsChange {
		return nil, errors.New("nothing to configure: give --cpu, --memory, --dns-server, --volume-store, --container-network, " +
			"--insecure-registry, --registry-mirror, --whitelist-registry, --registry-ca, --tls-cert-path, --tls-cname or --tls-regenerate")
	}

	// Validate what the new settings name before changing anything.
	var files *dsFiles
	if len(newStores) > 0 || len(newNets) > 0 {
		p, err := s.placementOf(ctx, v)
		if err != nil {
			return nil, err
		}
		if len(newStores) > 0 {
			avail, err := s.datastores(ctx, p)
			if err != nil {
				return nil, err
			}
			for i := range newStores {
				if newStores[i].NFS != "" {
					continue
				}
				newStores[i].ds, err = s.datastore(ctx, avail, newStores[i].Datastore, "--volume-store")
				is.add(err)
			}
		}
		if len(newNets) > 0 {
			nets, err := s.networkNames(ctx, p)
			if err != nil {
				return nil, err
			}
			for _, n := range newNets {
				_, err := s.network(ctx, nets, n.PortGroup, "--container-network")
				is.add(err)
			}
		}
		if err := is.err(); err != nil {
			return nil, err
		}
	}

	if poolChange {
		log.Infof("Updating the limits of %s %q", kind(v.Pool.Reference().Type), v.Pool.InventoryPath)
		if err := setPoolLimits(ctx, v.Pool, o.CPUMHz, o.MemoryMB); err != nil {
			return nil, err
		}
		if cpu, mem, err := poolLimits(ctx, v.Pool); err == nil {
			log.Infof("  %s", Limits{CPUMHz: cpu, MemoryMB: mem})
		}
	}
	for _, vs := range newStores {
		if vs.Path != "" {
			vf := s.files(v.Datacenter, vs.ds)
			exists, err := vf.exists(ctx, vs.Path)
			if err != nil {
				return nil, err
			}
			if !exists {
				log.Infof("Creating volume store %q at %s", vs.Label, vf.path(vs.Path))
				if err := vf.mkdir(ctx, vs.Path); err != nil {
					return nil, err
				}
			}
		}
		if cfg.VolumeStores == nil {
			cfg.VolumeStores = map[string]string{}
		}
		cfg.VolumeStores[vs.Label] = vs.URL()
		changed = true
	}
	if len(newNets) > 0 {
		cfg.ContainerNetworks = append(cfg.ContainerNetworks, newNets...)
		changed = true
	}
	if !changed && !tlsChange {
		return &ConfigureResult{}, nil
	}

	var tlsm *tlsMaterial
	if o.RegenerateCerts {
		f, err := certFolder(o.CertPath, v.Name)
		if err != nil {
			return nil, err
		}
		if err := moveAside(f, log); err != nil {
			return nil, err
		}
		if tlsm, err = prepareTLS(v.Name, cfg.TLS, TLSOptions{CertPath: f.Dir, CNames: o.CNames}, log); err != nil {
			return nil, err
		}
		tlsm.pub = v.PublicKey
	} else if tlsm, err = loadTLS(v, o.CertPath, o.CNames); err != nil {
		return nil, err
	}
	if files == nil {
		store, err := s.imageStore(ctx, v)
		if err != nil {
			return nil, err
		}
		files = s.files(v.Datacenter, store)
	}
	r := m.newRestart(s, v, files, tlsm)
	r.reissue = tlsChange
	if err := r.stop(ctx); err != nil {
		return nil, err
	}
	st, err := r.start(ctx, map[string]string{vchwire.KeyAppliance: mustJSON(cfg)})
	if err != nil {
		return nil, fmt.Errorf("the appliance did not come back with the new configuration: %w\n"+
			"run `vice-machine configure` again with the settings to fix, or `vice-machine inspect` to see the VCH", err)
	}
	log.Infof("VCH %q reconfigured", v.Name)
	return &ConfigureResult{Restarted: true, NewCertificates: tlsChange, Access: tlsm.access(v.Name, st)}, nil
}

// cloneConfig is a deep copy of the parts configure changes.
func cloneConfig(c vchwire.ApplianceConfig) vchwire.ApplianceConfig {
	out := c
	if c.VolumeStores != nil {
		out.VolumeStores = map[string]string{}
		for k, v := range c.VolumeStores {
			out.VolumeStores[k] = v
		}
	}
	out.ContainerNetworks = append([]vchwire.ContainerNetwork(nil), c.ContainerNetworks...)
	out.DNS = append([]string(nil), c.DNS...)
	out.InsecureRegistries = append([]string(nil), c.InsecureRegistries...)
	out.RegistryMirrors = append([]string(nil), c.RegistryMirrors...)
	out.WhitelistRegistries = append([]string(nil), c.WhitelistRegistries...)
	return out
}

// moveAside moves the certificate files of a folder into "old-<time>" inside it, so new ones can be made
// without losing the old.
func moveAside(f certs.Folder, log Progress) error {
	names := []string{certs.CAFile, certs.CAKeyFile, certs.ClientCertFile, certs.ClientKeyFile, certs.ServerCertFile, certs.ServerKeyFile}
	var present []string
	for _, n := range names {
		if f.Has(n) {
			present = append(present, n)
		}
	}
	if len(present) == 0 {
		return nil
	}
	old := filepath.Join(f.Dir, "old-"+time.Now().UTC().Format("20060102T150405Z"))
	if err := os.MkdirAll(old, 0o700); err != nil {
		return err
	}
	for _, n := range present {
		if err := os.Rename(f.Path(n), filepath.Join(old, n)); err != nil {
			return err
		}
	}
	log.Infof("Moved the old certificates to %s", old)
	return nil
}

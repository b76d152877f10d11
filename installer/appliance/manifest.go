package appliance

import (
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"

	"github.com/vice-engine/vice/core/pluginhost"
	"github.com/vice-engine/vice/installer/vchwire"
	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/transport"
)

// PluginArgs are the arguments the init gives a plugin: the VCH's place in vSphere from the config, the
// address containerVMs dial (this appliance's), then the record's own.
func PluginArgs(cfg *vchwire.ApplianceConfig, rec vchwire.PluginRecord, attachListen string) []string {
	var args []string // the target, with its password, travels in the manifest's environment (TargetEnv)
	if cfg.Thumbprint != "" {
		args = append(args, "--thumbprint", cfg.Thumbprint)
	}
	args = append(args, "--name", cfg.Name)
	for _, f := range []struct{ flag, value string }{
		{"--datacenter", cfg.Datacenter},
		{"--compute-resource", cfg.ComputeResource},
		{"--pool", cfg.Pool},
		{"--datastore", cfg.ImageStore},
	} {
		if f.value != "" {
			args = append(args, f.flag, f.value)
		}
	}
	// The volume stores, by label: the backend serves docker volumes from them.
	for _, label := range slices.Sorted(maps.Keys(cfg.VolumeStores)) {
		args = append(args, "--volume-store", cfg.VolumeStores[label]+":"+label)
	}
	args = append(args, "--attach-listen", attachListen)
	args = append(args, networkArgs(cfg, attachListen)...)
	if cfg.Debug {
		args = append(args, "--debug")
	}
	return append(args, rec.Args...)
}

// networkArgs are the plugin's network configuration (DESIGN §5a): the bridge port group and its range, the
// container networks, and the appliance's own address, where ports are published.
func networkArgs(cfg *vchwire.ApplianceConfig, attachListen string) []string {
	var args []string
	if cfg.BridgeNetwork != "" {
		args = append(args, "--bridge-network", cfg.BridgeNetwork)
	}
	if cfg.BridgeNetworkRange != "" {
		args = append(args, "--bridge-network-range", cfg.BridgeNetworkRange)
	}
	for _, n := range cfg.ContainerNetworks {
		args = append(args, "--container-network", n.PortGroup+":"+n.Alias)
		if n.Gateway != "" {
			args = append(args, "--container-network-gateway", n.PortGroup+":"+n.Gateway)
		}
		if n.IPRange != "" {
			args = append(args, "--container-network-ip-range", n.PortGroup+":"+n.IPRange)
		}
		for _, d := range n.DNS {
			args = append(args, "--container-network-dns", n.PortGroup+":"+d)
		}
		if n.Firewall != "" {
			args = append(args, "--container-network-firewall", n.PortGroup+":"+n.Firewall)
		}
	}
	if host, _, err := net.SplitHostPort(attachListen); err == nil && net.ParseIP(host) != nil && !net.ParseIP(host).IsUnspecified() {
		args = append(args, "--public-address", host)
	}
	return args
}

// Manifests are the plugin registrations vice-engine reads from its --plugins-dir, one per record of the
// config; target is the config's target with its password opened (the manifests stay in the appliance's
// memory, on its tmpfs). The installer registers the backend's plugin alone (vice-engine starts every plugin it finds, and
// each listens for the containerVMs' serial lines on the appliance's one attach address).
func Manifests(cfg *vchwire.ApplianceConfig, target, root, attachListen string) ([]pluginhost.Manifest, error) {
	backend := backendName(cfg)
	var out []pluginhost.Manifest
	found := false
	for _, rec := range cfg.Plugins {
		found = found || rec.Name == backend
		file, err := pluginPath(root, rec.File)
		if err != nil {
			return nil, fmt.Errorf("plugin %s: %w", rec.Name, err)
		}
		out = append(out, pluginhost.Manifest{
			Name: rec.Name, Path: file, SHA256: rec.SHA256, APIVersion: transport.APIVersion,
			Args: PluginArgs(cfg, rec, attachListen), Env: []string{sdk.TargetEnv + "=" + target},
		})
	}
	if !found {
		return nil, fmt.Errorf("backend %q is not a registered plugin", backend)
	}
	return out, nil
}

// backendName is the plugin vice-engine serves from: the configured one, or the only one.
func backendName(cfg *vchwire.ApplianceConfig) string {
	if cfg.Backend == "" && len(cfg.Plugins) == 1 {
		return cfg.Plugins[0].Name
	}
	return cfg.Backend
}

// writeManifests replaces the manifests in dir. They hold the target's credentials, so only root reads
// them.
func writeManifests(dir string, ms []pluginhost.Manifest) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, m := range ms {
		b, err := json.MarshalIndent(&m, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, m.Name+".json"), append(b, '\n'), 0o600); err != nil {
			return err
		}
	}
	return nil
}

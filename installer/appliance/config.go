package appliance

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/vice-engine/vice/core/pluginhost"
	"github.com/vice-engine/vice/installer/vchwire"
)

// validPluginName is core/pluginhost's rule for plugin names.
var validPluginName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// errNoConfig says the VM has no appliance config (yet).
var errNoConfig = errors.New("no appliance config in guestinfo (" + vchwire.KeyAppliance + ")")

// parseConfig reads and checks the config value v (empty when the key is not set); every plugin must be a
// file of root.
func parseConfig(v, root string) (*vchwire.ApplianceConfig, error) {
	if strings.TrimSpace(v) == "" {
		return nil, errNoConfig
	}
	var cfg vchwire.ApplianceConfig
	if err := json.Unmarshal([]byte(v), &cfg); err != nil {
		return nil, fmt.Errorf("appliance config: %w", err)
	}
	if err := checkConfig(&cfg, root); err != nil {
		return nil, fmt.Errorf("appliance config: %w", err)
	}
	return &cfg, nil
}

func checkConfig(cfg *vchwire.ApplianceConfig, root string) error {
	switch {
	case cfg.Name == "":
		return errors.New("no VCH name")
	case cfg.Target == "":
		return errors.New("no target")
	case cfg.TLS != vchwire.TLSVerify && cfg.TLS != vchwire.TLSServer && cfg.TLS != vchwire.TLSOff:
		return fmt.Errorf("tls is %q; want %s, %s or %s", cfg.TLS, vchwire.TLSVerify, vchwire.TLSServer, vchwire.TLSOff)
	case len(cfg.Plugins) == 0:
		return errors.New("no plugin is registered")
	}
	names := map[string]bool{}
	for _, p := range cfg.Plugins {
		if !validPluginName.MatchString(p.Name) {
			return fmt.Errorf("plugin name %q must match %s", p.Name, validPluginName)
		}
		if names[p.Name] {
			return fmt.Errorf("plugin %s is registered twice", p.Name)
		}
		names[p.Name] = true
		if _, err := pluginPath(root, p.File); err != nil {
			return fmt.Errorf("plugin %s: %w", p.Name, err)
		}
		if b, err := hex.DecodeString(p.SHA256); err != nil || len(b) != 32 {
			return fmt.Errorf("plugin %s: sha256 %q is not a hex SHA-256 digest", p.Name, p.SHA256)
		}
	}
	if cfg.Backend == "" && len(cfg.Plugins) > 1 {
		return errors.New("several plugins are registered and no backend is chosen")
	}
	if cfg.Backend != "" && !names[cfg.Backend] {
		return fmt.Errorf("backend %q is not a registered plugin", cfg.Backend)
	}
	return nil
}

// verifyPlugins checks the registered plugins' files against their recorded checksums, so a mismatch is
// reported as such rather than as an engine that cannot start its backend.
func verifyPlugins(cfg *vchwire.ApplianceConfig, root string) error {
	for _, p := range cfg.Plugins {
		file, err := pluginPath(root, p.File)
		if err != nil {
			return fmt.Errorf("plugin %s: %w", p.Name, err)
		}
		sum, err := pluginhost.FileSHA256(file)
		if err != nil {
			return fmt.Errorf("plugin %s: %w", p.Name, err)
		}
		if !strings.EqualFold(sum, p.SHA256) {
			return fmt.Errorf("plugin %s: %s has checksum %s, the config records %s", p.Name, p.File, sum, p.SHA256)
		}
	}
	return nil
}

// pluginPath is the local file of a plugin, given as a path inside the ISO; it may not leave root.
func pluginPath(root, file string) (string, error) {
	rel := strings.TrimPrefix(path.Clean("/"+file), "/")
	if file == "" || rel == "" || rel == "." {
		return "", fmt.Errorf("no file")
	}
	local := filepath.Join(root, filepath.FromSlash(rel))
	st, err := os.Stat(local)
	if err != nil {
		return "", fmt.Errorf("file %s: %w", file, err)
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("file %s is not a regular file", file)
	}
	return local, nil
}

// endpoints are the addresses the appliance serves on.
type endpoints struct {
	ip         string
	dockerPort int
	adminPort  int
	sshPort    int
}

func (e endpoints) docker() string { return net.JoinHostPort(e.ip, strconv.Itoa(e.dockerPort)) }
func (e endpoints) admin() string  { return net.JoinHostPort(e.ip, strconv.Itoa(e.adminPort)) }
func (e endpoints) ssh() string    { return net.JoinHostPort(e.ip, strconv.Itoa(e.sshPort)) }
func (e endpoints) attach() string { return net.JoinHostPort(e.ip, strconv.Itoa(vchwire.PortAttach)) }

// DockerHost is what clients set DOCKER_HOST to.
func (e endpoints) DockerHost() string { return "tcp://" + e.docker() }

// AdminPortal is the admin portal's URL.
func (e endpoints) AdminPortal() string { return "https://" + e.admin() }

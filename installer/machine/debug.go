package machine

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/vice-engine/vice/installer/vchwire"
)

// Debug turns SSH access to the endpoint on (for the given authorized keys) or off. The appliance reads
// vchwire.KeyApplianceDebug while it runs, so no restart is needed.
func (m *Machine) Debug(ctx context.Context, o DebugOptions) error {
	log := m.Log
	log.Infof("### Configuring VCH for debug ####")
	if o.EnableSSH == o.DisableSSH {
		return errors.New("give --enable-ssh (with --authorized-key FILE) or --disable-ssh")
	}
	var keys []string
	if o.EnableSSH {
		if len(o.AuthorizedKeys) == 0 {
			return errors.New("--enable-ssh needs --authorized-key FILE: a public key file (such as ~/.ssh/id_ed25519.pub) for the appliance's root")
		}
		for _, f := range o.AuthorizedKeys {
			k, err := readAuthorizedKeys(f)
			if err != nil {
				return err
			}
			keys = append(keys, k...)
		}
	}
	ctx, s, v, done, err := m.openVCH(ctx, o.CommonOptions)
	if err != nil {
		return err
	}
	defer done()
	ep := m.endpoint(s, v, "")
	d := vchwire.ApplianceDebug{SSH: o.EnableSSH, AuthorizedKeys: keys}
	if err := ep.reconfigure(ctx, map[string]string{vchwire.KeyApplianceDebug: mustJSON(d)}); err != nil {
		return err
	}
	if !o.EnableSSH {
		log.Infof("SSH to appliance disabled")
		log.Infof("Completed successfully")
		return nil
	}
	log.Infof("SSH to appliance enabled for %d key(s)", len(keys))
	if v.Status != nil && v.Status.IP != "" {
		log.Blank()
		log.Infof("SSH to appliance:")
		log.Infof("ssh root@%s", v.Status.IP)
	} else {
		log.Warnf("The appliance has not reported its address; `vice-machine inspect` shows it once it has")
	}
	log.Infof("Completed successfully")
	return nil
}

// readAuthorizedKeys reads the key lines of an authorized_keys or .pub file.
func readAuthorizedKeys(file string) ([]string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--authorized-key: %w", err)
	}
	var keys []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !strings.HasPrefix(line, "ssh-") && !strings.HasPrefix(line, "ecdsa-") && !strings.HasPrefix(line, "sk-") {
			return nil, fmt.Errorf("--authorized-key %s: %q is not a public key line (ssh-ed25519 AAAA...)", file, truncate(line, 40))
		}
		keys = append(keys, line)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("--authorized-key %s holds no public key", file)
	}
	return keys, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

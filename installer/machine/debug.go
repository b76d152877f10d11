package machine

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/vice-engine/vice/installer/vch"
)

// Debug turns SSH to the endpoint on, for the public keys in keyFiles, or off, and prints how to log in.
func (m *Machine) Debug(ctx context.Context, o vch.DebugOptions, keyFiles []string) error {
	log := m.Log
	log.Infof("### Configuring VCH for debug ####")
	if o.EnableSSH && !o.DisableSSH {
		for _, f := range keyFiles {
			k, err := readAuthorizedKeys(f)
			if err != nil {
				return err
			}
			o.AuthorizedKeys = append(o.AuthorizedKeys, k...)
		}
	}
	res, err := m.VCHs.Debug(ctx, o)
	if err != nil {
		return err
	}
	if !res.SSH {
		log.Infof("SSH to appliance disabled")
		log.Infof("Completed successfully")
		return nil
	}
	log.Infof("SSH to appliance enabled for %d key(s)", res.Keys)
	if res.IP != "" {
		log.Blank()
		log.Infof("SSH to appliance:")
		log.Infof("ssh root@%s", res.IP)
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

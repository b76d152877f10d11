package images

import (
	"encoding/json"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// applyChanges applies `docker import --change` instructions: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL,
// STOPSIGNAL, USER, VOLUME and WORKDIR. Any other instruction is an invalid-argument error.
func applyChanges(c *v1.Config, changes []string) error {
	for _, ch := range changes {
		instr, arg, _ := strings.Cut(strings.TrimSpace(ch), " ")
		arg = strings.TrimSpace(arg)
		switch strings.ToUpper(instr) {
		case "CMD":
			c.Cmd = commandForm(arg)
		case "ENTRYPOINT":
			c.Entrypoint = commandForm(arg)
		case "ENV":
			for k, v := range pairs(arg) {
				c.Env = append(c.Env, k+"="+v)
			}
		case "LABEL":
			if c.Labels == nil {
				c.Labels = map[string]string{}
			}
			for k, v := range pairs(arg) {
				c.Labels[k] = v
			}
		case "EXPOSE":
			if c.ExposedPorts == nil {
				c.ExposedPorts = map[string]struct{}{}
			}
			for _, p := range strings.Fields(arg) {
				if !strings.Contains(p, "/") {
					p += "/tcp"
				}
				c.ExposedPorts[p] = struct{}{}
			}
		case "VOLUME":
			if c.Volumes == nil {
				c.Volumes = map[string]struct{}{}
			}
			for _, v := range listForm(arg) {
				c.Volumes[v] = struct{}{}
			}
		case "STOPSIGNAL":
			c.StopSignal = arg
		case "USER":
			c.User = arg
		case "WORKDIR":
			c.WorkingDir = arg
		default:
			return fmt.Errorf("%s is not a valid change command: %w", instr, errdefs.ErrInvalid)
		}
	}
	return nil
}

// commandForm is the exec form ["a","b"] as is, or the shell form wrapped in /bin/sh -c.
func commandForm(arg string) []string {
	var exec []string
	if json.Unmarshal([]byte(arg), &exec) == nil {
		return exec
	}
	return []string{"/bin/sh", "-c", arg}
}

func listForm(arg string) []string {
	var list []string
	if json.Unmarshal([]byte(arg), &list) == nil {
		return list
	}
	return strings.Fields(arg)
}

// pairs reads "k=v k2=v2" or the legacy "k v".
func pairs(arg string) map[string]string {
	out := map[string]string{}
	if !strings.Contains(arg, "=") {
		k, v, _ := strings.Cut(arg, " ")
		out[k] = strings.TrimSpace(v)
		return out
	}
	for _, f := range strings.Fields(arg) {
		k, v, _ := strings.Cut(f, "=")
		out[k] = strings.Trim(v, `"`)
	}
	return out
}

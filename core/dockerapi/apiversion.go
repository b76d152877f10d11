package dockerapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/system"

	"github.com/vice-engine/vice/core/internal/dockermsg"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// Responses shaped for the API version of the request. vice serves API 1.12 and later, as dockerd 20.10 did;
// where dockerd answers older clients in another shape, so does vice. Each function takes the current
// shape and returns what a client of version v reads.

// atLeast reports whether the request's API version v is version or newer.
func atLeast(v, version string) bool { return !versionLess(v, version) }

// inspectForVersion is GET /containers/{id}/json for API v. Before 1.21 the network settings were one flat
// set of fields (no Networks); before 1.20 the config carried the host's volume driver and resources, and
// volumes were two maps instead of Mounts.
func inspectForVersion(v string, resp container.InspectResponse) (any, error) {
	if atLeast(v, "1.21") {
		return withLegacyNetworkFields(resp), nil
	}
	m, err := asMap(resp)
	if err != nil {
		return nil, err
	}
	host := resp.HostConfig
	if host == nil {
		host = &container.HostConfig{}
	}
	cfg, _ := m["Config"].(map[string]any)
	if cfg == nil {
		cfg = map[string]any{}
		m["Config"] = cfg
	}
	cfg["MacAddress"] = ""
	cfg["NetworkDisabled"] = false
	if _, ok := cfg["ExposedPorts"]; !ok {
		cfg["ExposedPorts"] = nil
	}
	cfg["VolumeDriver"] = host.VolumeDriver
	m["NetworkSettings"] = flatNetworkSettings(resp)
	if atLeast(v, "1.20") {
		m["Mounts"] = []any{}
		return m, nil
	}
	cfg["Memory"], cfg["MemorySwap"] = host.Memory, host.MemorySwap
	cfg["CpuShares"], cfg["Cpuset"] = host.CPUShares, host.CpusetCpus
	delete(m, "Mounts")
	m["Volumes"], m["VolumesRW"] = map[string]string{}, map[string]bool{}
	return m, nil
}

// flatNetworkSettings is the network settings as API 1.20 and older show them: the default bridge
// network's endpoint, flat, and no Networks.
func flatNetworkSettings(resp container.InspectResponse) map[string]any {
	m := legacyNetworkFields(resp)
	m["SandboxID"], m["SandboxKey"] = "", ""
	m["Ports"] = map[string]any{}
	if ns := resp.NetworkSettings; ns != nil {
		m["SandboxID"] = ns.SandboxID
		if ns.Ports != nil {
			m["Ports"] = ns.Ports
		}
	}
	return m
}

// infoForVersion is GET /info for API v: before 1.25 it named an execution driver, and security options by
// name only.
func infoForVersion(v string, info system.Info) (any, error) {
	if atLeast(v, "1.25") {
		return info, nil
	}
	m, err := asMap(info)
	if err != nil {
		return nil, err
	}
	m["ExecutionDriver"] = "<not supported>"
	names := []string{}
	for _, o := range info.SecurityOptions { // "name=seccomp,profile=default"
		first, _, _ := strings.Cut(o, ",")
		if name, ok := strings.CutPrefix(first, "name="); ok {
			names = append(names, name)
		}
	}
	m["SecurityOptions"] = names
	return m, nil
}

// createForVersion adjusts a create request of API v: before 1.25 the client removed --rm containers itself.
func createForVersion(v string, req *container.CreateRequest) {
	if req.HostConfig != nil && !atLeast(v, "1.25") {
		req.HostConfig.AutoRemove = false
	}
}

// startBody checks the body of POST /containers/{id}/start: a host config there was removed in API 1.24; an
// older client's is decoded, and refused unless empty, since vice applies host settings at create only.
func startBody(r *http.Request) error {
	if r.ContentLength <= 7 && r.ContentLength != -1 { // a JSON object with anything in it is longer
		return nil
	}
	if atLeast(APIVersion(r.Context()), "1.24") {
		return dockermsg.StartBodyRemoved.Err()
	}
	var host map[string]any
	if err := DecodeJSON(r, &host); err != nil {
		return err
	}
	for k, val := range host {
		if val != nil && !isZeroJSON(val) {
			return fmt.Errorf("vice applies host settings at create, not at start (%s): %w", k, errdefs.ErrInvalid)
		}
	}
	return nil
}

func isZeroJSON(v any) bool {
	switch x := v.(type) {
	case bool:
		return !x
	case float64:
		return x == 0
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

// asMap turns a response into its JSON object, for the fields older versions add or drop.
func asMap(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode the response: %w: %w", errdefs.ErrSystem, err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decode the response: %w: %w", errdefs.ErrSystem, err)
	}
	return m, nil
}

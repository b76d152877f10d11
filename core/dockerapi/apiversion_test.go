package dockerapi

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/system"
)

func TestInspectForVersion(t *testing.T) {
	resp := container.InspectResponse{ID: "abc", Name: "/web", Config: &container.Config{Image: "busybox"},
		HostConfig:      &container.HostConfig{Resources: container.Resources{Memory: 1 << 30, CPUShares: 512, CpusetCpus: "0-1"}},
		Mounts:          []container.MountPoint{},
		NetworkSettings: &container.NetworkSettings{Networks: map[string]*network.EndpointSettings{}}}
	for _, c := range []struct {
		version      string
		has, hasNot  []string // top-level keys
		cfg, netHas  []string // keys of Config and NetworkSettings
		netHasNot    string
		memoryInConf bool
	}{
		{"1.19", []string{"Volumes", "VolumesRW"}, []string{"Mounts"}, []string{"Memory", "CpuShares", "Cpuset", "VolumeDriver", "MacAddress"},
			[]string{"IPAddress", "Gateway", "Bridge"}, "Networks", true},
		{"1.20", []string{"Mounts"}, []string{"Volumes"}, []string{"VolumeDriver", "MacAddress", "NetworkDisabled"},
			[]string{"IPAddress"}, "Networks", false},
		// Until API 1.52 dockerd kept the default bridge network's endpoint flat beside Networks too.
		{"1.21", []string{"Mounts"}, []string{"Volumes"}, nil, []string{"Networks", "IPAddress", "Gateway", "MacAddress"}, "", false},
		{"1.50", []string{"Mounts"}, []string{"Volumes"}, nil, []string{"Networks", "IPAddress", "Gateway", "MacAddress"}, "", false},
	} {
		shaped, err := inspectForVersion(c.version, resp)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := asMap(shaped)
		cfg, _ := m["Config"].(map[string]any)
		nw, _ := m["NetworkSettings"].(map[string]any)
		for _, k := range c.has {
			if _, ok := m[k]; !ok {
				t.Errorf("%s: no %s", c.version, k)
			}
		}
		for _, k := range c.hasNot {
			if _, ok := m[k]; ok {
				t.Errorf("%s: has %s", c.version, k)
			}
		}
		for _, k := range c.cfg {
			if _, ok := cfg[k]; !ok {
				t.Errorf("%s: no Config.%s", c.version, k)
			}
		}
		for _, k := range c.netHas {
			if _, ok := nw[k]; !ok {
				t.Errorf("%s: no NetworkSettings.%s", c.version, k)
			}
		}
		if _, ok := nw[c.netHasNot]; ok {
			t.Errorf("%s: has NetworkSettings.%s", c.version, c.netHasNot)
		}
		if c.memoryInConf && (cfg["Memory"] != float64(1<<30) || cfg["CpuShares"] != float64(512) || cfg["Cpuset"] != "0-1") {
			t.Errorf("%s: config resources = %v %v %v", c.version, cfg["Memory"], cfg["CpuShares"], cfg["Cpuset"])
		}
		if m["Name"] != "/web" || cfg["Image"] != "busybox" {
			t.Errorf("%s: lost fields: %v %v", c.version, m["Name"], cfg["Image"])
		}
	}
}

func TestInfoForVersion(t *testing.T) {
	info := system.Info{Name: "vch", SecurityOptions: []string{"name=seccomp,profile=default", "name=rootless"}}
	old, _ := infoForVersion("1.24", info)
	m, _ := asMap(old)
	if m["ExecutionDriver"] != "<not supported>" || m["Name"] != "vch" {
		t.Errorf("1.24 info = %v", m)
	}
	if b, _ := json.Marshal(m["SecurityOptions"]); string(b) != `["seccomp","rootless"]` {
		t.Errorf("1.24 security options = %s", b)
	}
	cur, _ := infoForVersion("1.25", info)
	if m, _ := asMap(cur); m["ExecutionDriver"] != nil {
		t.Errorf("1.25 info has an execution driver")
	}
}

func TestCreateAndStartForVersion(t *testing.T) {
	req := container.CreateRequest{HostConfig: &container.HostConfig{AutoRemove: true}}
	createForVersion("1.25", &req)
	if !req.HostConfig.AutoRemove {
		t.Error("1.25 lost AutoRemove")
	}
	createForVersion("1.24", &req)
	if req.HostConfig.AutoRemove {
		t.Error("1.24 kept AutoRemove (the client removes)")
	}
	for _, c := range []struct {
		version, body, wantErr string
	}{
		{"1.50", "", ""},
		{"1.50", "{}", ""},
		{"1.50", `{"Binds":[]}`, "starting container with non-empty request body was deprecated since API v1.22 and removed in v1.24"},
		{"1.23", `{"Binds":[],"Privileged":false}`, ""},
		{"1.23", `{"PortBindings":{"80/tcp":[{"HostPort":"8080"}]}}`, "vice applies host settings at create, not at start (PortBindings)"},
	} {
		r := httptest.NewRequest("POST", "/containers/x/start", strings.NewReader(c.body))
		if c.body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		r = r.WithContext(withAPIVersion(context.Background(), c.version))
		err := startBody(r)
		if (err == nil) != (c.wantErr == "") || err != nil && !strings.HasPrefix(err.Error(), c.wantErr) {
			t.Errorf("start %s with %s = %v, want %q", c.version, c.body, err, c.wantErr)
		}
	}
}

// From API 1.21 the legacy network fields are encoded with the response in one pass; the answer is what
// adding them to the decoded response gives, with and without a bridge endpoint and settings.
func TestInspectLegacyNetworkOnePass(t *testing.T) {
	bridge := &network.EndpointSettings{EndpointID: "ep1", IPPrefixLen: 16}
	for name, ns := range map[string]*container.NetworkSettings{
		"no settings": nil,
		"no bridge":   {SandboxID: "sb", Networks: map[string]*network.EndpointSettings{"other": {EndpointID: "ep2"}}},
		"bridge":      {SandboxID: "sb", Networks: map[string]*network.EndpointSettings{network.NetworkBridge: bridge}},
	} {
		resp := container.InspectResponse{ID: "abc", Name: "/web", Config: &container.Config{Image: "busybox"},
			HostConfig: &container.HostConfig{}, Mounts: []container.MountPoint{}, NetworkSettings: ns}
		want, err := asMap(resp)
		if err != nil {
			t.Fatal(err)
		}
		wns, _ := want["NetworkSettings"].(map[string]any)
		if wns == nil {
			wns = map[string]any{}
			want["NetworkSettings"] = wns
		}
		for k, v := range legacyNetworkFields(resp) {
			wns[k] = v
		}
		shaped, err := inspectForVersion("1.50", resp)
		if err != nil {
			t.Fatal(err)
		}
		got, err := asMap(shaped)
		if err != nil {
			t.Fatal(err)
		}
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		if string(g) != string(w) {
			t.Errorf("%s: got\n%s\nwant\n%s", name, g, w)
		}
		if ns != nil && ns.Networks[network.NetworkBridge] != nil && got["NetworkSettings"].(map[string]any)["EndpointID"] != "ep1" {
			t.Errorf("%s: the bridge endpoint is not flat in the settings: %s", name, g)
		}
	}
}

package vch

import (
	"reflect"
	"strings"
	"testing"

	"github.com/vice-engine/vice/installer/vch/vchtest"
	"github.com/vice-engine/vice/installer/vchwire"
)

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		raw, user, pass string
		want            Target
		sdk, str        string
	}{
		{"admin:secret@vc.example.com/DC1", "", "", Target{"https", "vc.example.com", "admin", "secret", "DC1"},
			"https://vc.example.com/sdk", "https://vc.example.com/DC1"},
		{"https://admin:p%40ss@10.0.0.1:8443/sdk", "", "", Target{"https", "10.0.0.1:8443", "admin", "p@ss", ""},
			"https://10.0.0.1:8443/sdk", "https://10.0.0.1:8443"},
		{"vc.example.com", "root", "pw", Target{"https", "vc.example.com", "root", "pw", ""}, "https://vc.example.com/sdk", "https://vc.example.com"},
		{"u:old@esx/ha-datacenter", "other", "new", Target{"https", "esx", "other", "new", "ha-datacenter"}, "https://esx/sdk", "https://esx/ha-datacenter"},
		{"u@host/folder/DC2", "", "", Target{"https", "host", "u", "", "folder/DC2"}, "https://host/sdk", "https://host/folder/DC2"},
	} {
		got, err := ParseTarget(tc.raw, tc.user, tc.pass)
		if err != nil {
			t.Errorf("%q: %v", tc.raw, err)
			continue
		}
		if *got != tc.want || got.SDK().String() != tc.sdk || got.String() != tc.str {
			t.Errorf("%q: %+v %s %s", tc.raw, *got, got.SDK(), got)
		}
	}
	if got, _ := ParseTarget("admin:p@ss@host", "", ""); got.SDKWithCredentials().String() != "https://admin:p%40ss@host/sdk" {
		t.Errorf("credentials URL %s", got.SDKWithCredentials())
	}
	for _, bad := range []string{"", "host", "ftp://u@host", "https://"} {
		if _, err := ParseTarget(bad, "", ""); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if _, err := ParseTarget("u:secret@host:bad:port", "", ""); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("bad target error shows the password: %v", err)
	}
}

func TestNormalizeThumbprint(t *testing.T) {
	sha1 := "ab:cd:ef:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:ab:cd:ef:01"
	if got, err := normalizeThumbprint(sha1); err != nil || got != strings.ToUpper(sha1) {
		t.Errorf("%q: %q %v", sha1, got, err)
	}
	plain := strings.Repeat("0a", 32)
	if got, err := normalizeThumbprint(plain); err != nil || got != strings.TrimSuffix(strings.Repeat("0A:", 32), ":") {
		t.Errorf("%q: %q %v", plain, got, err)
	}
	for _, bad := range []string{"", "zz", "AB:CD", strings.Repeat("AB:", 21)} {
		if _, err := normalizeThumbprint(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseVolumeStore(t *testing.T) {
	for raw, want := range map[string]VolumeStore{
		"datastore1/volumes/vch1:default":   {Label: "default", Datastore: "datastore1", Path: "volumes/vch1"},
		"ds://datastore1/vols:fast":         {Label: "fast", Datastore: "datastore1", Path: "vols"},
		"datastore1/vols":                   {Label: "default", Datastore: "datastore1", Path: "vols"},
		"datastore1:nfs":                    {Label: "nfs", Datastore: "datastore1"},
		"[datastore1] vols/deep:x":          {Label: "x", Datastore: "datastore1", Path: "vols/deep"},
		"nfs://server/exports?uid=1:shared": {Label: "shared", NFS: "nfs://server/exports?uid=1"},
	} {
		got, err := ParseVolumeStore(raw)
		if err != nil || got != want {
			t.Errorf("%q: %+v %v", raw, got, err)
		}
		if back := volumeStoreFromURL(got.Label, got.URL()); back != got {
			t.Errorf("%q: URL %s reads back as %+v", raw, got.URL(), back)
		}
	}
	for _, bad := range []string{":x", "ds/path:bad label", "/x:y"} {
		if _, err := ParseVolumeStore(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// The container networks' settings land on the networks they name, checked as vic-machine checked them.
func TestContainerNetworkSettings(t *testing.T) {
	nets := []vchwire.ContainerNetwork{{PortGroup: "VM Network", Alias: "public"}, {PortGroup: "pg2", Alias: "two"}}
	s := ContainerNetworkSettings{ContainerNetworkGateways: []string{"VM Network:10.3.0.1/16"},
		ContainerNetworkIPRanges: []string{"VM Network:10.3.1.0/24"}, ContainerNetworkDNS: []string{"VM Network:10.3.0.53"},
		ContainerNetworkFirewalls: []string{"pg2:closed"}}
	if err := s.apply(nets, true); err != nil {
		t.Fatal(err)
	}
	want := vchwire.ContainerNetwork{PortGroup: "VM Network", Alias: "public", Gateway: "10.3.0.1/16", IPRange: "10.3.1.0/24",
		DNS: []string{"10.3.0.53"}}
	if !reflect.DeepEqual(nets[0], want) || nets[1].Firewall != "closed" {
		t.Errorf("%+v", nets)
	}
	for _, bad := range []ContainerNetworkSettings{
		{ContainerNetworkGateways: []string{"nope:10.3.0.1/16"}},
		{ContainerNetworkGateways: []string{"pg2:10.3.0.1"}},
		{ContainerNetworkIPRanges: []string{"pg2:10.4.0.0/24"}},
		{ContainerNetworkGateways: []string{"pg2:10.3.0.1/24"}, ContainerNetworkIPRanges: []string{"pg2:10.4.0.0/24"}},
		{ContainerNetworkDNS: []string{"pg2:dns.example"}},
		{ContainerNetworkFirewalls: []string{"pg2:wide-open"}},
	} {
		n := []vchwire.ContainerNetwork{{PortGroup: "pg2", Alias: "two"}}
		if err := bad.apply(n, true); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestParseContainerNetwork(t *testing.T) {
	if n, err := ParseContainerNetwork("VM Network:public"); err != nil || n.PortGroup != "VM Network" || n.Alias != "public" {
		t.Errorf("%+v %v", n, err)
	}
	if n, err := ParseContainerNetwork("backend-pg"); err != nil || n.Alias != "backend-pg" {
		t.Errorf("%+v %v", n, err)
	}
	if _, err := ParseContainerNetwork("VM Network"); err == nil || !strings.Contains(err.Error(), "VM Network:NAME") {
		t.Errorf("a port group name with a space as the alias: %v", err)
	}
}

func TestReadISO(t *testing.T) {
	app, _ := vchtest.ISOs(t, "v3.1.4")
	img, err := ReadISO(app)
	if err != nil {
		t.Fatal(err)
	}
	if img.Version != "v3.1.4" || len(img.Plugins) != 2 || img.Plugin("vcsim") == nil || img.Plugin("vcsim").File != "plugins/vice-plugin-vcsim" {
		t.Errorf("%+v", img)
	}
	// sha256("vcsim plugin v3.1.4")
	if got := img.Plugin("vcsim").SHA256; len(got) != 64 {
		t.Errorf("checksum %q", got)
	}
}

func TestCompareVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
		ok   bool
	}{
		{"v1.0.0", "v1.0.0", 0, true},
		{"v1.0.0", "v1.1.0", -1, true},
		{"v1.10.0-3-gabc", "v1.9.2", 1, true},
		{"v2", "v1.9", 1, true},
		{"e2e-2", "e2e-1", 0, false},
		{"", "v1", 0, false},
	} {
		if got, ok := CompareVersions(tc.a, tc.b); got != tc.want || ok != tc.ok {
			t.Errorf("%s vs %s: %d %v, want %d %v", tc.a, tc.b, got, ok, tc.want, tc.ok)
		}
	}
}

package vchwire

import "testing"

func TestParseVolumeStoreFlag(t *testing.T) {
	for _, c := range []struct {
		in, label, url string
	}{
		{"[datastore1] vols:default", "default", "ds://datastore1/vols"},
		{"[datastore1]vols/deep:fast", "fast", "ds://datastore1/vols/deep"},
		{"[datastore1]", "default", "ds://datastore1"},
		{"datastore1/vols:x", "x", "ds://datastore1/vols"},
		{"ds://datastore1/vols:x.y-z", "x.y-z", "ds://datastore1/vols"},
		{"ds://datastore1/vols", "default", "ds://datastore1/vols"},
		{"nfs://server/exports/vols?uid=1000&gid=100:shared", "shared", "nfs://server/exports/vols?gid=100&uid=1000"},
		{"nfs://server:2049/exports", "default", "nfs://server:2049/exports"},
	} {
		v, err := ParseVolumeStoreFlag(c.in)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if v.Label != c.label || v.URL() != c.url {
			t.Errorf("%q: label %q url %q, want %q %q", c.in, v.Label, v.URL(), c.label, c.url)
		}
		back, err := ParseVolumeStoreURL(v.URL())
		if err != nil || back.URL() != v.URL() {
			t.Errorf("%q: the URL %q does not read back: %v %q", c.in, v.URL(), err, back.URL())
		}
	}
	for _, bad := range []string{"", ":x", "[ds vols", "nfs:///path", "http://x/y", "[ds]v:bad label", "nfs://s/p?uid=x"} {
		if v, err := ParseVolumeStoreFlag(bad); err == nil {
			t.Errorf("%q parsed as %+v", bad, v)
		}
	}
}

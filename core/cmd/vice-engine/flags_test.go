package main

import (
	"io"
	"slices"
	"testing"
)

func TestParseFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"-H", "unix:///tmp/v.sock", "--host=tcp://0.0.0.0:2376", "--backend", "vcsim",
		"--plugins-dir", "/opt/plugins", "--debug",
		"--insecure-registry", "reg.example.com:5000", "--insecure-registry=10.0.0.0/8",
		"--registry-mirror", "http://127.0.0.1:5000", "--registry-ca", "/etc/ca.pem", "--whitelist-registry", "*.example.com",
		"--whitelist-registry=10.1.0.0/16"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.hosts, []string{"unix:///tmp/v.sock", "tcp://0.0.0.0:2376"}) || cfg.backend != "vcsim" ||
		cfg.pluginsDir != "/opt/plugins" || !cfg.debug ||
		!slices.Equal(cfg.insecureRegistries, []string{"reg.example.com:5000", "10.0.0.0/8"}) ||
		!slices.Equal(cfg.registryMirrors, []string{"http://127.0.0.1:5000"}) || !slices.Equal(cfg.registryCAs, []string{"/etc/ca.pem"}) ||
		!slices.Equal(cfg.whitelist, []string{"*.example.com", "10.1.0.0/16"}) {
		t.Errorf("cfg = %+v", cfg)
	}
	cfg, err = parseFlags(nil, io.Discard)
	if err != nil || !slices.Equal(cfg.hosts, defaultHosts) || cfg.pluginsDir != "/etc/vice/plugins" || cfg.debug {
		t.Errorf("defaults = %+v, %v", cfg, err)
	}
	if _, err := parseFlags([]string{"--nope"}, io.Discard); err == nil {
		t.Error("unknown flag accepted")
	}
}

func TestPickBackend(t *testing.T) {
	for _, c := range []struct {
		want  string
		names []string
		got   string
		fails bool
	}{
		{"", []string{"vcsim"}, "vcsim", false},
		{"vsphere", []string{"vcsim", "vsphere"}, "vsphere", false},
		{"", []string{"vcsim", "vsphere"}, "", true},
		{"", nil, "", true},
	} {
		got, err := pickBackend(c.want, c.names)
		if got != c.got || (err != nil) != c.fails {
			t.Errorf("pickBackend(%q, %v) = %q, %v", c.want, c.names, got, err)
		}
	}
}

package vch

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vice-engine/vice/installer/certs"
)

func TestRegistrySettings(t *testing.T) {
	ca, err := certs.NewCA("registry CA")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(good, ca.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("not a certificate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var is issues
	bundle := registrySettings(&is, []string{"http://127.0.0.1:5000", "https://mirror.example.com/"},
		[]string{"reg.example.com:5000", "10.0.0.0/8", "*.corp.example"}, []string{good, good})
	if len(is) != 0 || strings.Count(bundle, "-----BEGIN CERTIFICATE-----") != 2 {
		t.Errorf("good settings: issues %v, %d certificates", is, strings.Count(bundle, "-----BEGIN CERTIFICATE-----"))
	}
	is = nil
	registrySettings(&is, []string{"ftp://m", "https://m/path"}, []string{"a b", "x/y"}, []string{bad, filepath.Join(dir, "missing.pem")})
	for i, want := range []string{`--registry-mirror "ftp://m"`, `--registry-mirror "https://m/path": a mirror has no path`,
		`--whitelist-registry "a b"`, `--whitelist-registry "x/y"`, "holds no PEM certificate"} {
		if i >= len(is) || !strings.Contains(is[i].Error(), want) {
			t.Errorf("issue %d = %v, want %q", i, is, want)
		}
	}
}

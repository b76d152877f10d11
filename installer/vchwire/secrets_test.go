package vchwire_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/vice-engine/vice/installer/vchwire"
)

func TestSealedSecrets(t *testing.T) {
	k, err := vchwire.NewSecretKey()
	if err != nil {
		t.Fatal(err)
	}
	// Both keys survive their text forms.
	k2, err := vchwire.ParseSecretKey(k.String())
	if err != nil {
		t.Fatal(err)
	}
	pub, err := vchwire.ParsePublicKey(k.PublicKey().String())
	if err != nil {
		t.Fatal(err)
	}
	if pub.String() != k2.PublicKey().String() {
		t.Fatalf("public key %s, after parsing the private key %s", pub, k2.PublicKey())
	}

	const secret = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\n"
	s, err := pub.Seal(vchwire.SecretServerKey, []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	if !s.IsSealed() || strings.Contains(string(s), "PRIVATE KEY") || strings.Contains(string(s), "MHcCAQEE") {
		t.Fatalf("sealed value %q", s)
	}
	again, _ := pub.Seal(vchwire.SecretServerKey, []byte(secret))
	if again == s {
		t.Error("sealing twice gave the same value: each seal must use a fresh encapsulation")
	}
	if got, err := k2.Open(vchwire.SecretServerKey, s); err != nil || string(got) != secret {
		t.Fatalf("open: %q, %v", got, err)
	}

	// A value opens only for its purpose, only with its key, and only whole.
	if _, err := k.Open(vchwire.SecretTargetPassword, s); err == nil {
		t.Error("a server key opened as the target password")
	}
	other, _ := vchwire.NewSecretKey()
	if _, err := other.Open(vchwire.SecretServerKey, s); err == nil {
		t.Error("a value opened with another VM's key")
	}
	damaged := vchwire.Sealed(string(s[:len(s)-6]) + "AAAA==")
	if _, err := k.Open(vchwire.SecretServerKey, damaged); err == nil {
		t.Error("a damaged value opened")
	}
	if _, err := k.Open(vchwire.SecretServerKey, vchwire.Sealed(secret)); !errors.Is(err, vchwire.ErrNotSealed) {
		t.Errorf("a value in clear: %v, want ErrNotSealed", err)
	}
	for _, bad := range []string{"", "vice-secret-key-1:???", k.PublicKey().String()} {
		if _, err := vchwire.ParseSecretKey(bad); err == nil {
			t.Errorf("ParseSecretKey(%q) succeeded", bad)
		}
	}
}

func TestSealTarget(t *testing.T) {
	k, _ := vchwire.NewSecretKey()
	sdk, _ := url.Parse("https://administrator@vsphere.local:S3cret%2Fp@ss@vc.example.com/sdk")
	target, pass, err := vchwire.SealTarget(k.PublicKey(), sdk)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(target, "S3cret") || strings.Contains(string(pass), "S3cret") || !pass.IsSealed() {
		t.Fatalf("target %q, password %q: the password shows", target, pass)
	}
	if target != "https://administrator%40vsphere.local@vc.example.com/sdk" {
		t.Errorf("target %q", target)
	}
	cfg := vchwire.ApplianceConfig{Target: target, TargetPassword: pass}
	full, err := cfg.OpenTarget(k)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(full)
	if p, _ := u.User.Password(); p != "S3cret/p@ss" || u.User.Username() != "administrator@vsphere.local" || u.Host != "vc.example.com" {
		t.Errorf("opened target %q", full)
	}
	if _, err := cfg.OpenTarget(nil); err == nil {
		t.Error("opened without the key")
	}
	// A password in clear is refused, and the error does not repeat it.
	clear := vchwire.ApplianceConfig{Target: "https://user:hunter2@vc/sdk"}
	if _, err := clear.OpenTarget(k); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("a target with a password in clear: %v", err)
	}
	// No password at all (a target that needs none) is the URL as it is.
	none := vchwire.ApplianceConfig{Target: "https://user@vc/sdk"}
	if got, err := none.OpenTarget(nil); err != nil || got != "https://user@vc/sdk" {
		t.Errorf("no password: %q, %v", got, err)
	}
}

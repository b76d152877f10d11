package imagec_test

import (
	"context"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/registry"

	"github.com/vice-engine/vice/core/imagec"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/simulator-tests/fixtures"
)

func TestMirrorsAndWhitelist(t *testing.T) {
	reg, err := fixtures.StartRegistry("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	img, err := fixtures.BusyboxImage()
	if err != nil {
		t.Fatal(err)
	}
	// A mirror holds Docker Hub's repositories under their full path.
	if err := reg.Push(context.Background(), "library/busybox:latest", img); err != nil {
		t.Fatal(err)
	}
	want, _ := img.ConfigName()

	c, err := imagec.New(nil, imagec.WithMirrors("http://"+reg.Addr), imagec.WithWhitelist(reg.Addr))
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := imagec.ParseReference("busybox")
	got, err := c.Resolve(t.Context(), ref, registry.AuthConfig{}, nil)
	if err != nil {
		t.Fatalf("resolve busybox through the mirror: %v", err)
	}
	if got.ID() != want.String() || got.Ref.String() != "busybox:latest" {
		t.Errorf("resolved %s as %s, want %s as busybox:latest", got.ID(), got.Ref, want)
	}
	rc, err := got.Open(t.Context(), got.Layers[0])
	if err != nil {
		t.Fatalf("a layer from the mirror: %v", err)
	}
	rc.Close()
	tags, err := c.Tags(t.Context(), ref.Repository(), registry.AuthConfig{})
	if err != nil || strings.Join(tags, ",") != "latest" {
		t.Errorf("tags through the mirror = %v, %v", tags, err)
	}

	// The whitelist names the mirror only: Docker Hub itself is never asked, other registries are refused.
	missing, _ := imagec.ParseReference("nothing-here")
	if _, err := c.Resolve(t.Context(), missing, registry.AuthConfig{}, nil); !errdefs.Is(err, errdefs.ErrNotFound) {
		t.Errorf("a name the mirror lacks = %v, want the mirror's not found", err)
	}
	other, _ := imagec.ParseReference("10.9.8.7:5000/busybox")
	_, err = c.Resolve(t.Context(), other, registry.AuthConfig{}, nil)
	if !errdefs.Is(err, errdefs.ErrForbidden) ||
		!strings.HasPrefix(err.Error(), "Access denied to unauthorized registry (10.9.8.7:5000) while VCH is in whitelist mode") {
		t.Errorf("a registry off the whitelist = %v", err)
	}
	if err := c.Login(t.Context(), registry.AuthConfig{ServerAddress: "10.9.8.7:5000"}); !errdefs.Is(err, errdefs.ErrForbidden) {
		t.Errorf("login off the whitelist = %v", err)
	}

	cfg := c.ServiceConfig()
	if len(cfg.Mirrors) != 1 || cfg.Mirrors[0] != "http://"+reg.Addr+"/" || !cfg.IndexConfigs["docker.io"].Official {
		t.Errorf("service config = %+v", cfg)
	}
	if wl := c.Whitelist(); len(wl) != 1 || wl[0] != reg.Addr {
		t.Errorf("whitelist = %v", wl)
	}
}

func TestRegistryOptionsRefused(t *testing.T) {
	for _, c := range []struct {
		opt imagec.Option
		msg string
	}{
		{imagec.WithMirrors("ftp://mirror"), "invalid mirror"},
		{imagec.WithMirrors("https://mirror/path"), "invalid mirror: path, query, or fragment at end of the URI"},
		{imagec.WithRegistryCAs([]byte("not a certificate")), "registry CA 1 holds no PEM certificate"},
		{imagec.WithWhitelist("a b"), `whitelisted registry "a b" is not a host`},
	} {
		if _, err := imagec.New(nil, c.opt); !errdefs.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("New = %v, want %q", err, c.msg)
		}
	}
}

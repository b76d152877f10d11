package vsphere

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/vmware/govmomi/session"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

func TestNewCreatesPoolAndFolder(t *testing.T) {
	s := startSim(t, oneCluster(), nil)
	b := newBackend(t, s.config())

	if got, want := b.where.pool.InventoryPath, "/DC0/host/DC0_C0/Resources/"+DefaultVCHName; got != want {
		t.Fatalf("pool path %q, want %q", got, want)
	}
	if got := b.where.datastore.Name(); got != "LocalDS_0" {
		t.Fatalf("datastore %q, want the only one, LocalDS_0", got)
	}
	if b.Name() != "vcsim" {
		t.Fatalf("Name() = %q", b.Name())
	}
	if err := b.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	// A second backend on the same VCH finds the pool instead of creating another.
	b2 := newBackend(t, s.config())
	if b2.where.pool.Reference() != b.where.pool.Reference() {
		t.Fatalf("second backend uses pool %v, want %v", b2.where.pool.Reference(), b.where.pool.Reference())
	}
}

func TestNewAmbiguousComputeResource(t *testing.T) {
	s := startSim(t, nil, nil) // VPX: a standalone host and a cluster
	_, err := New(context.Background(), s.config())
	if !errors.Is(err, errdefs.ErrInvalid) {
		t.Fatalf("New: %v, want an invalid-argument error", err)
	}
	for _, choice := range []string{"/DC0/host/DC0_C0", "/DC0/host/DC0_H0", "--compute-resource"} {
		if !strings.Contains(err.Error(), choice) {
			t.Errorf("error %q does not mention %s", err, choice)
		}
	}

	cfg := s.config()
	cfg.ComputeResource = "DC0_C0"
	b := newBackend(t, cfg)
	if got := b.where.compute.InventoryPath; got != "/DC0/host/DC0_C0" {
		t.Fatalf("compute resource %q", got)
	}
}

func TestNewAmbiguousDatacenter(t *testing.T) {
	m := oneCluster()
	m.Datacenter = 2
	s := startSim(t, m, nil)
	_, err := New(context.Background(), s.config())
	if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), "/DC1") {
		t.Fatalf("New: %v, want an invalid-argument error listing /DC0 and /DC1", err)
	}
	cfg := s.config()
	cfg.Datacenter = "DC1"
	b := newBackend(t, cfg)
	if got := b.where.pool.InventoryPath; got != "/DC1/host/DC1_C0/Resources/"+DefaultVCHName {
		t.Fatalf("pool path %q", got)
	}
}

func TestNewLookupErrors(t *testing.T) {
	s := startSim(t, oneCluster(), url.UserPassword("admin", "secret"))
	tests := []struct {
		name   string
		mutate func(*Config)
		class  error
	}{
		{"no such compute resource", func(c *Config) { c.ComputeResource = "nope" }, errdefs.ErrNotFound},
		{"no such datacenter", func(c *Config) { c.Datacenter = "nope" }, errdefs.ErrNotFound},
		{"no such datastore", func(c *Config) { c.Datastore = "nope" }, errdefs.ErrNotFound},
		{"wrong password", func(c *Config) {
			u, _ := url.Parse(c.URL)
			u.User = url.UserPassword("admin", "wrong")
			c.URL = u.String()
		}, errdefs.ErrUnauthorized},
		{"no user", func(c *Config) {
			u, _ := url.Parse(c.URL)
			u.User = nil
			c.URL = u.String()
		}, errdefs.ErrInvalid},
		{"negative limit", func(c *Config) { c.CPULimitMHz = -5 }, errdefs.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := s.config()
			tt.mutate(&cfg)
			b, err := New(context.Background(), cfg)
			if err == nil {
				_ = b.Close(context.Background())
				t.Fatal("New succeeded")
			}
			if !errors.Is(err, tt.class) {
				t.Fatalf("New: %v (class %s), want class %s", err, errdefs.Class(err), errdefs.Class(tt.class))
			}
			if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "wrong") {
				t.Fatalf("error leaks the password: %v", err)
			}
		})
	}
}

func TestPingUnavailable(t *testing.T) {
	s := startSim(t, oneCluster(), nil)
	b := newBackend(t, s.config())
	s.server.Close()
	err := b.Ping(context.Background())
	if !errors.Is(err, errdefs.ErrUnavailable) {
		t.Fatalf("Ping after the server stopped: %v (class %s), want unavailable", err, errdefs.Class(err))
	}
}

// A session the target dropped (vCenter restarted, an administrator ended it) is logged in again.
func TestPingLogsInAgain(t *testing.T) {
	ctx := context.Background()
	s := startSim(t, oneCluster(), nil)
	b := newBackend(t, s.config())
	us, err := b.sess.mgr.UserSession(ctx)
	if err != nil || us == nil {
		t.Fatalf("backend session: %v, %v", us, err)
	}
	admin := session.NewManager(s.client(t))
	if err := admin.TerminateSession(ctx, []string{us.Key}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Info(ctx); err == nil {
		t.Fatal("Info succeeded on a terminated session")
	}
	if err := b.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if _, err := b.Info(ctx); err != nil {
		t.Fatalf("Info after Ping logged in again: %v", err)
	}
}

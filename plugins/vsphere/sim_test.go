package vsphere

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net/url"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
)

// sim is a vCenter simulator serving over HTTPS for one test.
type sim struct {
	model  *simulator.Model
	server *simulator.Server
	url    *url.URL
}

// oneCluster is a vCenter with one datacenter whose only compute resource is a three-host cluster.
func oneCluster() *simulator.Model {
	m := simulator.VPX()
	m.Host = 0
	m.Machine = 0
	return m
}

// startSim serves m (simulator.VPX() when nil) until the test ends. user, when set, is the only login
// the simulator accepts.
func startSim(t *testing.T, m *simulator.Model, user *url.Userinfo) *sim {
	t.Helper()
	if m == nil {
		m = simulator.VPX()
	}
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	m.Service.TLS = new(tls.Config)
	if user != nil {
		m.Service.Listen = &url.URL{User: user}
	}
	s := m.Service.NewServer()
	t.Cleanup(func() {
		s.Close()
		m.Remove()
	})
	return &sim{model: m, server: s, url: s.URL}
}

func (s *sim) config() Config {
	return Config{URL: s.url.String(), Insecure: true, BackendName: "vcsim", Logger: quietLogger()}
}

// client is an independent govmomi session, to check the backend's answers against vSphere directly.
func (s *sim) client(t *testing.T) *vim25.Client {
	t.Helper()
	c, err := govmomi.NewClient(context.Background(), s.url, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Logout(context.Background()) })
	return c.Client
}

func newBackend(t *testing.T, cfg Config) *Backend {
	t.Helper()
	b, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	return b
}

func quietLogger() *slog.Logger {
	return slog.New(slog.DiscardHandler)
}

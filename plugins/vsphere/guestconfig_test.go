package vsphere

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
	"github.com/vice-engine/vice/tether/wire"
)

// TestSpecRoundTrip creates a container from a spec with every field set and reads the same spec back, while
// the guest's configuration holds what the tether needs.
func TestSpecRoundTrip(t *testing.T) {
	e := newContainerEnv(t)
	str := func(s string) *string { return &s }
	timeout := int64(30)
	in := spec("full", "", models.Process{Path: "/bin/sh", Args: []string{"-c", "echo hi"}, Env: []string{"A=b"},
		WorkingDir: "/tmp", User: "nobody:nogroup", Tty: true, OpenStdin: true, StdinOnce: true}, map[string]string{"image": "busybox"})
	in.Hostname, in.Domainname = "host", "example.org"
	in.DNS = &models.DNSConfig{Servers: []string{"10.0.0.2"}, Search: []string{"example.org"}, Options: []string{"ndots:2"}}
	in.ExtraHosts = []*models.HostEntry{{Hostname: str("db"), IP: str("10.0.0.9")}, {Hostname: str("v6"), IP: str("fd00::1")}}
	in.Resources = &models.Resources{Cpus: 1, MemoryMB: 512}
	in.StopSignal, in.StopTimeout, in.HoldForAttach = "SIGQUIT", &timeout, true
	in.Labels = map[string]string{"com.example": "yes"}

	info := e.create(t, in)
	got, err := e.b.GetContainer(context.Background(), *info.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Spec, in) {
		a, _ := json.Marshal(got.Spec)
		b, _ := json.Marshal(in)
		t.Fatalf("spec read back\n%s\nwant\n%s", a, b)
	}

	var cfg wire.ContainerConfig
	if err := json.Unmarshal([]byte(newContainerVM(e.vm(t, info)).extra[wire.KeyConfig]), &cfg); err != nil {
		t.Fatal(err)
	}
	want := wire.ContainerConfig{ID: *in.ID, Name: "full", Hostname: "host", Domainname: "example.org", Path: "/bin/sh",
		Args: []string{"-c", "echo hi"}, Env: []string{"A=b"}, WorkingDir: "/tmp", User: "nobody:nogroup", Tty: true,
		OpenStdin: true, StdinOnce: true, ExtraHosts: []string{"db:10.0.0.9", "v6:fd00::1"}, DNS: []string{"10.0.0.2"},
		DNSSearch: []string{"example.org"}, DNSOptions: []string{"ndots:2"}, RunBlock: true}
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("guest config %+v\nwant %+v", cfg, want)
	}
}

func TestCreateRefusesWhatItCannotHonour(t *testing.T) {
	e := newContainerEnv(t)
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		mutate func(*models.ContainerSpec)
		want   error
	}{
		{"no process", func(s *models.ContainerSpec) { s.Process = nil }, errdefs.ErrInvalid},
		{"empty path", func(s *models.ContainerSpec) { s.Process.Path = "" }, errdefs.ErrInvalid},
		{"bad stop signal", func(s *models.ContainerSpec) { s.StopSignal = "SIGNOPE" }, errdefs.ErrInvalid},
		{"bad host entry", func(s *models.ContainerSpec) {
			n, ip := "a b", "1.2.3.4"
			s.ExtraHosts = []*models.HostEntry{{Hostname: &n, IP: &ip}}
		}, errdefs.ErrInvalid},
		{"a missing volume", func(s *models.ContainerSpec) {
			s.Mounts = []*models.Mount{{Type: "volume", Source: "v1", Destination: "/data"}}
		}, errdefs.ErrNotFound},
		{"endpoint without a network ID", func(s *models.ContainerSpec) {
			n := "bridge"
			s.Endpoints = []*models.Endpoint{{Network: &n}}
		}, errdefs.ErrInvalid},
		{"endpoint on an unknown network", func(s *models.ContainerSpec) {
			n := strings.Repeat("ab", 32)
			s.Endpoints = []*models.Endpoint{{Network: &n}}
		}, errdefs.ErrNotFound},
		{"ports without a bridge network", func(s *models.ContainerSpec) {
			s.Ports = []*models.PortBinding{{Protocol: "tcp", ContainerPort: 80}}
		}, errdefs.ErrInvalid},
	} {
		s := spec("refused", "", models.Process{Path: "/bin/true"}, nil)
		c.mutate(s)
		if _, err := e.b.CreateContainer(ctx, s); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

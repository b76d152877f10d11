package backendtest

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vice-engine/vice/swagger/gen/client/containers"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// fullSpec is a spec with every field the contract has for a running guest set to something other than its
// default.
func (s *suite) fullSpec(t *testing.T, p process) *models.ContainerSpec {
	sp := s.spec(newID(), s.newName(t), p)
	sp.Hostname, sp.Domainname = "guest", "example.test"
	sp.DNS = &models.DNSConfig{Servers: []string{"192.0.2.53"}, Search: []string{"example.test"}, Options: []string{"ndots:2"}}
	sp.ExtraHosts = []*models.HostEntry{{Hostname: ptr("db"), IP: ptr("192.0.2.7")}, {Hostname: ptr("v6"), IP: ptr("fd00::7")}}
	sp.Resources = &models.Resources{Cpus: 1, MemoryMB: 256}
	sp.StopSignal, sp.StopTimeout = "SIGQUIT", ptr(int64(7))
	sp.Labels = map[string]string{"com.example.role": "conformance"}
	return sp
}

// The spec reads back as it was given, in create's answer, inspect and the list.
func (s *suite) testSpecRoundTrip(t *testing.T) {
	in := s.fullSpec(t, process{args: []string{"/bin/sh", "-c", "exit 0"}, env: []string{"A=b"}, workingDir: "/tmp",
		user: "nobody", tty: true, openStdin: true, stdinOnce: true})
	c := s.createSpec(t, in)
	for what, got := range map[string]*models.ContainerInfo{"create": c, "inspect": s.get(t, *c.ID), "list": s.list(t)[*c.ID]} {
		if got == nil || !reflect.DeepEqual(got.Spec, in) {
			a, _ := json.Marshal(got)
			b, _ := json.Marshal(in)
			t.Errorf("%s describes the spec as\n%s\nwant\n%s", what, a, b)
		}
	}
}

// The guest runs the process as the spec says: its arguments, environment, working directory and user, and
// a host name, resolver and /etc/hosts from the spec.
func (s *suite) testSpecGuest(t *testing.T) {
	script := `echo "args:$0:$1"; echo "env:$A"; echo "pwd:$(pwd)"; echo "uid:$(id -u)"; echo "host:$(hostname)";` +
		` while read l; do echo "resolv:$l"; done </etc/resolv.conf; grep -E 'db|v6|guest' /etc/hosts | sed 's/^/hosts:/'`
	in := s.fullSpec(t, process{args: []string{"/bin/sh", "-c", script, "zero", "one"}, env: []string{"A=b", "PATH=/bin:/sbin"},
		workingDir: "/tmp", user: "65534"})
	c := s.createSpec(t, in)
	s.start(t, *c.ID)
	s.exited(t, *c.ID, 0)
	out := lines(s.logs(t, *c.ID, logQuery{}), "stdout")
	for _, want := range []string{"args:zero:one", "env:b", "pwd:/tmp", "uid:65534", "host:guest",
		"resolv:nameserver 192.0.2.53", "resolv:search example.test", "resolv:options ndots:2"} {
		if !slices.Contains(out, want) {
			t.Errorf("the guest did not print %q; it printed %q", want, out)
		}
	}
	hosts := strings.Join(out, "\n")
	for _, want := range []string{"192.0.2.7\tdb", "fd00::7\tv6", "guest.example.test guest"} {
		if !strings.Contains(hosts, want) {
			t.Errorf("/etc/hosts lacks %q: %q", want, out)
		}
	}
}

// The list's filters: names exactly, ID prefixes, states; values of one filter are alternatives, filters
// of different kinds must all hold.
func (s *suite) testListFilters(t *testing.T) {
	a := s.create(t, forever)
	b := s.run(t, forever)
	list := func(p *containers.ListContainersParams) []string {
		t.Helper()
		resp, err := s.pl.Containers.ListContainers(p.WithContext(ctx(t)))
		if err != nil {
			t.Fatalf("list: %v", errText(err))
		}
		var ids []string
		for _, c := range resp.Payload {
			if *c.ID == *a.ID || *c.ID == *b.ID {
				ids = append(ids, *c.ID)
			}
		}
		slices.Sort(ids)
		return ids
	}
	both := []string{*a.ID, *b.ID}
	slices.Sort(both)
	p := containers.NewListContainersParams
	for name, c := range map[string]struct {
		params *containers.ListContainersParams
		want   []string
	}{
		"name":           {p().WithName([]string{*a.Name}), []string{*a.ID}},
		"name-prefix":    {p().WithName([]string{(*a.Name)[:len(*a.Name)-1]}), nil},
		"names":          {p().WithName([]string{*a.Name, *b.Name}), both},
		"id-prefix":      {p().WithID([]string{(*b.ID)[:12]}), []string{*b.ID}},
		"status":         {p().WithStatus([]string{"running"}).WithID([]string{*a.ID, *b.ID}), []string{*b.ID}},
		"statuses":       {p().WithStatus([]string{"created", "running"}).WithName([]string{*a.Name, *b.Name}), both},
		"all-must-match": {p().WithName([]string{*a.Name}).WithStatus([]string{"running"}), nil},
	} {
		if got := list(c.params); !slices.Equal(got, c.want) {
			t.Errorf("%s: listed %v, want %v", name, got, c.want)
		}
	}
}

// Every listed container carries its spec's specVersion, the same in every listing of an unchanged container
// and another once the spec changed (a rename); a listing given specVersions in knownSpec leaves out exactly
// those specs.
func (s *suite) testListKnownSpecs(t *testing.T) {
	a := s.create(t, forever)
	b := s.create(t, forever)
	list := func(known []string) map[string]*models.ContainerInfo {
		t.Helper()
		p := containers.NewListContainersParams().WithID([]string{*a.ID, *b.ID}).WithKnownSpec(known)
		resp, err := s.pl.Containers.ListContainers(p.WithContext(ctx(t)))
		if err != nil {
			t.Fatalf("list: %v", errText(err))
		}
		out := map[string]*models.ContainerInfo{}
		for _, c := range resp.Payload {
			out[*c.ID] = c
		}
		if out[*a.ID] == nil || out[*b.ID] == nil {
			t.Fatalf("listed %v, want both containers", out)
		}
		return out
	}
	whole := list(nil)
	va, vb := whole[*a.ID].SpecVersion, whole[*b.ID].SpecVersion
	for id, c := range whole {
		if len(c.SpecVersion) != 32 || c.Spec == nil {
			t.Fatalf("container %s listed with specVersion %q and spec %v", id, c.SpecVersion, c.Spec)
		}
	}
	if va == vb {
		t.Errorf("two containers' specs (other names) share specVersion %s", va)
	}
	partial := list([]string{va})
	if got := partial[*a.ID]; got.Spec != nil || got.SpecVersion != va {
		t.Errorf("a known spec: listed with spec %v, specVersion %q; want none, %q", got.Spec, got.SpecVersion, va)
	}
	if got := partial[*b.ID]; got.Spec == nil || got.SpecVersion != vb || *got.Spec.Name != *whole[*b.ID].Spec.Name {
		t.Errorf("an unknown spec: listed with spec %v, specVersion %q; want it whole, %q", got.Spec, got.SpecVersion, vb)
	}
	if _, err := s.rename(t, *a.ID, *a.Name+"-renamed"); err != nil {
		t.Fatalf("rename: %v", errText(err))
	}
	renamed := list([]string{va})[*a.ID]
	if renamed.Spec == nil || renamed.SpecVersion == va || *renamed.Spec.Name != *a.Name+"-renamed" {
		t.Errorf("after a rename, with the old specVersion known: spec %v, specVersion %q (was %q); want the new spec whole",
			renamed.Spec, renamed.SpecVersion, va)
	}
}

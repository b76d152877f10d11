package vch

import (
	"context"
	"strings"
	"testing"

	"github.com/vmware/govmomi/object"

	"github.com/vice-engine/vice/installer/vch/vchtest"
)

func TestUpdateFirewall(t *testing.T) {
	s := vchtest.StartVC(t)
	ctx := context.Background()
	hosts, err := s.Finder(t).HostSystemList(ctx, "*")
	if err != nil || len(hosts) != 3 {
		t.Fatalf("hosts: %v %d", err, len(hosts))
	}
	enabled := func() (n int) {
		for _, h := range hosts {
			if ok, err := hostAllowsSerial(ctx, object.NewHostSystem(s.Client, h.Reference())); err == nil && ok {
				n++
			}
		}
		return n
	}
	common := CommonOptions{Target: s.Target(), Thumbprint: s.Thumbprint}
	// govmomi's simulator shares one ruleset list among all hosts (and all simulators of the process):
	// leave it as it was found.
	t.Cleanup(func() {
		m, _ := testManager(t)
		_ = m.UpdateFirewall(ctx, FirewallOptions{CommonOptions: common, Deny: true})
	})

	m, out := testManager(t)
	if err := m.UpdateFirewall(ctx, FirewallOptions{CommonOptions: common, Allow: true}); err != nil {
		t.Fatalf("update firewall --allow: %v", err)
	}
	if enabled() != 3 {
		t.Errorf("%d hosts let the serial lines out after --allow", enabled())
	}
	for _, want := range []string{`Ruleset "remoteSerialPort" enabled on host "/DC0/host/DC0_C0/DC0_C0_H0"`, "Firewall changes complete", "Firewall check OK"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	m, out = testManager(t)
	if err := m.UpdateFirewall(ctx, FirewallOptions{CommonOptions: common, Deny: true}); err != nil {
		t.Fatalf("update firewall --deny: %v", err)
	}
	if enabled() != 0 {
		t.Errorf("%d hosts still let the serial lines out after --deny", enabled())
	}
	if !strings.Contains(out.String(), "Firewall configuration incorrect on hosts:") {
		t.Errorf("no warning after --deny:\n%s", out.String())
	}

	m, _ = testManager(t)
	if err := m.UpdateFirewall(ctx, FirewallOptions{CommonOptions: common}); err == nil || !strings.Contains(err.Error(), "--allow") {
		t.Errorf("neither --allow nor --deny: %v", err)
	}
}

package vch

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vice-engine/vice/installer/vch/vchtest"
)

// A create that fails after validation removes everything it made: pool, VM, folders, ISOs.
func TestCreateFailureCleansUp(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prepare func(*vchtest.Appliance)
		// timeout bounds the whole create. Where the appliance fails it is only a safety net; where the test is
		// the timeout, it leaves the steps before the wait for the address (well under a second on an idle
		// machine) ample time on a loaded one, so that the wait for the address is what times out.
		timeout time.Duration
		want    []string
	}{
		{"appliance fails", func(a *vchtest.Appliance) { a.SetFail("vice-engine exited: bad plugin checksum") }, 2 * time.Minute,
			[]string{"the appliance failed: vice-engine exited: bad plugin checksum", "service vice-engine: failed (3 restarts)", "[datastore1] vch1/appliance.log"}},
		{"no address before the timeout", func(a *vchtest.Appliance) { a.SetNoIP(true) }, 15 * time.Second,
			[]string{"timed out (--timeout 15s)", "for the appliance's IP address", `last state was "booting"`, "raise --timeout"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := vchtest.StartVC(t)
			before := state(t, s)
			a := s.StartAppliance(t, "vch1")
			tc.prepare(a)
			m, out := testManager(t)
			o := createOptions(t, s, "vch1", "v1.0.0")
			o.Timeout = tc.timeout
			_, err := m.Create(context.Background(), o)
			if err == nil {
				t.Fatal("create succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
			if !IsReported(err) || !strings.Contains(out.String(), "Cleaning up after the failed operation") {
				t.Errorf("no cleanup reported:\n%s", out.String())
			}
			if after := state(t, s); !after.equal(before) {
				t.Errorf("the failed create left things behind:\nbefore %+v\nafter  %+v", before, after)
			}
			if slices.Contains(s.DatastoreEntries(t, ""), "volumes") {
				t.Error("the volume store folder made by the failed create is left")
			}
		})
	}
}

package vice_test

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/vice-engine/vice"

// rule forbids packages under `from` to depend (directly or not) on any package matched by `deny`,
// except the ones matched by `allow`.
type rule struct {
	from  string
	deny  []string
	allow []string
	why   string
}

var rules = []rule{
	{
		from:  module + "/core/",
		deny:  []string{"github.com/vmware/govmomi", module + "/plugins/"},
		allow: []string{module + "/plugins/sdk"},
		why:   "core talks to backends only through the port layer (plugins/sdk is the shared contract)",
	},
	{
		from:  module + "/plugins/",
		deny:  []string{module + "/core/", module + "/installer/", module + "/tether/"},
		allow: []string{module + "/tether/wire"},
		why:   "plugins never import core; of the tether they share only its wire contract",
	},
	{
		from: module + "/plugins/sdk",
		deny: []string{"github.com/vmware/govmomi", module + "/plugins/vsphere", module + "/plugins/vcsim"},
		why:  "the contract imports no implementation",
	},
	{
		from: module + "/tether/",
		deny: []string{module + "/core/", module + "/plugins/", module + "/installer/", "github.com/vmware/govmomi"},
		why:  "the tether is a small static binary of its own",
	},
	{
		from: module + "/swagger/",
		deny: []string{module + "/core/", module + "/plugins/"},
		why:  "generated code depends on nothing of ours",
	},
}

func (r rule) violated(dep string) bool {
	for _, a := range r.allow {
		if dep == a || strings.HasPrefix(dep, a+"/") {
			return false
		}
	}
	for _, d := range r.deny {
		if dep == d || strings.HasPrefix(dep, strings.TrimSuffix(d, "/")+"/") || strings.HasPrefix(dep, d) {
			return true
		}
	}
	return false
}

func (r rule) applies(pkg string) bool {
	return pkg == strings.TrimSuffix(r.from, "/") || strings.HasPrefix(pkg, strings.TrimSuffix(r.from, "/")+"/")
}

func TestImportRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}|{{join .Deps \" \"}}", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, deps, _ := strings.Cut(line, "|")
		for _, r := range rules {
			if !r.applies(pkg) {
				continue
			}
			checked++
			for _, dep := range strings.Fields(deps) {
				if r.violated(dep) {
					t.Errorf("%s depends on %s: %s", pkg, dep, r.why)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no package was checked")
	}
}

// TestRuleMatcher keeps the matcher honest: a rule must catch what it names and spare what it allows.
func TestRuleMatcher(t *testing.T) {
	core := rules[0]
	for dep, want := range map[string]bool{
		"github.com/vmware/govmomi/object":       true,
		module + "/plugins/vsphere":              true,
		module + "/plugins/vcsim/cmd/vice-vcsim": true,
		module + "/plugins/sdk":                  false,
		module + "/plugins/sdk/errdefs":          false,
		module + "/swagger/gen/client":           false,
		"net/http":                               false,
	} {
		if got := core.violated(dep); got != want {
			t.Errorf("core rule on %s: violated=%v, want %v", dep, got, want)
		}
	}
}

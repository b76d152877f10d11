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
		deny:  []string{"github.com/vmware/govmomi", module + "/plugins/", module + "/tether/"},
		allow: []string{module + "/plugins/sdk"},
		why: "core talks to backends only through the port layer (plugins/sdk is the shared contract); how a guest " +
			"is configured (the tether, its wire contract too) is the backend's business",
	},
	{
		from:  module + "/plugins/",
		deny:  []string{module + "/core/", module + "/installer/", module + "/tether/"},
		allow: []string{module + "/tether/wire", module + "/tether/archive", module + "/installer/vchwire"},
		why: "plugins never import core; they share only the guests' contracts (the tether's wire, the endpoint's vchwire) " +
			"and the tether's reading and writing of a container's filesystem (tether/archive), which the backend does on a " +
			"stopped container's disk as the tether does in a running guest",
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
		from: module + "/installer/",
		deny: []string{module + "/core/", module + "/tether/", module + "/plugins/vsphere"},
		allow: []string{module + "/core/pluginhost", module + "/tether/guestinfo", module + "/tether/wire", module + "/plugins/vsphere/vfault",
			module + "/plugins/vsphere/vtask", module + "/plugins/vsphere/soaptrace", module + "/plugins/vsphere/soapconn"},
		why: "the installer ships the engine, the tether and the backends as binaries, never linked in; it shares " +
			"the engine's plugin manifest (core/pluginhost, which the appliance writes), the guest side of guestinfo " +
			"and the emulator's devices (tether/guestinfo, tether/wire, which the appliance's init uses as the tether " +
			"does), the one vSphere fault translation (plugins/vsphere/vfault) and the vSphere client's helpers that " +
			"hold no backend logic (plugins/vsphere/vtask, soaptrace, soapconn: the emulator its tests run on uses them)",
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
		// "x/" denies x itself and everything under it; "x" also denies what merely begins with it.
		root := strings.TrimSuffix(d, "/")
		if dep == root || strings.HasPrefix(dep, root+"/") || strings.HasPrefix(dep, d) {
			return true
		}
	}
	return false
}

func (r rule) applies(pkg string) bool {
	return pkg == strings.TrimSuffix(r.from, "/") || strings.HasPrefix(pkg, strings.TrimSuffix(r.from, "/")+"/")
}

// testedPackage is the package a `go list -test` entry belongs to: "p [p.test]", "p_test [p.test]" and
// "p.test" are all p's.
func testedPackage(importPath string) string {
	p, _, _ := strings.Cut(importPath, " [")
	p = strings.TrimSuffix(p, ".test")
	return strings.TrimSuffix(p, "_test")
}

func TestImportRules(t *testing.T) {
	// -test adds every package's test variants ("p [p.test]", "p_test [p.test]") and test binaries ("p.test"),
	// each with the transitive dependencies of its test files: a test may break a rule as much as the code.
	out, err := exec.Command("go", "list", "-test", "-f", "{{.ImportPath}}|{{join .Deps \" \"}}", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	checked := 0
	reported := map[[2]string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		variant, deps, _ := strings.Cut(line, "|")
		pkg := testedPackage(variant)
		for _, r := range rules {
			if !r.applies(pkg) {
				continue
			}
			checked++
			for _, dep := range strings.Fields(deps) {
				dep = testedPackage(dep)
				if r.violated(dep) && !reported[[2]string{pkg, dep}] {
					reported[[2]string{pkg, dep}] = true
					t.Errorf("%s (%s) depends on %s: %s", pkg, variant, dep, r.why)
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
		module + "/tether/wire":                  true,
		module + "/tether":                       true,
		module + "/swagger/gen/client":           false,
		"net/http":                               false,
	} {
		if got := core.violated(dep); got != want {
			t.Errorf("core rule on %s: violated=%v, want %v", dep, got, want)
		}
	}
}

// TestTestedPackage: every form `go list -test` names a test by belongs to the package under test.
func TestTestedPackage(t *testing.T) {
	for in, want := range map[string]string{
		module + "/core/containers":                                            module + "/core/containers",
		module + "/core/containers [" + module + "/core/containers.test]":      module + "/core/containers",
		module + "/core/dockerapi_test [" + module + "/core/dockerapi.test]":   module + "/core/dockerapi",
		module + "/core/dockerapi.test":                                        module + "/core/dockerapi",
		"github.com/vmware/govmomi/object [" + module + "/plugins/vcsim.test]": "github.com/vmware/govmomi/object",
	} {
		if got := testedPackage(in); got != want {
			t.Errorf("testedPackage(%q) = %q, want %q", in, got, want)
		}
	}
}

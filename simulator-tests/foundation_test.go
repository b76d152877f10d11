package simulatortests

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/mo"
)

// The VCH pool of the end-to-end endpoint has limits, so its numbers differ from the cluster's.
const (
	poolCPULimitMHz   = 4000
	poolMemoryLimitMB = 6144
)

func TestFoundation(t *testing.T) {
	v := startVCH(t, "--cpu-limit-mhz", strconv.Itoa(poolCPULimitMHz), "--memory-limit-mb", strconv.Itoa(poolMemoryLimitMB))

	t.Run("DockerVersion", func(t *testing.T) {
		out, err := v.docker(t, nil, "version")
		if err != nil || !strings.Contains(out, "Server:") || !strings.Contains(out, "API version:") {
			t.Fatalf("docker version: %v\n%s", err, out)
		}
		out, err = v.docker(t, []string{"DOCKER_API_VERSION=1.25"}, "version", "--format", "{{.Client.APIVersion}} {{.Server.APIVersion}}")
		if err != nil || !strings.HasPrefix(out, "1.25 ") {
			t.Fatalf("DOCKER_API_VERSION=1.25 docker version: %v\n%s", err, out)
		}
	})

	t.Run("DockerInfoMatchesPool", func(t *testing.T) {
		out, err := v.docker(t, nil, "info", "--format", "{{.NCPU}}|{{.MemTotal}}|{{.OperatingSystem}}|{{.OSType}}")
		if err != nil {
			t.Fatalf("docker info: %v\n%s", err, out)
		}
		f := strings.Split(strings.TrimSpace(out), "|")
		ncpu, mem := f[0], f[1]
		wantCPU, wantMem := poolFromVSphere(t, v.vcsimURL, "vch-e2e")
		if ncpu != strconv.FormatInt(wantCPU, 10) || mem != strconv.FormatInt(wantMem, 10) {
			t.Fatalf("docker info says %s CPUs, %s bytes; the VCH pool has %d CPUs, %d bytes", ncpu, mem, wantCPU, wantMem)
		}
		if !strings.Contains(f[2], "vSphere") && !strings.Contains(f[2], "vCenter") || f[3] != "linux" {
			t.Fatalf("operating system %q, os type %q", f[2], f[3])
		}
	})

	t.Run("GoClient", func(t *testing.T) {
		c, err := client.New(client.WithHost("unix://"+v.sock), client.WithAPIVersionNegotiation())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		ping, err := c.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true})
		if err != nil || ping.APIVersion == "" || ping.OSType != "linux" {
			t.Fatalf("ping: %+v %v", ping, err)
		}
		info, err := c.Info(ctx, client.InfoOptions{})
		if err != nil || info.Info.NCPU <= 0 || info.Info.MemTotal <= 0 {
			t.Fatalf("info: %+v %v", info, err)
		}
	})

	t.Run("ErrorsInDockerFormat", func(t *testing.T) { testErrors(t, v) })

	t.Run("PluginRestartsAfterKill", func(t *testing.T) {
		plugin := pluginPID(t, v)
		if err := syscall.Kill(plugin, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		killed := time.Now()
		out, err := v.docker(t, nil, "info", "--format", "{{.NCPU}}")
		if err != nil {
			t.Fatalf("docker info after the plugin was killed: %v\n%s", err, out)
		}
		if d := time.Since(killed); d > 5*time.Second {
			t.Fatalf("docker info answered %v after the kill, want within 5s", d)
		}
		waitFor(t, 5*time.Second, "the restart to be logged", func() bool {
			return strings.Contains(v.engLog.String(), "plugin restarted")
		})
		if next := pluginPID(t, v); next == plugin {
			t.Fatalf("plugin pid %d unchanged", next)
		}
	})

	t.Run("StopLeavesNoPlugin", func(t *testing.T) {
		plugin := pluginPID(t, v)
		stop(v.engine)
		if code := v.engine.ProcessState.ExitCode(); code != 0 {
			t.Errorf("vice-engine exited with %d on SIGTERM", code)
		}
		waitFor(t, 5*time.Second, "the plugin to exit", func() bool { return !processAlive(plugin) })
	})
}

// pluginPID is the endpoint's plugin child process.
func pluginPID(t *testing.T, v *vch) int {
	t.Helper()
	var kids []int
	waitFor(t, 10*time.Second, "the plugin process", func() bool {
		kids = children(v.engine.Process.Pid)
		return len(kids) == 1
	})
	return kids[0]
}

// poolFromVSphere reads the VCH pool's limits straight from the simulator: CPUs are whole cores of the
// CPU limit at the hosts' core speed, memory the memory limit.
func poolFromVSphere(t *testing.T, rawURL, name string) (cpus, memBytes int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	c, err := govmomi.NewClient(ctx, u, true)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Logout(ctx)
	m := view.NewManager(c.Client)
	cv, err := m.CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{"ResourcePool"}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer cv.Destroy(ctx)
	var pools []mo.ResourcePool
	if err := cv.RetrieveWithFilter(ctx, []string{"ResourcePool"}, []string{"name", "config", "owner"}, &pools, property.Match{"name": name}); err != nil {
		t.Fatalf("VCH pool %s: %v", name, err)
	}
	rp := pools[0]
	pool := object.NewResourcePool(c.Client, rp.Self)
	var cr mo.ComputeResource
	if err := pool.Properties(ctx, rp.Owner, []string{"host"}, &cr); err != nil {
		t.Fatal(err)
	}
	var host mo.HostSystem
	if err := pool.Properties(ctx, cr.Host[0], []string{"summary.hardware"}, &host); err != nil {
		t.Fatal(err)
	}
	cpuLimit, memLimit := *rp.Config.CpuAllocation.Limit, *rp.Config.MemoryAllocation.Limit
	if cpuLimit != poolCPULimitMHz || memLimit != poolMemoryLimitMB {
		t.Fatalf("the pool was not created with the limits asked: cpu %d MHz, memory %d MB", cpuLimit, memLimit)
	}
	return max(1, cpuLimit/int64(host.Summary.Hardware.CpuMhz)), memLimit << 20
}

// testErrors sends what curl would and checks Docker's status codes and {"message": ...} bodies.
func testErrors(t *testing.T, v *vch) {
	base := "http://" + strings.TrimPrefix(v.host, "tcp://")
	cases := []struct {
		name, method, path, body string
		status                   int
		message                  string
	}{
		{"too old", "GET", "/v1.11/version", "", 400, "client version 1.11 is too old. Minimum supported API version is 1.12"},
		{"too new", "GET", "/v1.99/info", "", 400, "client version 1.99 is too new. Maximum supported API version is"},
		{"unknown route", "GET", "/v1.45/no/such/route", "", 404, "page not found"},
		{"not built yet", "POST", "/v1.45/swarm/init", `{}`, 501, "not"},
		{"malformed body", "POST", "/v1.45/auth", `{"username": "u",`, 400, "invalid JSON"},
		{"wrong type in body", "POST", "/auth", `{"username": 42}`, 400, "invalid JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := httpClient(v).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			var body struct {
				Message string `json:"message"`
			}
			if err := json.Unmarshal(raw, &body); err != nil {
				t.Fatalf("body %q is not Docker's error format: %v", raw, err)
			}
			if resp.StatusCode != c.status || !strings.Contains(body.Message, c.message) {
				t.Fatalf("%s %s: got %d %q, want %d containing %q", c.method, c.path, resp.StatusCode, body.Message, c.status, c.message)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("Content-Type %q", ct)
			}
		})
	}
	// The endpoint is still serving after all of that.
	if out, err := v.docker(t, nil, "version"); err != nil {
		t.Fatalf("endpoint down after bad requests: %v\n%s", err, out)
	}
}

package simulatortests

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The clients other than the docker CLI that vice is tested with, each driven by a script kept in
// simulator-tests/clients that prints a JSON report of what it saw; the tests assert on the reports.
const (
	pythonSDKVersion = "7.1.0" // the Docker SDK for Python
	clientsDir       = "clients"
)

// runClient runs a client script against g and decodes its report into report.
func runClient(t *testing.T, g *guestVCH, report any, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	// The clients read DOCKER_HOST as the docker CLI does. The CA bundle variables would make the Python
	// SDK's TLS ignore DOCKER_CERT_PATH; the endpoint here is plain TCP, but they must not leak in.
	cmd.Env = slices.DeleteFunc(os.Environ(), func(e string) bool {
		for _, k := range []string{"REQUESTS_CA_BUNDLE=", "CURL_CA_BUNDLE=", "DOCKER_HOST=", "DOCKER_TLS_VERIFY=", "DOCKER_CERT_PATH=", "DOCKER_API_VERSION="} {
			if strings.HasPrefix(e, k) {
				return true
			}
		}
		return false
	})
	cmd.Env = append(cmd.Env, "DOCKER_HOST="+g.host, "VICE_REGISTRY="+g.reg.Addr, "DOCKER_CONFIG="+t.TempDir())
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s\n%s", name, strings.Join(args, " "), err, out, stderr.String())
	}
	if err := json.Unmarshal(out, report); err != nil {
		t.Fatalf("%s printed no report: %v\n%s\n%s", name, err, out, stderr.String())
	}
	t.Logf("%s report: %s", filepath.Base(args[len(args)-1]), out)
}

// TestPythonSDK is the Docker SDK for Python against a VCH: ping, version, pull, tag, images, run with
// output, create/start/wait/logs/remove, prune, df, events, a missing container, leaving a swarm, and
// put_archive, get_archive, diff and commit on a running container.
func TestPythonSDK(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	out, err := exec.Command("python3", "-c", "import docker; print(docker.__version__)").CombinedOutput()
	if v := strings.TrimSpace(string(out)); err != nil || v != pythonSDKVersion {
		t.Fatalf("the Docker SDK for Python %s is needed (.ci/run installs it: python3 -m pip install docker==%s); found %q, %v",
			pythonSDKVersion, pythonSDKVersion, v, err)
	}
	g := startGuestVCH(t)
	var r struct {
		SDK     string `json:"sdk"`
		Ping    bool   `json:"ping"`
		Version struct{ ApiVersion, MinAPIVersion string }
		Pull    struct {
			ID   string   `json:"id"`
			Tags []string `json:"tags"`
		} `json:"pull"`
		Tagged    []string `json:"tagged"`
		Images    []string `json:"images"`
		Run       any      `json:"run"`
		Lifecycle struct {
			Wait      struct{ StatusCode int }
			Logs      string `json:"logs"`
			Stdout    string `json:"stdout"`
			Stderr    string `json:"stderr"`
			Status    string `json:"status"`
			LogDriver string `json:"log_driver"`
			Left      []string
		} `json:"lifecycle"`
		Prune struct {
			Created string `json:"created"`
			Report  struct{ ContainersDeleted []string }
		} `json:"prune"`
		DF         map[string]any `json:"df"`
		Events     []string       `json:"events"`
		NotFound   map[string]any `json:"not_found"`
		SwarmLeave map[string]any `json:"swarm_leave"`
		Files      struct {
			Error string
			Put   bool
			Get   struct {
				Name  string
				Dir   bool
				Names []string
				F     string
			}
			Missing map[string]any
			Diff    []string
			Commit  struct {
				ID, Run, Comment string
			}
		} `json:"files"`
		Running struct {
			ExecRun    []any `json:"exec_run"`
			ExecRunEnv []any `json:"exec_run_env"`
			Stats      struct{ Memory, Limit, CPU, PreCPU float64 }
			Top        struct {
				Titles   []string
				Commands []string
			}
			Paused      string
			PausedLines []int `json:"paused_lines"`
			Unpaused    string
			Error       string
		} `json:"running"`
		Volumes struct {
			Wrote, Read, Driver, Anonymous string
			Listed, Pruned, Left           []string
			Options                        map[string]string
		} `json:"volumes"`
	}
	runClient(t, g, &r, "python3", filepath.Join(clientsDir, "python", "sdk.py"))
	if v := r.Volumes; v.Wrote != "data\n" || v.Read != "data\nread-only\n" || !slices.Equal(v.Listed, []string{"pyvol"}) ||
		v.Driver != "vsphere" || v.Options["Capacity"] != "512MB" || len(v.Anonymous) != 64 ||
		!slices.Contains(v.Pruned, v.Anonymous) || slices.Contains(v.Left, "pyvol") || slices.Contains(v.Left, v.Anonymous) {
		t.Errorf("volumes = %+v", v)
	}

	bb := g.image("busybox")
	if !r.Ping || r.Version.ApiVersion != "1.50" || r.Version.MinAPIVersion != "1.12" {
		t.Errorf("ping %v, version %+v", r.Ping, r.Version)
	}
	if !strings.HasPrefix(r.Pull.ID, "sha256:") || !slices.Contains(r.Pull.Tags, bb+":latest") {
		t.Errorf("pull = %+v", r.Pull)
	}
	if !slices.Contains(r.Tagged, g.reg.Addr+"/pytagged:v1") || !slices.Contains(r.Images, g.reg.Addr+"/pytagged:v1") {
		t.Errorf("tag: tagged %v, images %v", r.Tagged, r.Images)
	}
	if r.Run != "hi\n" {
		t.Errorf(`containers.run("echo hi", remove=True) = %#v, want "hi\n"`, r.Run)
	}
	lc := r.Lifecycle
	// logs() joins both streams in the order the process wrote them.
	if lc.Wait.StatusCode != 3 || lc.Stdout != "out\nout2\n" || lc.Stderr != "err\nerr2\n" || lc.Logs != "out\nerr\nout2\nerr2\n" ||
		lc.Status != "exited" || lc.LogDriver != "json-file" || len(lc.Left) != 0 {
		t.Errorf("create/start/wait/logs/remove = %+v", lc)
	}
	if !slices.Contains(r.Prune.Report.ContainersDeleted, r.Prune.Created) || len(r.Prune.Report.ContainersDeleted) != 1 {
		t.Errorf("containers.prune(filters={'label!': 'keep'}) = %+v", r.Prune)
	}
	for _, k := range []string{"LayersSize", "Images", "Containers", "Volumes", "BuildCache"} {
		if _, ok := r.DF[k]; !ok {
			t.Errorf("df() lacks %s: %v", k, r.DF)
		}
	}
	if n, _ := r.DF["Images"].(float64); n < 2 {
		t.Errorf("df() images = %v", r.DF["Images"])
	}
	for _, a := range []string{"create", "start", "die", "destroy"} {
		if !slices.Contains(r.Events, a) {
			t.Errorf("events lack %s: %v", a, r.Events)
		}
	}
	if r.NotFound["status"] != float64(404) || r.NotFound["message"] != "No such container: no-such-container" {
		t.Errorf("containers.get of a missing container = %v", r.NotFound)
	}
	f := r.Files
	if f.Error != "" || !f.Put || f.Get.Name != "in" || !f.Get.Dir || !slices.Equal(f.Get.Names, []string{"in", "in/f"}) ||
		f.Get.F != "from python\n" {
		t.Errorf("put_archive, get_archive = %+v", f)
	}
	// The SDK names the container by its ID, which dockerd's message repeats.
	if msg, _ := f.Missing["message"].(string); f.Missing["status"] != float64(404) || !strings.HasPrefix(msg, "Could not find the file /nope in container ") {
		t.Errorf("get_archive of a missing path = %v", f.Missing)
	}
	if want := []string{"1 /greeting", "1 /made", "0 /tmp", "1 /tmp/in", "1 /tmp/in/f"}; !slices.Equal(f.Diff, want) {
		t.Errorf("diff() = %q, want %q", f.Diff, want)
	}
	if !strings.HasPrefix(f.Commit.ID, "sha256:") || f.Commit.Run != "hello\n" || f.Commit.Comment != "from python" {
		t.Errorf("commit() = %+v", f.Commit)
	}
	if r.SwarmLeave["forced"] != true || r.SwarmLeave["status"] != float64(503) || r.SwarmLeave["message"] != "This node is not part of a swarm" {
		t.Errorf("swarm.leave(force=True) = %v", r.SwarmLeave)
	}
	run := r.Running
	if run.Error != "" || fmt.Sprint(run.ExecRun) != "[0 hi\n]" || fmt.Sprint(run.ExecRunEnv) != "[3 b\n]" {
		t.Errorf("exec_run = %+v", run)
	}
	if st := run.Stats; st.Memory <= 0 || st.Limit != 2<<30 || st.CPU <= 0 || st.PreCPU <= 0 || st.CPU < st.PreCPU {
		t.Errorf("stats(stream=False) = %+v", st)
	}
	if !slices.Equal(run.Top.Titles, []string{"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"}) ||
		!slices.ContainsFunc(run.Top.Commands, func(c string) bool { return strings.HasPrefix(c, "sh -c i=0") }) {
		t.Errorf("top() = %+v", run.Top)
	}
	if run.Paused != "paused" || run.Unpaused != "running" || len(run.PausedLines) != 2 || run.PausedLines[0] != run.PausedLines[1] {
		t.Errorf("pause(), unpause() = %s, %s, log lines while paused %v", run.Paused, run.Unpaused, run.PausedLines)
	}
}

// TestDockerode is dockerode (npm, pinned in clients/node/package-lock.json) against a VCH: ping, version,
// pull, tag, images, run with output, create/start/wait/logs/remove, prune, df, events and a missing
// container.
func TestDockerode(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed")
	}
	dir := filepath.Join(clientsDir, "node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "dockerode", "package.json")); err != nil {
		// The lock file pins dockerode and everything it needs; .ci/run installs them the same way.
		npm := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		npm.Dir = dir
		if out, err := npm.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
		}
	}
	g := startGuestVCH(t)
	var r struct {
		Dockerode string `json:"dockerode"`
		Ping      string `json:"ping"`
		Version   struct{ ApiVersion, MinAPIVersion string }
		Pull      any      `json:"pull"`
		Tag       []string `json:"tag"`
		Images    []string `json:"images"`
		Run       struct {
			Status         int
			Stdout, Stderr string
		} `json:"run"`
		Lifecycle struct {
			Wait   int                             `json:"wait"`
			Logs   struct{ Stdout, Stderr string } `json:"logs"`
			Status string                          `json:"status"`
			Left   int                             `json:"left"`
		} `json:"lifecycle"`
		Prune struct {
			Created string `json:"created"`
			Report  struct{ ContainersDeleted []string }
		} `json:"prune"`
		DF       map[string]any `json:"df"`
		Events   []string       `json:"events"`
		NotFound map[string]any `json:"not_found"`
		Volumes  struct {
			Wrote, Read struct {
				Status int
				Out    string
			}
			Listed           []string
			Driver, Capacity string
			Gone             map[string]any
		} `json:"volumes"`
	}
	runClient(t, g, &r, "node", filepath.Join(dir, "dockerode.js"))
	if v := r.Volumes; v.Wrote.Out != "data\n" || v.Read.Out != "data\nread-only\n" || !slices.Equal(v.Listed, []string{"nodevol"}) ||
		v.Driver != "vsphere" || v.Capacity != "256MB" || v.Gone["status"] != float64(404) || v.Gone["message"] != "get nodevol: no such volume" {
		t.Errorf("volumes = %+v", v)
	}

	if r.Ping != "OK" || r.Version.ApiVersion != "1.50" || r.Version.MinAPIVersion != "1.12" {
		t.Errorf("ping %q, version %+v", r.Ping, r.Version)
	}
	if s, _ := r.Pull.(string); !strings.HasPrefix(s, "Status: ") {
		t.Errorf("pull's last status = %v", r.Pull)
	}
	if !slices.Contains(r.Tag, g.reg.Addr+"/nodetagged:v1") || !slices.Contains(r.Images, g.reg.Addr+"/nodetagged:v1") {
		t.Errorf("tag: %v, images %v", r.Tag, r.Images)
	}
	if r.Run.Status != 0 || r.Run.Stdout != "hi\n" || r.Run.Stderr != "oops\n" {
		t.Errorf("docker.run(sh -c 'echo hi; echo oops >&2') = %+v", r.Run)
	}
	lc := r.Lifecycle
	if lc.Wait != 3 || lc.Logs.Stdout != "out\n" || lc.Logs.Stderr != "err\n" || lc.Status != "exited" || lc.Left != 0 {
		t.Errorf("create/start/wait/logs/remove = %+v", lc)
	}
	if !slices.Contains(r.Prune.Report.ContainersDeleted, r.Prune.Created) {
		t.Errorf("pruneContainers = %+v", r.Prune)
	}
	for _, k := range []string{"LayersSize", "Images", "Containers", "Volumes", "BuildCache"} {
		if _, ok := r.DF[k]; !ok {
			t.Errorf("df() lacks %s: %v", k, r.DF)
		}
	}
	for _, a := range []string{"create", "start", "die", "destroy"} {
		if !slices.Contains(r.Events, a) {
			t.Errorf("events lack %s: %v", a, r.Events)
		}
	}
	if r.NotFound["status"] != float64(404) || r.NotFound["message"] != "No such container: no-such-container" {
		t.Errorf("inspect of a missing container = %v", r.NotFound)
	}
}

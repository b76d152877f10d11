package dockerapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// TestRunWithMobyClient is `docker run` step by step with the real client over the vcsim backend.
func TestRunWithMobyClient(t *testing.T) {
	s := newStack(t)
	imgID := importImage(t, s, "busybox:latest", `CMD ["sh"]`, "ENV PATH=/bin")
	cli := newClient(t, s)
	ctx := t.Context()

	id, out, _, code := run(t, cli, &container.Config{Image: "busybox", Cmd: []string{"echo", "hello"}}, nil, "hello")
	if out != "hello\n" || code != 0 {
		t.Fatalf("run = %q, %d", out, code)
	}
	insp, err := cli.ContainerInspect(ctx, "hello", client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := insp.Container
	if c.ID != id || c.Name != "/hello" || c.Image != imgID || c.Path != "echo" || len(c.Args) != 1 || c.Args[0] != "hello" ||
		c.State.Status != "exited" || c.State.ExitCode != 0 || c.State.FinishedAt == "" || c.Driver != "vsphere" ||
		c.Platform != "linux" || c.Config.Hostname != id[:12] || c.Config.Image != "busybox" || c.HostConfig == nil ||
		c.NetworkSettings == nil || c.Config.Env[0] != "PATH=/bin" {
		t.Errorf("inspect = %+v, state %+v, config %+v", c, c.State, c.Config)
	}
	var raw map[string]any
	_ = json.Unmarshal(insp.Raw, &raw)
	if st := raw["State"].(map[string]any); st["Paused"] != false || st["OOMKilled"] != false || st["Dead"] != false {
		t.Errorf("raw state = %v", st)
	}
	logs, err := cli.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		t.Fatal(err)
	}
	var lo bytes.Buffer
	_, _ = stdcopy.StdCopy(&lo, io.Discard, logs)
	logs.Close()
	if lo.String() != "hello\n" {
		t.Errorf("logs = %q", lo.String())
	}
	list, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true})
	if err != nil || len(list.Items) != 1 || list.Items[0].Names[0] != "/hello" || list.Items[0].Command != "echo hello" ||
		list.Items[0].Image != "busybox" || !strings.HasPrefix(list.Items[0].Status, "Exited (0) ") {
		t.Errorf("list = %+v, %v", list.Items, err)
	}
	if running, _ := cli.ContainerList(ctx, client.ContainerListOptions{}); len(running.Items) != 0 {
		t.Errorf("running = %+v", running.Items)
	}
	info, _ := cli.Info(ctx, client.InfoOptions{})
	if info.Info.Containers != 1 || info.Info.ContainersStopped != 1 {
		t.Errorf("info counts = %d/%d", info.Info.Containers, info.Info.ContainersStopped)
	}
	if _, err := cli.ContainerRemove(ctx, id[:8], client.ContainerRemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{}); err == nil || !strings.Contains(err.Error(), "No such container: "+id) {
		t.Errorf("inspect after remove: %v", err)
	}

	// The image's command, and --rm.
	_, out, _, code = run(t, cli, &container.Config{Image: "busybox", Cmd: []string{"sh", "-c", "exit 3"}},
		&container.HostConfig{AutoRemove: true}, "")
	if code != 3 {
		t.Errorf("exit 3 = %d (%q)", code, out)
	}
	if all, _ := cli.ContainerList(ctx, client.ContainerListOptions{All: true}); len(all.Items) != 0 {
		t.Errorf("auto-removed container listed: %+v", all.Items)
	}
}

// TestRunFailures are the start errors the docker CLI turns into 126/127, and the create errors.
func TestRunFailures(t *testing.T) {
	s := newStack(t)
	importImage(t, s, "busybox:latest")
	cli := newClient(t, s)
	ctx := t.Context()
	cfg := &container.Config{Image: "busybox", Cmd: []string{"/nonexistent"}, AttachStdout: true}
	created, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cli.ContainerStart(ctx, created.ID, client.ContainerStartOptions{})
	if err == nil || !strings.Contains(err.Error(), `failed to create task for container: `) ||
		!strings.Contains(err.Error(), `exec: "/nonexistent": stat /nonexistent: no such file or directory: unknown`) {
		t.Errorf("start = %v", err)
	}
	insp, _ := cli.ContainerInspect(ctx, created.ID, client.ContainerInspectOptions{})
	// A container whose process never started is "created", as dockerd keeps it, with the exit code and error.
	if insp.Container.State.ExitCode != 127 || insp.Container.State.Error == "" || insp.Container.State.Status != "created" {
		t.Errorf("state = %+v", insp.Container.State)
	}

	for _, c := range []struct {
		name, body, query string
		status            int
		want              string
	}{
		{"malformed", `{"Image":`, "", 400, "invalid JSON"},
		{"no image", `{"Image":"nope","Cmd":["x"]}`, "", 404, "No such image: nope:latest"},
		{"no command", `{"Image":"busybox"}`, "", 400, "no command specified"},
		{"bad name", `{"Image":"busybox","Cmd":["x"]}`, "?name=a%20b", 400, "Invalid container name (a b)"},
		{"ports", `{"Image":"busybox","Cmd":["x"],"HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":"8080"}]}}}`, "", 501,
			"published ports: this VCH's endpoint has no NIC on its bridge network"},
		{"host network", `{"Image":"busybox","Cmd":["x"],"HostConfig":{"NetworkMode":"host"}}`, "", 400, "--network host"},
		{"no such network", `{"Image":"busybox","Cmd":["x"],"HostConfig":{"NetworkMode":"nope"}}`, "", 404, "network nope not found"},
		{"alias on the bridge", `{"Image":"busybox","Cmd":["x"],"NetworkingConfig":{"EndpointsConfig":{"bridge":{"Aliases":["a"]}}}}`, "", 400,
			"network-scoped alias is supported only for containers in user defined networks"},
		{"bind source", `{"Image":"busybox","Cmd":["x"],"HostConfig":{"Mounts":[{"Type":"bind","Source":"/no/such/dir","Target":"/b"}]}}`, "", 400,
			`invalid mount config for type \"bind\": bind source path does not exist: /no/such/dir`},
		{"volume name", `{"Image":"busybox","Cmd":["x"],"HostConfig":{"Binds":["bad?name:/b"]}}`, "", 400, `create bad?name: \"bad?name\" includes invalid characters`},
		{"bind spec", `{"Image":"busybox","Cmd":["x"],"HostConfig":{"Binds":["/a:b"]}}`, "", 400, `invalid volume specification: '/a:b'`},
		{"duplicate", `{"Image":"busybox","Cmd":["x"],"HostConfig":{"Binds":["/a:/b"],"Tmpfs":{"/b":""}}}`, "", 400, `Duplicate mount point: /b`},
		{"created", `{"Image":"busybox","Cmd":["x"]}`, "?name=web", 201, `"Id":"`},
		{"conflict", `{"Image":"busybox","Cmd":["x"]}`, "?name=/web", 409, `Conflict. The container name \"/web\" is already in use by container \"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, err := http.Post(s.srv.URL+"/v1.50/containers/create"+c.query, "application/json", strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status || !strings.Contains(string(b), c.want) {
				t.Errorf("= %d %s, want %d with %q", resp.StatusCode, b, c.status, c.want)
			}
		})
	}
}

// TestLifecycle is stop, start, restart, kill, rename, rm with Docker's statuses and texts.
func TestLifecycle(t *testing.T) {
	s := newStack(t)
	importImage(t, s, "busybox:latest")
	cli := newClient(t, s)
	ctx := t.Context()
	created, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{Name: "web",
		Config: &container.Config{Image: "busybox", Cmd: []string{"sleep", "300"}, Labels: map[string]string{"tier": "front"}}})
	if err != nil {
		t.Fatal(err)
	}
	id := created.ID
	if _, err := cli.ContainerStart(ctx, "web", client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	list, _ := cli.ContainerList(ctx, client.ContainerListOptions{})
	if len(list.Items) != 1 || !strings.HasPrefix(list.Items[0].Status, "Up ") || list.Items[0].State != "running" {
		t.Errorf("ps = %+v", list.Items)
	}
	steps := []struct {
		method, path string
		status       int
		want         string
	}{
		{"POST", "/containers/web/start", 304, ""},
		{"DELETE", "/containers/web", 409, `cannot remove container \"/web\": container is running: stop the container before removing or force remove`},
		{"POST", "/containers/web/kill?signal=USR1", 204, ""},
		// A signal is delivered, not waited for (as in Docker): wait for the exit it causes (128+SIGUSR1).
		{"POST", "/containers/web/wait", 200, `"StatusCode":138`},
		{"POST", "/containers/web/kill", 409, "container " + id + " is not running"},
		{"POST", "/containers/web/stop", 304, ""},
		{"POST", "/containers/web/restart?t=1", 204, ""},
		{"POST", "/containers/web/stop?t=1", 204, ""},
		{"POST", "/containers/web/rename?name=web2", 204, ""},
		{"POST", "/containers/web/json", 404, "page not found"},
		{"GET", "/containers/web/json", 404, "No such container: web"},
		{"GET", "/containers/json?all=1&filters=" + `{"name":["web2"],"status":["exited"],"label":["tier=front"]}`, 200, `"Names":["/web2"]`},
		// A name filter is a regular expression matched with and without the leading slash, as dockerd does.
		{"GET", "/containers/json?all=1&filters=" + url.QueryEscape(`{"name":["^web2$"]}`), 200, `"Names":["/web2"]`},
		{"GET", "/containers/json?all=1&filters=" + url.QueryEscape(`{"name":["^/web2$"]}`), 200, `"Names":["/web2"]`},
		{"GET", "/containers/json?all=1&filters=" + url.QueryEscape(`{"name":["^eb2"]}`), 200, "[]"},
		{"GET", "/containers/json?filters=" + `{"status":["bogus"]}`, 400, "invalid filter 'status=bogus'"},
		{"GET", "/containers/json?filters=" + `{"exited":["138"]}`, 200, "[]"},
		{"POST", "/containers/" + id[:10] + "/start", 204, ""},
		{"POST", "/containers/web2/resize?h=24&w=80", 200, ""},
		{"POST", "/containers/web2/wait?condition=bogus", 400, "invalid condition"},
		{"DELETE", "/containers/web2?force=1", 204, ""},
		{"DELETE", "/containers/web2", 404, "No such container: web2"},
	}
	for _, st := range steps {
		req, _ := http.NewRequest(st.method, s.srv.URL+"/v1.50"+st.path, nil)
		status, body := send(t, req)
		if status != st.status || !strings.Contains(body, st.want) {
			t.Errorf("%s %s = %d %s, want %d with %q", st.method, st.path, status, body, st.status, st.want)
		}
	}
}

// TestLogsFraming checks the multiplexed and raw forms and the stream, tail and timestamp options.
func TestLogsFraming(t *testing.T) {
	s := newStack(t)
	importImage(t, s, "busybox:latest")
	cli := newClient(t, s)
	ctx := t.Context()
	// out2 follows err1 after a pause, so that the log records the streams in the order the program wrote them.
	id, out, errOut, _ := run(t, cli, &container.Config{Image: "busybox",
		Cmd: []string{"sh", "-c", "echo out1; echo err1 >&2; sleep 0.2; echo out2"}}, nil, "lt")
	if out != "out1\nout2\n" || errOut != "err1\n" {
		t.Fatalf("attach = %q %q", out, errOut)
	}
	read := func(o client.ContainerLogsOptions) (string, string) {
		rc, err := cli.ContainerLogs(ctx, id, o)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		var a, b bytes.Buffer
		if _, err := stdcopy.StdCopy(&a, &b, rc); err != nil {
			t.Fatal(err)
		}
		return a.String(), b.String()
	}
	if o, e := read(client.ContainerLogsOptions{ShowStdout: true}); o != "out1\nout2\n" || e != "" {
		t.Errorf("stdout only = %q %q", o, e)
	}
	if o, e := read(client.ContainerLogsOptions{ShowStderr: true}); o != "" || e != "err1\n" {
		t.Errorf("stderr only = %q %q", o, e)
	}
	if o, _ := read(client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Tail: "1"}); o != "out2\n" {
		t.Errorf("tail 1 = %q", o)
	}
	o, _ := read(client.ContainerLogsOptions{ShowStdout: true, Timestamps: true})
	if line, _, _ := strings.Cut(o, "\n"); len(line) != len("2006-01-02T15:04:05.000000000Z out1") || !strings.HasSuffix(line, "Z out1") {
		t.Errorf("timestamps = %q", o)
	}
	if o, _ := read(client.ContainerLogsOptions{ShowStdout: true, Since: time.Now().Add(time.Hour).Format(time.RFC3339)}); o != "" {
		t.Errorf("since the future = %q", o)
	}
	if _, err := cli.ContainerLogs(ctx, id, client.ContainerLogsOptions{}); err == nil || !strings.Contains(err.Error(), "at least one stream") {
		t.Errorf("no stream: %v", err)
	}

	// A tty: raw output, for attach and logs, with the line ending the terminal makes (onlcr), as in Docker.
	tid, out, _, _ := run(t, cli, &container.Config{Image: "busybox", Cmd: []string{"echo", "raw"}, Tty: true}, nil, "")
	if out != "raw\r\n" {
		t.Errorf("tty attach = %q", out)
	}
	resp, err := http.Get(s.srv.URL + "/v1.50/containers/" + tid + "/logs?stdout=1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "raw\r\n" || resp.Header.Get("Content-Type") != "application/vnd.docker.raw-stream" {
		t.Errorf("tty logs = %q %s", b, resp.Header.Get("Content-Type"))
	}

	// By full ID again (the engine knows the tty now and leaves the container to the backend's read of its
	// log): the same raw stream, and once the container is gone, Docker's "No such container".
	logsOf := func(id string) (int, string, string) {
		t.Helper()
		resp, err := http.Get(s.srv.URL + "/v1.50/containers/" + id + "/logs?stdout=1")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	asked := s.tracked.Asked(http.MethodGet, "/v1/containers/"+tid+"/logs")
	if code, ct, body := logsOf(tid); code != http.StatusOK || body != "raw\r\n" || ct != "application/vnd.docker.raw-stream" {
		t.Errorf("tty logs again = %d %s %q", code, ct, body)
	}
	// The simulator's datastore is on this machine: the engine read the log where it is.
	if again := s.tracked.Asked(http.MethodGet, "/v1/containers/"+tid+"/logs"); again != asked {
		t.Errorf("the engine asked the plugin for a log it can read itself (%d requests, then %d)", asked, again)
	}
	// Inspect's LogPath is that file, in json-file's lines.
	insp, err := cli.ContainerInspect(ctx, tid, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(insp.Container.LogPath); err != nil || !strings.Contains(string(data), `"log":"raw\r\n","stream":"stdout","time":"`) {
		t.Errorf("LogPath %q: %q, %v", insp.Container.LogPath, data, err)
	}
	for _, gone := range []string{tid, id} {
		if _, err := cli.ContainerRemove(ctx, gone, client.ContainerRemoveOptions{}); err != nil {
			t.Fatal(err)
		}
		if code, _, body := logsOf(gone); code != http.StatusNotFound || !strings.Contains(body, "No such container: "+gone) {
			t.Errorf("logs of a removed container = %d %q", code, body)
		}
	}
}

// TestInspectKeptUntilAChange: while nothing changes, inspect is answered without asking the plugin; a change
// the engine makes (a stop) is in the very next answer.
func TestInspectKeptUntilAChange(t *testing.T) {
	s := newStack(t)
	importImage(t, s, "busybox:latest")
	cli := newClient(t, s)
	ctx := t.Context()
	created, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{Config: &container.Config{Image: "busybox",
		Cmd: []string{"sleep", "600"}}, Name: "kept"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	path := "/v1/containers/" + created.ID
	inspect := func() (running, asked bool) {
		t.Helper()
		before := s.tracked.Asked(http.MethodGet, path)
		info, err := cli.ContainerInspect(ctx, "kept", client.ContainerInspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return info.Container.State.Running, s.tracked.Asked(http.MethodGet, path) != before
	}
	// The engine follows the backend's change clock from its first description on.
	deadline := time.Now().Add(10 * time.Second)
	for {
		running, asked := inspect()
		if !running {
			t.Fatal("the container is not running")
		}
		if !asked {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("every inspect asked the plugin, though nothing changed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	timeout := 1
	if _, err := cli.ContainerStop(ctx, created.ID, client.ContainerStopOptions{Timeout: &timeout}); err != nil {
		t.Fatal(err)
	}
	if running, asked := inspect(); running || !asked {
		t.Fatalf("after the stop: running %v, asked the plugin %v", running, asked)
	}
}

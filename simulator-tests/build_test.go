package simulatortests

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// buildCLI runs `docker build` (the classic builder: DOCKER_BUILDKIT=0) in dir with a build's patience and
// returns its combined output, exit code and how long it took.
func (g *guestVCH) buildCLI(t *testing.T, dir string, args ...string) (string, int, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", append([]string{"-H", g.host, "build"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), g.env...), "DOCKER_BUILDKIT=0")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return string(out), exit.ExitCode(), took
	}
	if err != nil {
		t.Fatalf("docker build %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), 0, took
}

// writeFiles writes name -> content under dir (executable when the name ends in .sh).
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
}

// buildMessage is one JSON message of POST /build's progress stream.
type buildMessage struct {
	Stream      string
	Aux         struct{ ID string }
	Error       string
	ErrorDetail struct {
		Code    int
		Message string
	}
}

// buildAPI posts a tar of files to POST /build?query on the endpoint's socket and returns its status and
// messages.
func (g *guestVCH) buildAPI(t *testing.T, query string, files map[string]string) (int, []buildMessage) {
	t.Helper()
	var body bytes.Buffer
	tw := tar.NewWriter(&body)
	for name, content := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", g.sock)
		}}}
	resp, err := c.Post("http://vice/build?"+query, "application/x-tar", &body)
	if err != nil {
		t.Fatalf("POST /build?%s: %v", query, err)
	}
	defer resp.Body.Close()
	var msgs []buildMessage
	dec := json.NewDecoder(resp.Body)
	for {
		var m buildMessage
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("POST /build?%s: a message: %v", query, err)
		}
		msgs = append(msgs, m)
	}
	return resp.StatusCode, msgs
}

// TestBuild is issue 18's acceptance with the real docker CLI's classic builder: a two-stage Dockerfile with
// ARG, ENV, RUN, COPY --from, WORKDIR, USER, EXPOSE, HEALTHCHECK and CMD builds, runs and has its history; a
// rebuild takes every step from the cache and runs none (how long it takes is a benchmark's business, not a
// test's); a failing RUN is Docker's message and exit code, its containerVM kept by default as dockerd keeps
// it and removed with --force-rm; .dockerignore keeps a file out of the context.
func TestBuild(t *testing.T) {
	g := startGuestVCH(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"Dockerfile": `# a two-stage build
ARG BASE
FROM ${BASE} AS build
ARG GREETING=hello
ENV TARGET=world
WORKDIR /src
COPY greet.sh lib/ ./
RUN ./greet.sh "$GREETING" > /out.txt && cat /out.txt

FROM $BASE
LABEL org.example.app="demo"
COPY --from=build /out.txt /app/
WORKDIR /app
RUN echo "app:x:1000:1000::/app:/bin/sh" >> /etc/passwd && chown 1000 /app
USER app
EXPOSE 8080/tcp
HEALTHCHECK --interval=30s CMD test -f /app/out.txt
CMD ["cat", "/app/out.txt"]
`,
		"greet.sh":      "#!/bin/sh\n. ./words.sh\necho \"$1 $TARGET $SUFFIX\"\n",
		"lib/words.sh":  "SUFFIX=from-lib\n",
		"secret.txt":    "not for images\n",
		".dockerignore": "secret.txt\n*.md\n",
		"README.md":     "ignored\n",
	})
	base := g.image("busybox")
	out, code, took := g.buildCLI(t, dir, "--build-arg", "BASE="+base, "-t", "app:1", "-t", "app:latest", ".")
	if code != 0 {
		t.Fatalf("first build exited %d:\n%s", code, out)
	}
	t.Logf("first build: %v\n%s", took, out)
	for _, want := range []string{"Step 1/16 : ARG BASE\n", "Step 2/16 : FROM ${BASE} AS build\n", " ---> Running in ", "hello world from-lib\n",
		"Successfully built ", "Successfully tagged app:1\n", "Successfully tagged app:latest\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("the first build's output lacks %q", want)
		}
	}
	if got := g.ok(t, "run", "--rm", "app:1"); got != "hello world from-lib\n" {
		t.Errorf("docker run --rm app:1 = %q", got)
	}
	if got := strings.TrimSpace(g.ok(t, "run", "--rm", "app:1", "id", "-u")); got != "1000" {
		t.Errorf("the image's user: id -u = %q", got)
	}
	insp := g.ok(t, "inspect", "-f", "{{.Config.User}} {{.Config.WorkingDir}} {{json .Config.ExposedPorts}} {{.Config.Healthcheck.Test}} {{index .Config.Labels \"org.example.app\"}}", "app:1")
	if want := `app /app {"8080/tcp":{}} [CMD-SHELL test -f /app/out.txt] demo`; strings.TrimSpace(insp) != want {
		t.Errorf("inspect app:1 = %q, want %q", insp, want)
	}
	hist := g.ok(t, "history", "--no-trunc", "--format", "{{.CreatedBy}}", "app:1")
	for _, want := range []string{`/bin/sh -c #(nop)  CMD ["cat" "/app/out.txt"]`, "/bin/sh -c #(nop)  USER app",
		"/bin/sh -c #(nop)  EXPOSE 8080/tcp", "/bin/sh -c #(nop)  WORKDIR /app", "/bin/sh -c #(nop)  HEALTHCHECK",
		"/bin/sh -c #(nop) COPY file:", `/bin/sh -c echo "app:x:1000`} {
		if !strings.Contains(hist, want) {
			t.Errorf("docker history app:1 lacks %q:\n%s", want, hist)
		}
	}
	// The intermediate images stay out of the list; the first stage's image is dangling, as with dockerd.
	ls := g.ok(t, "images", "--format", "{{.Repository}}:{{.Tag}}")
	all := g.ok(t, "images", "-a", "--format", "{{.Repository}}:{{.Tag}}")
	if strings.Count(ls, "<none>:<none>") != 1 || strings.Count(all, "<none>:<none>") < 12 {
		t.Errorf("docker images:\n%s\ndocker images -a:\n%s", ls, all)
	}
	// docker system df counts and sizes the images docker images lists, as dockerd does.
	top := map[string]bool{}
	for _, id := range strings.Fields(g.ok(t, "images", "-q")) {
		top[id] = true
	}
	df := g.ok(t, "system", "df", "--format", "{{.Type}}={{.TotalCount}}")
	if want := fmt.Sprintf("Images=%d\n", len(top)); !strings.Contains(df, want) {
		t.Errorf("docker system df:\n%s\nwant %q", df, want)
	}

	out, code, took = g.buildCLI(t, dir, "--build-arg", "BASE="+base, "-t", "app:1", ".")
	if code != 0 {
		t.Fatalf("second build exited %d:\n%s", code, out)
	}
	t.Logf("second build: %v\n%s", took, out)
	// Every step but the meta ARG (no image of its own) and the two FROMs (which name their image), as
	// dockerd's, comes from the cache.
	steps := regexp.MustCompile(`(?m)^Step \d+/\d+ : `).Split(out, -1)[1:]
	if len(steps) != 16 {
		t.Errorf("the rebuild has %d steps, want 16:\n%s", len(steps), out)
	}
	for _, step := range steps {
		if step != "ARG BASE\n" && !strings.HasPrefix(step, "FROM ") && !strings.Contains(step, "\n ---> Using cache\n") {
			t.Errorf("a step of the rebuild did not come from the cache: %q", step)
		}
	}
	if strings.Contains(out, "Running in") {
		t.Errorf("the rebuild ran a step")
	}

	// Another build arg value: the RUN that saw it runs again ("|1 GREETING=bye" is its cache key), the
	// steps before it come from the cache.
	out, code, _ = g.buildCLI(t, dir, "--build-arg", "BASE="+base, "--build-arg", "GREETING=bye", "-t", "app:bye", ".")
	if code != 0 || !strings.Contains(out, "bye world from-lib\n") || strings.Count(out, " ---> Using cache") != 5 {
		t.Errorf("a build with another build arg: exit %d\n%s", code, out)
	}
	g.ok(t, "rmi", "app:bye")
	// An intermediate image has children: it cannot be deleted by itself.
	ids := strings.Fields(g.ok(t, "history", "-q", "app:1"))
	if len(ids) < 2 {
		t.Fatalf("docker history -q app:1: %q", ids)
	}
	if out, code := g.run(t, "rmi", ids[1]); code == 0 || !strings.Contains(out, "image has dependent child images") {
		t.Errorf("docker rmi of an intermediate image: exit %d: %s", code, out)
	}

	// A failing RUN: Docker's message with the command's exit code, which the CLI exits with (1 for false);
	// with --force-rm, its containerVM is gone.
	before := g.ok(t, "ps", "-aq")
	writeFiles(t, dir, map[string]string{
		"Dockerfile.fail":  "FROM " + base + "\nRUN echo about to fail && false\n",
		"Dockerfile.fail3": "FROM " + base + "\nRUN echo about to fail && exit 3\n",
	})
	out, code, _ = g.buildCLI(t, dir, "-f", "Dockerfile.fail", "--force-rm", ".")
	if code != 1 || !strings.Contains(out, "about to fail") ||
		!strings.Contains(out, "The command '/bin/sh -c echo about to fail && false' returned a non-zero code: 1") {
		t.Errorf("failing RUN: exit %d:\n%s", code, out)
	}
	if after := g.ok(t, "ps", "-aq"); after != before {
		t.Errorf("a build with --force-rm left containers: before %q, after %q", before, after)
	}
	// Without --force-rm the failed step's container stays, as dockerd leaves it, for the user to look into;
	// the CLI exits with the command's code, as it does with dockerd.
	out, code, _ = g.buildCLI(t, dir, "-f", "Dockerfile.fail3", ".")
	if code != 3 || !strings.Contains(out, "The command '/bin/sh -c echo about to fail && exit 3' returned a non-zero code: 3") {
		t.Errorf("failing RUN without --force-rm: exit %d:\n%s", code, out)
	}
	kept := strings.Fields(g.ok(t, "ps", "-aq", "--filter", "status=exited"))
	if len(kept) != 1 {
		t.Fatalf("a failed build's containers: %q", kept)
	}
	if got := strings.TrimSpace(g.ok(t, "inspect", "-f", "{{.State.ExitCode}} {{json .Config.Cmd}}", kept[0])); got != `3 ["/bin/sh","-c","echo about to fail && exit 3"]` {
		t.Errorf("the failed step's container: %s", got)
	}
	g.ok(t, "rm", kept[0])

	// A build the client cancels (ctrl-c) while a RUN runs: the step's containerVM goes, as dockerd's does.
	writeFiles(t, dir, map[string]string{"Dockerfile.slow": "FROM " + base + "\nRUN echo started && sleep 600\n"})
	cmd := exec.Command("docker", "-H", g.host, "build", "--no-cache", "-f", "Dockerfile.slow", ".")
	cmd.Dir, cmd.Env = dir, append(append(os.Environ(), g.env...), "DOCKER_BUILDKIT=0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started, read := make(chan struct{}), make(chan string, 1)
	go func() {
		var out strings.Builder
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			out.WriteString(sc.Text() + "\n")
			if sc.Text() == "started" {
				close(started)
			}
		}
		io.Copy(io.Discard, stdout)
		read <- out.String()
	}()
	select {
	case <-started:
	case <-time.After(3 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("the slow RUN did not start")
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	// What the CLI exits with after its SIGINT is its own race (a read that fails with the cancelled context
	// exits 130, or 0 when it sees context.Canceled unwrapped), the same against dockerd; what the engine
	// controls is that the build never reports success and its step's containerVM goes.
	if out := <-read; strings.Contains(out, "Successfully built") {
		t.Errorf("a cancelled build reported success:\n%s", out)
	}
	if err == nil {
		t.Logf("the cancelled build's CLI exited 0 (the CLI's race after SIGINT)")
	}
	waitFor(t, 2*time.Minute, "the cancelled step's containerVM to go", func() bool {
		return g.ok(t, "ps", "-aq") == before
	})

	// .dockerignore: the file is not in the context.
	writeFiles(t, dir, map[string]string{"Dockerfile.ignored": "FROM " + base + "\nCOPY secret.txt /\n"})
	out, code, _ = g.buildCLI(t, dir, "-f", "Dockerfile.ignored", ".")
	if code != 1 || !strings.Contains(out, "COPY failed: file not found in build context or excluded by .dockerignore: stat secret.txt: file does not exist") {
		t.Errorf("COPY of an ignored file: exit %d:\n%s", code, out)
	}

	// Deleting the image takes its intermediate images with it.
	g.ok(t, "rmi", "app:latest")
	rmi := g.ok(t, "rmi", "app:1")
	if n := strings.Count(rmi, "Deleted: sha256:"); n < 10 {
		t.Errorf("docker rmi app:1 deleted %d images and layers:\n%s", n, rmi)
	}
}

// tarGz writes a gzip'd tar of name -> content to path.
func tarGz(t *testing.T, path string, files map[string]string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	for name, content := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o640, Size: int64(len(content)), Uid: 7, Gid: 8,
			ModTime: time.Unix(1700000000, 0), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestBuildInstructions covers the rest of the classic builder with the docker CLI: ADD's tar unpacking and
// a URL, COPY --chown, SHELL, ENV expansion, VOLUME, STOPSIGNAL, ENTRYPOINT with CMD, ONBUILD triggers run by
// a child build, --target, --label, -q, --no-cache, a gzip'd context (--compress), the platform check, and a
// remote context refused.
func TestBuildInstructions(t *testing.T) {
	g := startGuestVCH(t)
	dir := t.TempDir()
	bb := g.image("busybox")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Last-Modified", "Tue, 14 Nov 2023 22:13:20 GMT")
		io.WriteString(w, "downloaded\n")
	}))
	defer srv.Close()
	writeFiles(t, dir, map[string]string{
		"Dockerfile.a": "FROM " + bb + "\nSHELL [\"/bin/sh\", \"-ec\"]\nADD files.tar.gz /opt/\nADD " + srv.URL + "/fetched.txt /opt/\n" +
			"COPY --chown=1234:5678 owned.txt /opt/owned/\nENV BIN=/opt/bin\nENV PATH=$BIN:$PATH\nVOLUME /var/data\nSTOPSIGNAL SIGINT\n" +
			"ENTRYPOINT [\"/bin/sh\", \"-c\"]\nCMD [\"echo default\"]\nONBUILD RUN echo triggered > /onbuild.txt\n",
		"Dockerfile.b": "FROM onbuild:1 AS first\nFROM " + bb + " AS second\nCOPY --from=first /onbuild.txt /\n",
		"owned.txt":    "mine\n",
	})
	tarGz(t, filepath.Join(dir, "files.tar.gz"), map[string]string{"dir/inner.txt": "unpacked\n"})

	out, code, _ := g.buildCLI(t, dir, "-f", "Dockerfile.a", "-t", "onbuild:1", "--compress", ".")
	if code != 0 {
		t.Fatalf("build a: exit %d\n%s", code, out)
	}
	if got := g.ok(t, "run", "--rm", "onbuild:1", "ls -ln /opt/dir/inner.txt /opt/owned/owned.txt /opt/fetched.txt; cat /opt/dir/inner.txt /opt/fetched.txt; echo $PATH"); !regexp.MustCompile(
		`(?s)-rw-r----- +1 7 +8 +9 .* /opt/dir/inner.txt\n-rw------- +1 0 +0 +11 .* /opt/fetched.txt\n-rw-r--r-- +1 1234 +5678 +5 .* /opt/owned/owned.txt\nunpacked\ndownloaded\n/opt/bin:/usr/local/sbin`).MatchString(got) {
		t.Errorf("the image's files:\n%s", got)
	}
	if got := g.ok(t, "run", "--rm", "onbuild:1"); got != "default\n" {
		t.Errorf("ENTRYPOINT with CMD: %q", got)
	}
	insp := strings.TrimSpace(g.ok(t, "inspect", "-f", "{{json .Config.Volumes}} {{.Config.StopSignal}} {{json .Config.Shell}} {{json .Config.OnBuild}}", "onbuild:1"))
	if want := `{"/var/data":{}} SIGINT ["/bin/sh","-ec"] ["RUN echo triggered > /onbuild.txt"]`; insp != want {
		t.Errorf("inspect onbuild:1 = %s, want %s", insp, want)
	}

	// The child build: the trigger runs after FROM; --target stops at the first stage; -q prints the ID only.
	out, code, _ = g.buildCLI(t, dir, "-q", "-f", "Dockerfile.b", "--target", "first", "--label", "team=blue", "-t", "child:1", ".")
	// The CLI's own deprecation notice aside, the output is the image ID.
	if code != 0 || !regexp.MustCompile(`\A(?:(?:DEPRECATED|  ).*\n|\n)*sha256:[0-9a-f]{64}\n\z`).MatchString(out) {
		t.Fatalf("build -q: exit %d: %q", code, out)
	}
	if got := g.ok(t, "run", "--rm", "child:1", "cat /onbuild.txt"); got != "triggered\n" {
		t.Errorf("the ONBUILD trigger: %q", got)
	}
	if got := strings.TrimSpace(g.ok(t, "inspect", "-f", "{{index .Config.Labels \"team\"}} {{json .Config.OnBuild}}", "child:1")); got != "blue null" {
		t.Errorf("child:1's label and triggers: %q", got)
	}
	// --no-cache runs the steps again.
	out, code, _ = g.buildCLI(t, dir, "--no-cache", "-f", "Dockerfile.b", "-t", "child:2", ".")
	if code != 0 || strings.Contains(out, "Using cache") || !strings.Contains(out, "# Executing 1 build trigger") {
		t.Errorf("--no-cache: exit %d\n%s", code, out)
	}

	// COPY --from with wildcards: each match, a directory's contents; a path that is not there, or a pattern
	// matching nothing, fails the build with Docker's words and leaves no container behind.
	writeFiles(t, dir, map[string]string{
		"Dockerfile.wild":    "FROM onbuild:1 AS first\nFROM " + bb + "\nCOPY --from=first /opt/*.txt /opt/d?r/*.txt /op?/owned /got/\n",
		"Dockerfile.missing": "FROM onbuild:1 AS first\nFROM " + bb + "\nCOPY --from=first /opt/missing.txt /got/\n",
		"Dockerfile.nomatch": "FROM onbuild:1 AS first\nFROM " + bb + "\nCOPY --from=first /opt/*.none /got/\n",
	})
	out, code, _ = g.buildCLI(t, dir, "-f", "Dockerfile.wild", "-t", "wild:1", ".")
	if code != 0 {
		t.Fatalf("COPY --from with wildcards: exit %d\n%s", code, out)
	}
	if got := g.ok(t, "run", "--rm", "wild:1", "sh", "-c", "ls /got; cat /got/*"); got != "fetched.txt\ninner.txt\nowned.txt\ndownloaded\nunpacked\nmine\n" {
		t.Errorf("COPY --from with wildcards wrote:\n%s", got)
	}
	for df, want := range map[string]string{
		"Dockerfile.missing": "COPY failed: stat /opt/missing.txt: file does not exist",
		"Dockerfile.nomatch": "COPY failed: no source files were specified",
	} {
		if out, code, _ := g.buildCLI(t, dir, "-f", df, "."); code != 1 || !strings.Contains(out, want) {
			t.Errorf("%s: exit %d, want 1 and %q:\n%s", df, code, want, out)
		}
	}
	if left := strings.TrimSpace(g.ok(t, "ps", "-aq")); left != "" {
		t.Errorf("failed COPY --from builds left containers: %q", left)
	}

	// FROM scratch: the first COPY is the first layer; a RUN runs the binary it brought.
	bin, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatalf("the static busybox (busybox-static) the test images are made of: %v", err)
	}
	scratch := t.TempDir()
	writeFiles(t, scratch, map[string]string{"Dockerfile": "FROM scratch\nCOPY busybox /bin/\n" +
		"RUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\nCMD [\"sh\", \"-c\", \"echo from scratch; ls /bin | grep -c .\"]\n"})
	if err := os.WriteFile(filepath.Join(scratch, "busybox"), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	out, code, _ = g.buildCLI(t, scratch, "-t", "scratch:1", ".")
	if code != 0 || !strings.Contains(out, "Step 1/4 : FROM scratch\n ---> \nStep 2/4 : COPY busybox /bin/\n") {
		t.Fatalf("FROM scratch: exit %d\n%s", code, out)
	}
	if got := g.ok(t, "run", "--rm", "scratch:1"); !regexp.MustCompile(`\Afrom scratch\n[1-9][0-9]+\n\z`).MatchString(got) {
		t.Errorf("docker run scratch:1: %q", got)
	}
	if got := strings.TrimSpace(g.ok(t, "history", "-q", "scratch:1")); len(strings.Fields(got)) != 3 {
		t.Errorf("scratch:1 has %d images in its history, want 3 (COPY, RUN, CMD):\n%s", len(strings.Fields(got)), got)
	}

	// A changed file: the steps before its COPY come from the cache, the COPY and what follows do not.
	writeFiles(t, dir, map[string]string{"owned.txt": "changed\n"})
	out, code, _ = g.buildCLI(t, dir, "-f", "Dockerfile.a", "-t", "onbuild:2", ".")
	if code != 0 || strings.Count(out, " ---> Using cache") != 3 {
		t.Errorf("a rebuild after a change: exit %d\n%s", code, out)
	}

	out, code, _ = g.buildCLI(t, dir, "--platform", "linux/arm64", "-f", "Dockerfile.b", ".")
	if code == 0 || !strings.Contains(out, `vice builds linux/amd64 images only, not "linux/arm64"`) {
		t.Errorf("--platform linux/arm64: exit %d\n%s", code, out)
	}
	var msg struct{ Message string }
	if st := g.api(t, "POST", "/build?remote=git%3A%2F%2F127.0.0.1%2Frepo.git", nil, &msg); st != http.StatusBadRequest ||
		!strings.Contains(msg.Message, "does not fetch remote contexts") {
		t.Errorf("a remote context: %d %q", st, msg.Message)
	}
	// The progress stream in Docker's JSON messages: each stage's image in an aux message, the last the
	// build's; a failed step's errorDetail carries the command's exit code, which the CLI exits with.
	st, msgs := g.buildAPI(t, "t=api%3A1", map[string]string{"Dockerfile": "FROM " + bb + " AS one\nRUN echo one > /one\nFROM " + bb + "\nCOPY --from=one /one /\n"})
	var auxes []string
	for _, m := range msgs {
		if m.Aux.ID != "" {
			auxes = append(auxes, m.Aux.ID)
		}
		if m.Error != "" {
			t.Errorf("POST /build: %s", m.Error)
		}
	}
	if id := strings.TrimSpace(g.ok(t, "inspect", "-f", "{{.Id}}", "api:1")); st != http.StatusOK || len(auxes) != 2 || auxes[1] != id {
		t.Errorf("POST /build: %d, aux IDs %q, api:1 is %s", st, auxes, id)
	}
	st, msgs = g.buildAPI(t, "forcerm=1", map[string]string{"Dockerfile": "FROM " + bb + "\nRUN exit 7\n"})
	if len(msgs) == 0 {
		t.Fatalf("POST /build of a failing RUN: %d and no message", st)
	}
	if last := msgs[len(msgs)-1]; st != http.StatusOK || last.ErrorDetail.Code != 7 ||
		last.Error != "The command '/bin/sh -c exit 7' returned a non-zero code: 7" || last.ErrorDetail.Message != last.Error {
		t.Errorf("POST /build of a failing RUN: %d, last message %+v", st, last)
	}

	// BuildKit's endpoints say what to do instead.
	if st := g.api(t, "POST", "/session", nil, &msg); st != http.StatusNotImplemented || !strings.Contains(msg.Message, "DOCKER_BUILDKIT=0") {
		t.Errorf("POST /session: %d %q", st, msg.Message)
	}
}

package dockerapi_test

import (
	"archive/tar"
	"bytes"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// tarball is a tar of files (name to contents; a name ending in "/" is a directory).
func tarball(t *testing.T, files ...string) *bytes.Reader {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i := 0; i+1 < len(files); i += 2 {
		name, body := files[i], files[i+1]
		h := &tar.Header{Name: name, Mode: 0o640, Typeflag: tar.TypeReg, Size: int64(len(body)), ModTime: time.Unix(1e9, 0)}
		if strings.HasSuffix(name, "/") {
			h.Typeflag, h.Mode, h.Size = tar.TypeDir, 0o755, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		_, _ = tw.Write([]byte(body))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(buf.Bytes())
}

func tarNames(t *testing.T, r io.Reader) map[string]string {
	t.Helper()
	out := map[string]string{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		out[h.Name] = string(b)
	}
}

// changes renders a diff as `docker diff` prints it.
func changes(t *testing.T, cli *client.Client, id string) []string {
	t.Helper()
	res, err := cli.ContainerDiff(t.Context(), id, client.ContainerDiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range res.Changes {
		out = append(out, c.Kind.String()+" "+c.Path)
	}
	return out
}

// startAndWait starts a created container and waits for its exit code.
func startAndWait(t *testing.T, cli *client.Client, id string) int64 {
	t.Helper()
	wait := cli.ContainerWait(t.Context(), id, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	if _, err := cli.ContainerStart(t.Context(), id, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case res := <-wait.Result:
		return res.StatusCode
	case err := <-wait.Error:
		t.Fatal(err)
	case <-time.After(guestWait):
		t.Fatal("wait did not return")
	}
	return -1
}

// TestArchiveCommitExport copies into a container that never ran, runs it, lists its changes, commits it
// into an image that runs, and exports it into one that does too.
func TestArchiveCommitExport(t *testing.T) {
	s := newStack(t)
	importImage(t, s, "busybox:latest")
	cli := newClient(t, s)
	ctx := t.Context()
	created, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{Name: "cp-target", Config: &container.Config{
		Image: "busybox", Cmd: []string{"sh", "-c", "cat /in/f; rm /etc/group; mkdir /new; touch /etc/x"}}})
	if err != nil {
		t.Fatal(err)
	}
	id := created.ID

	if _, err := cli.CopyToContainer(ctx, "cp-target", client.CopyToContainerOptions{DestinationPath: "/",
		Content: tarball(t, "in/", "", "in/f", "copied\n")}); err != nil {
		t.Fatalf("copy into a created container: %v", err)
	}
	st, err := cli.ContainerStatPath(ctx, "cp-target", client.ContainerStatPathOptions{Path: "/in/f"})
	if err != nil || st.Stat.Name != "f" || st.Stat.Mode != 0o640 || st.Stat.Size != 7 || !st.Stat.Mtime.Equal(time.Unix(1e9, 0)) {
		t.Errorf("stat /in/f = %+v, %v", st.Stat, err)
	}
	st, err = cli.ContainerStatPath(ctx, "cp-target", client.ContainerStatPathOptions{Path: "/bin/sh"})
	if err != nil || st.Stat.Mode&os.ModeSymlink == 0 || st.Stat.LinkTarget != "/bin/busybox" {
		t.Errorf("stat /bin/sh = %+v, %v", st.Stat, err)
	}
	if _, err := cli.CopyFromContainer(ctx, "cp-target", client.CopyFromContainerOptions{SourcePath: "/nope"}); err == nil ||
		!strings.Contains(err.Error(), "Could not find the file /nope in container cp-target") {
		t.Errorf("copy of a missing path: %v", err)
	}
	code, hdr, _ := do(t, s.api, http.MethodHead, "/containers/cp-target/archive?path=/nope", "", "")
	if code != http.StatusNotFound || hdr.Get("X-Docker-Container-Path-Stat") != "" {
		t.Errorf("HEAD of a missing path: %d %v", code, hdr)
	}
	if code, _, body := do(t, s.api, http.MethodGet, "/containers/cp-target/archive", "", ""); code != http.StatusBadRequest ||
		!strings.Contains(body, "bad parameter: pathcannot be empty") {
		t.Errorf("GET without a path: %d %s", code, body)
	}
	_, err = cli.CopyToContainer(ctx, "cp-target", client.CopyToContainerOptions{DestinationPath: "/in/f", Content: tarball(t, "x", "")})
	if err == nil || !strings.Contains(err.Error(), "extraction point is not a directory") {
		t.Errorf("copy onto a file: %v", err)
	}
	if info, _ := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{}); info.Container.State.Status != "created" {
		t.Fatalf("the copies started the container: %s", info.Container.State.Status)
	}

	if code := startAndWait(t, cli, id); code != 0 {
		t.Fatalf("the container exited with %d", code)
	}
	want := []string{"C /etc", "D /etc/group", "A /etc/x", "A /in", "A /in/f", "A /new"}
	if got := changes(t, cli, id); !slices.Equal(got, want) {
		t.Errorf("diff %q, want %q", got, want)
	}
	cp, err := cli.CopyFromContainer(ctx, id, client.CopyFromContainerOptions{SourcePath: "/in/."})
	if err != nil {
		t.Fatal(err)
	}
	if got := tarNames(t, cp.Content); got["./f"] != "copied\n" || cp.Stat.Name != "." || !cp.Stat.Mode.IsDir() {
		t.Errorf("copy of /in/. = %q, stat %+v", got, cp.Stat)
	}
	cp.Content.Close()

	// Commit: the changes become a layer, the instructions the config.
	_, err = cli.ContainerCommit(ctx, id, client.ContainerCommitOptions{Reference: "committed:1", Changes: []string{"RUN true"}})
	if err == nil || !strings.Contains(err.Error(), "run is not a valid change command") {
		t.Errorf("commit with RUN: %v", err)
	}
	com, err := cli.ContainerCommit(ctx, id, client.ContainerCommitOptions{Reference: "committed:1", Comment: "by test",
		Author: "tester", Changes: []string{`CMD ["cat","/in/f"]`, "ENV K=v"}})
	if err != nil {
		t.Fatal(err)
	}
	img, err := s.engine.Images().Inspect(ctx, "committed:1")
	if err != nil {
		t.Fatal(err)
	}
	if img.ID != com.ID || !slices.Equal(img.Config.Cmd, []string{"cat", "/in/f"}) || !slices.Contains(img.Config.Env, "K=v") ||
		len(img.RootFS.Layers) != 2 || img.Author != "tester" {
		t.Errorf("committed image %+v %+v", img, img.Config)
	}
	hist, err := s.engine.Images().History(ctx, "committed:1")
	if err != nil || len(hist) < 2 || hist[0].Comment != "by test" || hist[0].Size == 0 {
		t.Errorf("history %+v, %v", hist, err)
	}
	if _, out, _, code := run(t, cli, &container.Config{Image: "committed:1"}, nil, ""); out != "copied\n" || code != 0 {
		t.Errorf("the committed image ran %q with %d", out, code)
	}

	// Export, then import: a runnable image of the container's filesystem.
	exp, err := cli.ContainerExport(ctx, id, client.ContainerExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(exp)
	exp.Close()
	if err != nil {
		t.Fatal(err)
	}
	names := tarNames(t, bytes.NewReader(data))
	if names["in/f"] != "copied\n" || names["etc/x"] != "" || slices.Contains(keys(names), "etc/group") {
		t.Errorf("export %q", keys(names))
	}
	if _, err := cli.ImageImport(ctx, client.ImageImportSource{Source: bytes.NewReader(data), SourceName: "-"}, "exported:1", client.ImageImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, out, _, code := run(t, cli, &container.Config{Image: "exported:1", Cmd: []string{"ls", "/in", "/new"}}, nil, ""); code != 0 || !strings.Contains(out, "f\n") {
		t.Errorf("the imported export ran %q with %d", out, code)
	}
}

// TestCommitRunning commits a running container, paused meanwhile, which runs on afterwards.
func TestCommitRunning(t *testing.T) {
	s := newStack(t)
	importImage(t, s, "busybox:latest")
	cli := newClient(t, s)
	ctx := t.Context()
	created, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{Config: &container.Config{
		Image: "busybox", Cmd: []string{"sh", "-c", "echo hello > /greeting; while :; do sleep 1; done"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = cli.ContainerRemove(ctx, created.ID, client.ContainerRemoveOptions{Force: true}) })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if _, err := cli.ContainerStatPath(ctx, created.ID, client.ContainerStatPathOptions{Path: "/greeting"}); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the container never wrote /greeting")
		}
	}
	if _, err := cli.ContainerCommit(ctx, created.ID, client.ContainerCommitOptions{Reference: "greeter",
		Changes: []string{`CMD ["cat","/greeting"]`}}); err != nil {
		t.Fatal(err)
	}
	info, err := cli.ContainerInspect(ctx, created.ID, client.ContainerInspectOptions{})
	if err != nil || !info.Container.State.Running || info.Container.State.Paused {
		t.Errorf("after the commit the container is %+v, %v", info.Container.State, err)
	}
	if _, out, _, _ := run(t, cli, &container.Config{Image: "greeter"}, nil, ""); out != "hello\n" {
		t.Errorf("the committed image ran %q", out)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

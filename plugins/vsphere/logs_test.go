package vsphere

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
	"github.com/vice-engine/vice/tether/wire"
)

// logLine is one output.log record as the tether writes it.
func logLine(t *testing.T, msg string, at time.Time) string {
	t.Helper()
	data, err := json.Marshal(wire.LogRecord{Log: msg + "\n", Stream: "stdout", Time: at})
	if err != nil {
		t.Fatal(err)
	}
	return string(data) + "\n"
}

func appendLog(t *testing.T, file, text string) {
	t.Helper()
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

func readLogs(t *testing.T, e *containerEnv, id string, opts sdk.LogOptions) string {
	t.Helper()
	rc, err := e.b.ContainerLogs(context.Background(), id, opts)
	if err != nil {
		t.Fatalf("ContainerLogs: %v", err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestContainerLogs reads output.log through the datastore's HTTP API: here the test writes the file where
// the emulator's serial port would, and plays the guest for the follow case.
func TestContainerLogs(t *testing.T) {
	e := newContainerEnv(t)
	info := e.create(t, spec("logger", "", models.Process{Path: "/bin/echo"}, nil))
	id := *info.ID
	if got := readLogs(t, e, id, sdk.LogOptions{Tail: -1}); got != "" {
		t.Fatalf("logs before any output: %q", got)
	}

	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	lines := []string{logLine(t, "one", base), logLine(t, "two", base.Add(time.Second)), logLine(t, "three", base.Add(2*time.Second))}
	file := e.local(info.VMName + "/" + outputLog)
	appendLog(t, file, strings.Join(lines, "")+`{"log":"torn`) // a torn last record is not a record yet

	cases := []struct {
		name string
		opts sdk.LogOptions
		want string
	}{
		{"all", sdk.LogOptions{Tail: -1}, lines[0] + lines[1] + lines[2]},
		{"tail", sdk.LogOptions{Tail: 2}, lines[1] + lines[2]},
		{"tail 0", sdk.LogOptions{Tail: 0}, ""},
		{"since", sdk.LogOptions{Tail: -1, Since: base.Add(time.Second)}, lines[1] + lines[2]},
		{"until", sdk.LogOptions{Tail: -1, Until: base.Add(time.Second)}, lines[0]},
	}
	for _, c := range cases {
		if got := readLogs(t, e, id, c.opts); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}

	// Follow a running container: new records arrive as they are appended; the stream ends once the
	// container exits and the file is drained.
	g, _ := e.startWithFakeGuest(t, info)
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	rc, err := e.b.ContainerLogs(ctx, id, sdk.LogOptions{Follow: true, Tail: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	buf := make([]byte, 4096)
	n, err := io.ReadAtLeast(rc, buf, len(lines[2]))
	if err != nil || string(buf[:n]) != lines[2] {
		t.Fatalf("follow, first read %q %v", buf[:n], err)
	}
	four := logLine(t, "four", base.Add(3*time.Second))
	appendLog(t, file, `ed"}`+"\n"+four) // completes the partial record, then one more
	want := `{"log":"torned"}` + "\n" + four
	n, err = io.ReadAtLeast(rc, buf, len(want))
	if err != nil || string(buf[:n]) != want {
		t.Fatalf("follow, appended record %q %v", buf[:n], err)
	}
	five := logLine(t, "five", base.Add(4*time.Second))
	appendLog(t, file, five)
	if err := g.exit(ctx, 0); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(rc)
	if err != nil || string(rest) != five {
		t.Fatalf("follow, after exit %q %v", rest, err)
	}
}

// TestFollowedLogsOutliveRemoval follows a container's logs, and removes the container as soon as it exits
// before reading the stream, as the Docker SDK for Python's containers.run(remove=True) does: what the
// process wrote last still reaches the follower, read by the removal before the VM's files went.
func TestFollowedLogsOutliveRemoval(t *testing.T) {
	e := newContainerEnv(t)
	info := e.create(t, spec("brief", "", models.Process{Path: "/bin/echo"}, nil))
	id := *info.ID
	g, _ := e.startWithFakeGuest(t, info)
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	file := e.local(info.VMName + "/" + outputLog)
	first := logLine(t, "first", time.Now().UTC())
	appendLog(t, file, first)
	// The follower holds "first" until the stream is read, so it reads nothing more before the removal.
	rc, err := e.b.ContainerLogs(ctx, id, sdk.LogOptions{Follow: true, Tail: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	last := logLine(t, "last words", time.Now().UTC())
	appendLog(t, file, last)
	if err := g.exit(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if err := e.b.RemoveContainer(ctx, id, false); err != nil {
		t.Fatalf("RemoveContainer: %v", err)
	}
	if got, err := io.ReadAll(rc); err != nil || string(got) != first+last {
		t.Errorf("followed logs of a container removed at its exit: %q %v, want %q", got, err, first+last)
	}
}

// A log read without following goes straight to the container's folder, known from the create's read of its
// VM; a container removed since is still "not found", not an empty log.
func TestLogsOfRemovedContainer(t *testing.T) {
	e := newContainerEnv(t)
	info := e.create(t, spec("gone", "", models.Process{Path: "/bin/echo"}, nil))
	id := *info.ID
	if _, known := e.b.ctr.folders.Load(id); !known {
		t.Fatalf("the create's read did not record the container's folder")
	}
	line := logLine(t, "bye", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	appendLog(t, e.local(info.VMName+"/"+outputLog), line)
	if got := readLogs(t, e, id, sdk.LogOptions{Tail: -1}); got != line {
		t.Fatalf("logs %q, want %q", got, line)
	}
	if err := e.b.RemoveContainer(context.Background(), id, false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.b.ContainerLogs(context.Background(), id, sdk.LogOptions{Tail: -1}); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("logs of the removed container: %v, want not found", err)
	}
}

// On a datastore whose files are on this machine a log is read where it is; the answers are the ones the
// datastore's HTTP API gives for the same ranges.
func TestLocalFileRangeReadsAsDownload(t *testing.T) {
	ctx := context.Background()
	s := startSim(t, oneCluster(), nil)
	b := newBackend(t, s.config())
	if _, err := b.prepareLayers(ctx); err != nil {
		t.Fatal(err)
	}
	if b.layers.local.Load() == nil {
		t.Fatal("the simulator's datastore is not read locally")
	}
	dir := filepath.Join(datastoreDir(t, b), "logtest")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	content := "one\ntwo\nthree, unfinished"
	if err := os.WriteFile(filepath.Join(dir, "output.log"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		rel    string
		offset int64
	}{
		{"logtest/output.log", 0}, {"logtest/output.log", 4}, {"logtest/output.log", int64(len(content))},
		{"logtest/output.log", int64(len(content)) + 10}, {"logtest/missing.log", 0},
	} {
		data, exists, err := b.readFileRange(ctx, c.rel, c.offset)
		wdata, wexists, werr := b.downloadRange(ctx, c.rel, c.offset)
		if err != nil || werr != nil {
			t.Fatalf("%s from %d: local %v, download %v", c.rel, c.offset, err, werr)
		}
		if string(data) != string(wdata) || exists != wexists {
			t.Errorf("%s from %d: local %q (exists %v), download %q (exists %v)", c.rel, c.offset, data, exists, wdata, wexists)
		}
	}
}

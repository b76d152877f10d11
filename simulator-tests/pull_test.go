package simulatortests

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/vice-engine/vice/simulator-tests/fixtures"
)

// TestPullKilledMidway kills vice-engine with SIGKILL while a pull streams its layers into the layer store:
// the new endpoint lists no image and no layer of it, nothing half-written is left in the image store, and
// the same pull then completes.
func TestPullKilledMidway(t *testing.T) {
	img, err := fixtures.LayeredImage()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	blobs := map[string]bool{}
	for _, l := range layers {
		d, _ := l.Digest()
		blobs[d.String()] = true
	}
	// Each layer blob sends its first half, then stalls while stall is set.
	var stall atomic.Bool
	stall.Store(true)
	stalled := make(chan string, len(blobs))
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		digest := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
		if !stall.Load() || r.Method != http.MethodGet || !blobs[digest] {
			h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		w.Header().Set("Content-Length", strings.TrimSpace(rec.Header().Get("Content-Length")))
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body[:len(body)/2])
		w.(http.Flusher).Flush()
		stalled <- digest
		<-r.Context().Done()
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	ref, _ := name.ParseReference(addr+"/killed:latest", name.Insecure)
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}

	v := startVCH(t)
	env := []string{"DOCKER_CONFIG=" + t.TempDir()}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pull := exec.CommandContext(ctx, "docker", "-H", v.host, "pull", addr+"/killed")
	pull.Env = append(os.Environ(), env...)
	if err := pull.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-stalled:
	case <-ctx.Done():
		t.Fatal("no layer blob was requested")
	}
	time.Sleep(200 * time.Millisecond) // the half blob is in the layer store's temporary folder by now
	plugin := pluginPID(t, v)
	if err := syscall.Kill(v.engine.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = v.engine.Wait()
	_ = pull.Wait()
	// The plugin goes with its host (go-plugin); its writes broke off with their streams.
	for deadline := time.Now().Add(10 * time.Second); processAlive(plugin) && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	_ = syscall.Kill(plugin, syscall.SIGKILL)
	stall.Store(false)
	v.startEngine(t)

	run := func(args ...string) string {
		t.Helper()
		out, err := v.docker(t, env, args...)
		if err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	if out := run("images", "--format", "{{.Repository}}"); strings.Contains(out, "killed") {
		t.Fatalf("the interrupted pull left an image:\n%s", out)
	}
	out := run("pull", addr+"/killed")
	if !strings.Contains(out, "Pull complete") || !strings.Contains(out, "Downloaded newer image") {
		t.Fatalf("pull after the restart:\n%s", out)
	}
	if out := run("images", "--format", "{{.Repository}}"); !strings.Contains(out, "killed") {
		t.Fatalf("the image is not listed:\n%s", out)
	}
	// The new endpoint's image store swept the interrupted writes when it was first used.
	entries, err := os.ReadDir(filepath.Join(v.dir, "datastore", "VIC", "vch-e2e", "images"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("the image store still holds %s, left by the interrupted pull", e.Name())
		}
	}
}

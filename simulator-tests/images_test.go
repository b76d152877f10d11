package simulatortests

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vice-engine/vice/simulator-tests/fixtures"
)

// TestImages drives the image verbs with the real docker CLI against vice-engine, the vcsim plugin and its
// layer store, pulling from fixture registries served by this test process.
func TestImages(t *testing.T) {
	reg, err := fixtures.StartRegistry("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := reg.Seed(ctx, false); err != nil {
		t.Fatal(err)
	}
	authReg, err := fixtures.StartRegistry("127.0.0.1:0", fixtures.WithBasicAuth("alice", "s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	defer authReg.Close()
	bbImg, err := fixtures.BusyboxImage()
	if err != nil {
		t.Fatal(err)
	}
	if err := authReg.Push(ctx, fixtures.Busybox, bbImg); err != nil {
		t.Fatal(err)
	}

	v := startVCH(t)
	// A private docker config: the test never touches ~/.docker.
	env := []string{"DOCKER_CONFIG=" + t.TempDir()}
	bb := reg.Addr + "/busybox"
	run := func(t *testing.T, args ...string) string {
		t.Helper()
		out, err := v.docker(t, env, args...)
		if err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	fails := func(t *testing.T, want string, args ...string) {
		t.Helper()
		out, err := v.docker(t, env, args...)
		if err == nil || !strings.Contains(out, want) {
			t.Fatalf("docker %s: %v\n%s\nwant a failure saying %q", strings.Join(args, " "), err, out, want)
		}
	}

	var id string
	t.Run("Pull", func(t *testing.T) {
		out := run(t, "pull", bb)
		for _, want := range []string{"latest: Pulling from busybox", "Pull complete", "Digest: sha256:", "Status: Downloaded newer image for " + bb + ":latest"} {
			if !strings.Contains(out, want) {
				t.Errorf("docker pull output lacks %q:\n%s", want, out)
			}
		}
		out = run(t, "pull", bb)
		if !strings.Contains(out, "Status: Image is up to date for "+bb+":latest") {
			t.Errorf("second pull:\n%s", out)
		}
	})
	t.Run("ImagesAndInspect", func(t *testing.T) {
		out := run(t, "images", "--no-trunc", "--format", "{{.Repository}}|{{.Tag}}|{{.ID}}|{{.Size}}")
		if !strings.Contains(out, bb+"|latest|sha256:") || !strings.Contains(out, "MB") {
			t.Fatalf("docker images:\n%s", out)
		}
		id = strings.TrimSpace(run(t, "image", "inspect", "--format", "{{.Id}}", bb))
		out = run(t, "image", "inspect", "--format", "{{.Os}}/{{.Architecture}} {{len .RootFS.Layers}} {{index .RepoTags 0}}", bb)
		if strings.TrimSpace(out) != "linux/amd64 1 "+bb+":latest" {
			t.Errorf("inspect: %s", out)
		}
	})
	t.Run("TagAndRmi", func(t *testing.T) {
		run(t, "tag", bb, "mine/busybox:v1")
		out := run(t, "rmi", "mine/busybox:v1")
		if !strings.Contains(out, "Untagged: mine/busybox:v1") || strings.Contains(out, "Deleted:") {
			t.Errorf("rmi tag:\n%s", out)
		}
		run(t, "tag", bb, "mine/busybox:v1")
		fails(t, "must be forced", "rmi", id[7:19])
		out = run(t, "rmi", "-f", id[7:19])
		if !strings.Contains(out, "Deleted: "+id) {
			t.Errorf("rmi -f:\n%s", out)
		}
		run(t, "pull", bb)
	})
	t.Run("PullNotFound", func(t *testing.T) {
		fails(t, "repository "+reg.Addr+"/nope not found", "pull", reg.Addr+"/nope")
	})
	t.Run("SaveLoad", func(t *testing.T) {
		archive := filepath.Join(t.TempDir(), "bb.tar")
		run(t, "save", "-o", archive, bb)
		run(t, "rmi", bb)
		out := run(t, "load", "-i", archive)
		if !strings.Contains(out, "Loaded image: "+bb+":latest") {
			t.Errorf("load:\n%s", out)
		}
		if got := strings.TrimSpace(run(t, "image", "inspect", "--format", "{{.Id}}", bb)); got != id {
			t.Errorf("loaded ID %s, pulled %s", got, id)
		}
	})
	t.Run("LoginAndAuthPull", func(t *testing.T) {
		fails(t, "docker login", "pull", authReg.Ref(fixtures.Busybox))
		fails(t, "401", "login", "-u", "alice", "-p", "wrong", authReg.Addr)
		out := run(t, "login", "-u", "alice", "-p", "s3cret", authReg.Addr)
		if !strings.Contains(out, "Login Succeeded") {
			t.Errorf("login:\n%s", out)
		}
		run(t, "pull", authReg.Ref(fixtures.Busybox))
		if _, err := os.Stat(filepath.Join(strings.TrimPrefix(env[0], "DOCKER_CONFIG="), "config.json")); err != nil {
			t.Errorf("the login was not kept in the private config: %v", err)
		}
	})
	t.Run("RestartKeepsImages", func(t *testing.T) {
		v.restartEngine(t)
		if got := strings.TrimSpace(run(t, "image", "inspect", "--format", "{{.Id}}", bb)); got != id {
			t.Errorf("after restart: %q, want %s", got, id)
		}
	})
}

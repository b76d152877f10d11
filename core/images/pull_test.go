package images_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/simulator-tests/fixtures"
)

func TestPullEachFixture(t *testing.T) {
	e := newEnv(t)
	for _, image := range []string{fixtures.Busybox, fixtures.BusyboxOther, fixtures.Layered, fixtures.Configured, fixtures.MultiArch} {
		e.pull(t, image)
		ref, _ := name.ParseReference(reg.Ref(image))
		img, err := remote.Image(ref, remote.WithPlatform(imagecDefault()))
		if err != nil {
			t.Fatal(err)
		}
		cfgName, _ := img.ConfigName()
		got, err := e.svc.Inspect(t.Context(), reg.Ref(image))
		if err != nil {
			t.Fatalf("inspect %s: %v", image, err)
		}
		cfg, _ := img.ConfigFile()
		if got.ID != cfgName.String() || len(got.RootFS.Layers) != len(cfg.RootFS.DiffIDs) || got.Architecture != "amd64" || got.Os != "linux" {
			t.Errorf("%s: inspect = %+v, want ID %s", image, got, cfgName)
		}
		for i, d := range cfg.RootFS.DiffIDs {
			if got.RootFS.Layers[i] != d.String() {
				t.Errorf("%s: layer %d = %s, want %s", image, i, got.RootFS.Layers[i], d)
			}
		}
		if got.Size <= 0 || !slices.Contains(got.RepoTags, reg.Ref(image)) || len(got.RepoDigests) == 0 {
			t.Errorf("%s: size %d tags %v digests %v", image, got.Size, got.RepoTags, got.RepoDigests)
		}
	}
	got, _ := e.svc.Inspect(t.Context(), reg.Ref(fixtures.Configured))
	c := got.Config
	if !slices.Equal(c.Entrypoint, []string{"/bin/echo", "entrypoint"}) || c.WorkingDir != "/tmp" || c.User != "nobody" ||
		c.Labels["org.example.fixture"] != "configured" || len(c.ExposedPorts) != 1 || len(c.Volumes) != 1 {
		t.Errorf("configured config = %+v", c)
	}
	arm, _ := e.svc.Inspect(t.Context(), reg.Ref(fixtures.MultiArch))
	if arm.Config.Labels["arch"] == "arm64" {
		t.Errorf("multiarch picked arm64")
	}
}

func TestPullProgressAndUpToDate(t *testing.T) {
	e := newEnv(t)
	msgs := e.pull(t, fixtures.Busybox)
	st := statuses(msgs)
	ref, _ := name.ParseReference(reg.Ref(fixtures.Busybox))
	img, _ := remote.Image(ref)
	layers, _ := img.Layers()
	d, _ := layers[0].Digest()
	short := d.Hex[:12]
	want := []string{"latest Pulling from busybox", short + " Pulling fs layer", short + " Downloading",
		short + " Verifying Checksum", short + " Download complete", short + " Extracting", short + " Pull complete"}
	var got []string
	for _, s := range st {
		if len(got) == 0 || got[len(got)-1] != s {
			got = append(got, s)
		}
	}
	if !slices.Equal(got[:len(want)], want) {
		t.Fatalf("progress = %q\nwant prefix %q", got, want)
	}
	if !strings.HasPrefix(st[len(st)-2], "Digest: sha256:") || st[len(st)-1] != "Status: Downloaded newer image for "+reg.Ref(fixtures.Busybox) {
		t.Fatalf("last lines = %q", st[len(st)-2:])
	}
	for _, m := range msgs {
		if m.Status == "Downloading" && (m.Detail == nil || m.Detail.Total == 0 || !strings.HasPrefix(m.Progress, "[")) {
			t.Errorf("downloading message without progress: %+v", m)
		}
	}
	st = statuses(e.pull(t, fixtures.Busybox))
	if len(st) != 3 || st[2] != "Status: Image is up to date for "+reg.Ref(fixtures.Busybox) {
		t.Fatalf("second pull = %q", st)
	}
	// Another tag of the same image: its layer is there already.
	st = statuses(e.pull(t, fixtures.BusyboxOther))
	if !slices.Contains(st, "Status: Downloaded newer image for "+reg.Ref(fixtures.BusyboxOther)) {
		t.Fatalf("busybox:1.35 = %q", st)
	}
	// A different image sharing the base layer says "Already exists" for it.
	st = statuses(e.pull(t, fixtures.Configured))
	if !slices.Contains(st, short+" Already exists") {
		t.Fatalf("configured = %q", st)
	}
	if n := e.tracked.LayerWrites(d.Hex); n != 0 {
		// the base layer's chain ID is its diff ID, not its blob digest
		t.Errorf("a layer keyed by blob digest was written")
	}
	cfg, _ := img.ConfigFile()
	if n := e.tracked.LayerWrites(cfg.RootFS.DiffIDs[0].Hex); n != 1 {
		t.Errorf("base layer written %d times", n)
	}
	if n := e.tracked.LayerFetches(cfg.RootFS.DiffIDs[0].Hex); n != 1 {
		t.Errorf("the plugin downloaded the base layer %d times, want 1 (not through the engine)", n)
	}
	ev := <-e.events
	if ev.action != "pull" || ev.id != reg.Ref(fixtures.Busybox) {
		t.Errorf("first event = %+v", ev)
	}
}

func TestPullByDigest(t *testing.T) {
	e := newEnv(t)
	ref, _ := name.ParseReference(reg.Ref(fixtures.Busybox))
	desc, err := remote.Get(ref)
	if err != nil {
		t.Fatal(err)
	}
	byDigest := reg.Addr + "/busybox@" + desc.Digest.String()
	msgs, err := e.tryPull(t.Context(), byDigest, "")
	if err != nil {
		t.Fatal(err)
	}
	if msgs[0].ID != desc.Digest.String() || !strings.Contains(statuses(msgs)[len(msgs)-1], "Downloaded newer image for "+byDigest) {
		t.Errorf("messages = %q", statuses(msgs))
	}
	got, err := e.svc.Inspect(t.Context(), byDigest)
	if err != nil || len(got.RepoTags) != 0 || got.RepoDigests[0] != byDigest {
		t.Errorf("inspect by digest = %+v, %v", got, err)
	}
}

func TestPullPlatform(t *testing.T) {
	e := newEnv(t)
	if _, err := e.tryPull(t.Context(), reg.Ref(fixtures.MultiArch), "linux/arm64"); err != nil {
		t.Fatal(err)
	}
	got, _ := e.svc.Inspect(t.Context(), reg.Ref(fixtures.MultiArch))
	if got.Architecture != "arm64" || got.Config.Labels["arch"] != "arm64" {
		t.Errorf("platform linux/arm64 gave %s", got.Architecture)
	}
	_, err := e.tryPull(t.Context(), reg.Ref(fixtures.MultiArch), "linux/s390x")
	if !errors.Is(err, errdefs.ErrNotFound) || !strings.Contains(err.Error(), "no matching manifest for linux/s390x") {
		t.Errorf("s390x = %v", err)
	}
}

func TestPullErrors(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		ref   string
		class error
		msg   string
	}{
		{reg.Addr + "/nope", errdefs.ErrNotFound, "repository " + reg.Addr + "/nope not found: name unknown: Unknown name"},
		{reg.Addr + "/busybox:nope", errdefs.ErrNotFound, "manifest for " + reg.Addr + "/busybox:nope not found: manifest unknown: Unknown manifest"},
		{"Busybox", errdefs.ErrInvalid, "invalid reference format: repository name (Busybox) must be lowercase"},
		{"10.255.255.1:1/x", errdefs.ErrForbidden, "plain HTTP is allowed for --insecure-registry registries only"},
	} {
		ctx, cancel := context.WithTimeout(t.Context(), 20e9)
		_, err := e.tryPull(ctx, c.ref, "")
		cancel()
		if !errors.Is(err, c.class) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("pull %s = %v (class %s), want %v %q", c.ref, err, errdefs.Class(err), c.class, c.msg)
		}
	}
}

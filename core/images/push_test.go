package images_test

import (
	"archive/tar"
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/moby/api/types/registry"

	"github.com/vice-engine/vice/core/images"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/simulator-tests/fixtures"
)

func (e *env) push(t *testing.T, o images.PushOptions) ([]images.Message, error) {
	t.Helper()
	var msgs []images.Message
	err := e.svc.Push(t.Context(), o, func(m images.Message) { msgs = append(msgs, m) })
	return msgs, err
}

// remoteConfigDigest is the config digest of the manifest a registry holds under ref.
func remoteConfigDigest(t *testing.T, ref string) string {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r)
	if err != nil {
		t.Fatalf("%s in the registry: %v", ref, err)
	}
	d, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

func TestPushMountsExistingAndUploadsNew(t *testing.T) {
	e := newEnv(t)
	e.pull(t, fixtures.Busybox)
	id := e.imageID(t, reg.Ref(fixtures.Busybox))
	if err := e.svc.Tag(t.Context(), reg.Ref(fixtures.Busybox), reg.Addr+"/mine", "1"); err != nil {
		t.Fatal(err)
	}
	msgs, err := e.push(t, images.PushOptions{Name: reg.Addr + "/mine", Tag: "1"})
	if err != nil {
		t.Fatal(err)
	}
	st := strings.Join(statuses(msgs), "\n")
	for _, want := range []string{"The push refers to repository [" + reg.Addr + "/mine]", " Preparing", " Mounted from busybox", "1: digest: sha256:"} {
		if !strings.Contains(st, want) {
			t.Errorf("push lacks %q:\n%s", want, st)
		}
	}
	last := msgs[len(msgs)-1]
	if res, ok := last.Aux.(images.PushResult); !ok || res.Tag != "1" || !strings.HasPrefix(res.Digest, "sha256:") || res.Size == 0 {
		t.Errorf("last message = %+v", last)
	}
	if got := remoteConfigDigest(t, reg.Addr+"/mine:1"); got != id {
		t.Errorf("the registry's image has config %s, the store's ID is %s", got, id)
	}
	// Pushed again, the registry has it all.
	msgs, _ = e.push(t, images.PushOptions{Name: reg.Addr + "/mine", Tag: "1"})
	if st := strings.Join(statuses(msgs), "\n"); !strings.Contains(st, " Layer already exists") {
		t.Errorf("second push:\n%s", st)
	}
	// The store now knows the image's digest in the new repository.
	insp, err := e.svc.Inspect(t.Context(), id)
	if err != nil || !strings.Contains(strings.Join(insp.RepoDigests, " "), reg.Addr+"/mine@sha256:") {
		t.Errorf("repo digests after the push = %v, %v", insp.RepoDigests, err)
	}
}

func TestPushUploadsAndAllTags(t *testing.T) {
	e := newEnv(t)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Name: "hello.txt", Mode: 0o644, Size: 5})
	_, _ = tw.Write([]byte("hello"))
	_ = tw.Close()
	id, err := e.svc.Import(t.Context(), images.ImportOptions{Source: &buf, Repo: reg.Addr + "/imported", Tag: "a",
		Changes: []string{"CMD [\"/hello\"]"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Tag(t.Context(), id, reg.Addr+"/imported", "b"); err != nil {
		t.Fatal(err)
	}
	msgs, err := e.push(t, images.PushOptions{Name: reg.Addr + "/imported"})
	if err != nil {
		t.Fatal(err)
	}
	st := strings.Join(statuses(msgs), "\n")
	for _, want := range []string{" Pushing", " Pushed", "a: digest: sha256:", "b: digest: sha256:", " Layer already exists"} {
		if !strings.Contains(st, want) {
			t.Errorf("push --all-tags lacks %q:\n%s", want, st)
		}
	}
	for _, tag := range []string{"a", "b"} {
		if got := remoteConfigDigest(t, reg.Addr+"/imported:"+tag); got != id {
			t.Errorf("imported:%s has config %s, want %s", tag, got, id)
		}
	}
}

func TestPushErrors(t *testing.T) {
	e := newEnv(t)
	e.pull(t, fixtures.Busybox)
	for _, c := range []struct {
		o     images.PushOptions
		class error
		msg   string
	}{
		{images.PushOptions{Name: reg.Addr + "/none"}, errdefs.ErrNotFound, "An image does not exist locally with the tag: " + reg.Addr + "/none"},
		{images.PushOptions{Name: reg.Addr + "/busybox", Tag: "9"}, errdefs.ErrNotFound, "tag does not exist: " + reg.Addr + "/busybox:9"},
		{images.PushOptions{Name: "Busybox"}, errdefs.ErrInvalid, "invalid reference format: repository name (Busybox) must be lowercase"},
	} {
		_, err := e.push(t, c.o)
		if !errdefs.Is(err, c.class) || !strings.HasPrefix(err.Error(), c.msg) {
			t.Errorf("push %+v = %v, want %q", c.o, err, c.msg)
		}
	}

	secured, err := fixtures.StartRegistry("127.0.0.1:0", fixtures.WithBasicAuth("alice", "s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	defer secured.Close()
	if err := e.svc.Tag(context.Background(), reg.Ref(fixtures.Busybox), secured.Addr+"/bb", "1"); err != nil {
		t.Fatal(err)
	}
	_, err = e.push(t, images.PushOptions{Name: secured.Addr + "/bb", Tag: "1"})
	if !errdefs.Is(err, errdefs.ErrUnauthorized) || !strings.Contains(err.Error(), "unauthorized: authentication required") {
		t.Errorf("push without credentials = %v", err)
	}
	msgs, err := e.push(t, images.PushOptions{Name: secured.Addr + "/bb", Tag: "1",
		Auth: registry.AuthConfig{Username: "alice", Password: "s3cret"}})
	if err != nil {
		t.Fatalf("push with credentials: %v", err)
	}
	if st := strings.Join(statuses(msgs), "\n"); !strings.Contains(st, " Pushed") {
		t.Errorf("push to another registry:\n%s", st)
	}
}

func (e *env) imageID(t *testing.T, ref string) string {
	t.Helper()
	insp, err := e.svc.Inspect(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return insp.ID
}

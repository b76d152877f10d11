package simulatortests

import (
	"strings"
	"testing"

	"github.com/vice-engine/vice/simulator-tests/fixtures"
)

// TestPushAndPullAllTags is `docker push` (a tag, --all-tags, to a registry that wants a login) and
// `docker pull --all-tags` through the docker CLI, and an image's round trip through a registry: pushed,
// removed, pulled back with the same ID.
func TestPushAndPullAllTags(t *testing.T) {
	g := startGuestVCH(t)
	bb := g.image("busybox")
	id := strings.TrimSpace(g.ok(t, "inspect", "-f", "{{.Id}}", bb))
	mine := g.reg.Addr + "/mine"
	g.ok(t, "tag", bb, mine+":1")
	out := g.ok(t, "push", mine+":1")
	t.Logf("docker push:\n%s", out)
	for _, want := range []string{"The push refers to repository [" + mine + "]", ": Mounted from busybox", "1: digest: sha256:"} {
		if !strings.Contains(out, want) {
			t.Errorf("push lacks %q:\n%s", want, out)
		}
	}
	if out := g.ok(t, "push", mine+":1"); !strings.Contains(out, ": Layer already exists") {
		t.Errorf("second push:\n%s", out)
	}

	// The round trip: every reference and the image go, the pull brings back the same image.
	g.ok(t, "rmi", "-f", id)
	if out, code := g.run(t, "inspect", id); code == 0 {
		t.Fatalf("the image is still there after rmi -f:\n%s", out)
	}
	g.ok(t, "pull", mine+":1")
	if got := strings.TrimSpace(g.ok(t, "inspect", "-f", "{{.Id}}", mine+":1")); got != id {
		t.Errorf("pulled back %s, pushed %s", got, id)
	}

	// --all-tags pushes every tag of the repository; pull --all-tags brings every tag back.
	g.ok(t, "tag", mine+":1", mine+":2")
	out = g.ok(t, "push", "--all-tags", mine)
	if !strings.Contains(out, "1: digest: sha256:") || !strings.Contains(out, "2: digest: sha256:") {
		t.Errorf("push --all-tags:\n%s", out)
	}
	g.ok(t, "rmi", mine+":1", mine+":2")
	out = g.ok(t, "pull", "--all-tags", mine)
	if !strings.Contains(out, "Status: Downloaded newer image for "+mine) {
		t.Errorf("pull --all-tags:\n%s", out)
	}
	if tags := g.ok(t, "images", "--format", "{{.Tag}}", mine); tags != "1\n2\n" && tags != "2\n1\n" {
		t.Errorf("tags after pull --all-tags = %q", tags)
	}
	if out, code := g.run(t, "push", g.reg.Addr+"/nothing:1"); code == 0 ||
		!strings.Contains(out, "An image does not exist locally with the tag: "+g.reg.Addr+"/nothing") {
		t.Errorf("push of an image that is not there = %d\n%s", code, out)
	}

	// A registry that wants a login: refused without one, accepted after docker login.
	secured, err := fixtures.StartRegistry("127.0.0.1:0", fixtures.WithBasicAuth("alice", "s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	defer secured.Close()
	g.ok(t, "tag", mine+":1", secured.Addr+"/bb:1")
	if out, code := g.run(t, "push", secured.Addr+"/bb:1"); code == 0 || !strings.Contains(out, "unauthorized: authentication required") {
		t.Errorf("push without a login = %d\n%s", code, out)
	}
	g.ok(t, "login", "-u", "alice", "-p", "s3cret", secured.Addr)
	if out := g.ok(t, "push", secured.Addr+"/bb:1"); !strings.Contains(out, ": Pushed") {
		t.Errorf("push after login:\n%s", out)
	}
}

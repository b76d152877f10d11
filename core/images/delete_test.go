package images_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/image"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/simulator-tests/fixtures"
)

func untagged(resp []image.DeleteResponse) (u, d []string) {
	for _, r := range resp {
		if r.Untagged != "" {
			u = append(u, r.Untagged)
		}
		if r.Deleted != "" {
			d = append(d, r.Deleted)
		}
	}
	return u, d
}

func TestDeleteRules(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.pull(t, fixtures.Busybox)
	bb := reg.Ref(fixtures.Busybox)
	got, _ := e.svc.Inspect(ctx, bb)
	id := got.ID
	if _, err := e.svc.Delete(ctx, "nope", false, true); !errors.Is(err, errdefs.ErrNotFound) || err.Error() != "No such image: nope:latest: not found" {
		t.Fatalf("rmi nope = %v", err)
	}
	if err := e.svc.Tag(ctx, bb, "other", ""); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Tag(ctx, id[7:19], "other", "v2"); err != nil { // by short ID
		t.Fatal(err)
	}
	// By ID with tags in two repositories: refused without force.
	_, err := e.svc.Delete(ctx, id[7:19], false, true)
	if !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), "unable to delete "+id[7:19]+" (must be forced) - image is referenced in multiple repositories") {
		t.Fatalf("rmi id = %v", err)
	}
	// By tag: untag only.
	resp, err := e.svc.Delete(ctx, "other:latest", false, true)
	if u, d := untagged(resp); err != nil || len(u) != 1 || u[0] != "other:latest" || len(d) != 0 {
		t.Fatalf("rmi other = %+v, %v", resp, err)
	}
	// Filters.
	list, _ := e.svc.List(ctx, map[string][]string{"reference": {"other"}})
	if len(list) != 1 || len(list[0].RepoTags) != 1 || list[0].RepoTags[0] != "other:v2" {
		t.Errorf("reference filter = %+v", list)
	}
	for _, d := range list[0].RepoDigests {
		if !strings.HasPrefix(d, "other@") {
			t.Errorf("the reference filter kept the digest %s of another repository", d)
		}
	}
	if list, _ := e.svc.List(ctx, map[string][]string{"dangling": {"true"}}); len(list) != 0 {
		t.Errorf("dangling = %+v", list)
	}
	if list, _ := e.svc.List(ctx, map[string][]string{"label": {"nope"}}); len(list) != 0 {
		t.Errorf("label = %+v", list)
	}
	if _, err := e.svc.List(ctx, map[string][]string{"bogus": {"x"}}); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("bogus filter = %v", err)
	}
	// Force by ID: every reference goes, then the image and its layer.
	resp, err = e.svc.Delete(ctx, id, true, true)
	u, d := untagged(resp)
	if err != nil || len(u) != 3 || len(d) != 2 || d[0] != id {
		t.Fatalf("rmi -f = %+v, %v", resp, err)
	}
	if n, _ := e.svc.Count(ctx); n != 0 {
		t.Errorf("%d images left", n)
	}
	// By the last tag: the repository's digest goes with it, then the image.
	e.pull(t, fixtures.Configured)
	resp, err = e.svc.Delete(ctx, reg.Ref(fixtures.Configured), false, true)
	u, d = untagged(resp)
	if err != nil || len(u) != 2 || !strings.Contains(u[1], "@sha256:") || len(d) != 2 {
		t.Fatalf("rmi last tag = %+v, %v", resp, err)
	}
	// Two images sharing a layer: removing one keeps it.
	e.pull(t, fixtures.Busybox)
	e.pull(t, fixtures.Configured)
	resp, _ = e.svc.Delete(ctx, reg.Ref(fixtures.Configured), false, true)
	if _, d := untagged(resp); len(d) != 1 {
		t.Errorf("shared layer removed: %+v", resp)
	}
	if layers, _ := e.backend.ListLayers(ctx); len(layers) != 1 {
		t.Errorf("%d layers, want the shared one", len(layers))
	}
	var actions []string
	for len(e.events) > 0 {
		actions = append(actions, (<-e.events).action)
	}
	if s := strings.Join(actions, ","); !strings.Contains(s, "tag") || !strings.Contains(s, "untag") || !strings.Contains(s, "delete") {
		t.Errorf("events = %s", s)
	}
}

package portlayer_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// A shared listing says what ListContainers says, decodes a container again only when its description
// changed, and keeps the decodings of unchanged ones; the specs it has are not sent again.
func TestListContainersShared(t *testing.T) {
	c, p, _ := newClient(t)
	ctx := t.Context()
	a, b := createContainer(t, p, "shared-a"), createContainer(t, p, "shared-b")
	byID := func(list []*models.ContainerInfo) map[string]*models.ContainerInfo {
		out := map[string]*models.ContainerInfo{}
		for _, i := range list {
			out[*i.ID] = i
		}
		return out
	}
	list := func() map[string]*models.ContainerInfo {
		t.Helper()
		got, err := c.ListContainersShared(ctx, sdk.ListFilter{})
		if err != nil {
			t.Fatal(err)
		}
		plain, err := c.ListContainers(ctx, sdk.ListFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, plain) {
			t.Errorf("shared listing %v, ListContainers %v", got, plain)
		}
		return byID(got)
	}
	first := list()
	// The second listing names the specs it has (knownSpec): the backend leaves them out, and the specs
	// decoded the first time are taken.
	warm := list()
	if warm[a] == nil || warm[b] == nil || warm[a].Spec != first[a].Spec || warm[b].Spec != first[b].Spec {
		t.Fatalf("the specs of unchanged containers were decoded again")
	}
	second := list()
	if second[a] != warm[a] || second[b] != warm[b] {
		t.Fatalf("unchanged containers were decoded again: %p %p, then %p %p", warm[a], warm[b], second[a], second[b])
	}
	if _, err := c.RenameContainer(ctx, a, "shared-a2"); err != nil {
		t.Fatal(err)
	}
	third := list()
	if third[a] == second[a] || *third[a].Name != "shared-a2" || third[b] != second[b] {
		t.Errorf("after renaming a: a %p %s (was %p), b %p (was %p)", third[a], *third[a].Name, second[a], third[b], second[b])
	}
	if none, err := c.ListContainersShared(ctx, sdk.ListFilter{Names: []string{"no-such-name"}}); err != nil || len(none) != 0 {
		t.Errorf("a filter matching nothing: %v %v", none, err)
	}
}

// A shared description says what GetContainer says, and is decoded again only when it changed.
func TestGetContainerShared(t *testing.T) {
	c, p, _ := newClient(t)
	ctx := t.Context()
	a := createContainer(t, p, "described-a")
	get := func() *models.ContainerInfo {
		t.Helper()
		got, err := c.GetContainerShared(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := c.GetContainer(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, plain) {
			t.Errorf("shared description %v, GetContainer %v", got, plain)
		}
		return got
	}
	first, second := get(), get()
	if first != second {
		t.Fatalf("an unchanged description was decoded again: %p, then %p", first, second)
	}
	if _, err := c.RenameContainer(ctx, a, "described-a2"); err != nil {
		t.Fatal(err)
	}
	if third := get(); third == second || *third.Name != "described-a2" {
		t.Errorf("after the rename: %p %s (was %p)", third, *third.Name, second)
	}
	if _, err := c.GetContainerShared(ctx, strings.Repeat("f", 64)); !errdefs.Is(err, errdefs.ErrNotFound) {
		t.Errorf("a missing container: %v, want not found", err)
	}
}

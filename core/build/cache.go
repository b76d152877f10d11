package build

import (
	"context"
	"encoding/json"
	"reflect"
	"sort"

	"github.com/moby/moby/api/types/container"
)

// cached looks for the image an earlier build made with this step, as the classic builder's cache does: a
// child of the stage's current image whose container config (the step's command and config) is probe's.
// On a hit the stage moves to it and the step says "Using cache".
func (b *builder) cached(ctx context.Context, st *stage, probe *container.Config) bool {
	if b.o.NoCache {
		return false
	}
	kids, err := b.s.images.Children(ctx, st.imageID)
	if err != nil {
		b.s.log.Debug("build cache lookup", "parent", st.imageID, "err", err)
		return false
	}
	want := cacheKey(probe)
	for _, k := range kids {
		var m struct {
			ContainerConfig *container.Config `json:"container_config"`
		}
		if json.Unmarshal(k.Config, &m) != nil || m.ContainerConfig == nil {
			continue
		}
		if reflect.DeepEqual(cacheKey(m.ContainerConfig), want) {
			b.stream(" ---> Using cache\n")
			b.stream(" ---> %s\n", shortID(k.ID))
			st.imageID = k.ID
			return true
		}
	}
	return false
}

// cacheKey is the part of a step's container config the cache compares: all of it but what names the
// container itself (image, host and domain name, MAC address), empty lists and maps as none, through JSON so
// that a stored config and a fresh one compare alike.
func cacheKey(c *container.Config) map[string]any {
	n := cloneConfig(c)
	n.Image, n.Hostname, n.Domainname = "", "", ""
	b, _ := json.Marshal(n)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	for k, v := range m {
		switch x := v.(type) {
		case nil:
			delete(m, k)
		case []any:
			if len(x) == 0 {
				delete(m, k)
			}
		case map[string]any:
			if len(x) == 0 {
				delete(m, k)
			}
		case string:
			if x == "" {
				delete(m, k)
			}
		case bool:
			if !x {
				delete(m, k)
			}
		}
	}
	delete(m, "MacAddress")
	return m
}

func sortedStrings(s []string) []string {
	sort.Strings(s)
	return s
}

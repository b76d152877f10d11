package dockerapi

import (
	"context"
	"fmt"
	"net/http"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/volume"

	"github.com/vice-engine/vice/core/engine"
	"github.com/vice-engine/vice/core/internal/dockermsg"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// Pruner is the engine's half of the prune and disk-usage routes; *engine.Engine implements it.
type Pruner interface {
	PruneContainers(ctx context.Context, filters map[string][]string) (container.PruneReport, error)
	PruneImages(ctx context.Context, filters map[string][]string) (image.PruneReport, error)
	PruneNetworks(ctx context.Context, filters map[string][]string) (network.PruneReport, error)
	PruneVolumes(ctx context.Context, filters map[string][]string, anonymousOnly bool) (volume.PruneReport, error)
	DiskUsage(ctx context.Context, o engine.DiskUsageOptions) (engine.DiskUsage, error)
}

var _ Pruner = (*engine.Engine)(nil)

// pruneRoutes are POST /containers/prune, POST /images/prune and GET /system/df, and the prunes of what vice
// has none of yet (volumes, a build cache), which answer that nothing was pruned.
func (a *API) pruneRoutes() []route {
	return []route{
		newRoute(http.MethodPost, "/containers/prune", a.pruneContainers),
		newRoute(http.MethodPost, "/images/prune", a.pruneImages),
		newRoute(http.MethodGet, "/system/df", a.diskUsage),
		newRoute(http.MethodPost, "/volumes/prune", a.pruneVolumes),
		newRoute(http.MethodPost, "/build/prune", pruneNothing(`{"CachesDeleted":null,"SpaceReclaimed":0}`,
			"until", "id", "parent", "type", "description", "inuse", "shared", "private")),
	}
}

func (a *API) pruneContainers(w http.ResponseWriter, r *http.Request) error {
	f, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	rep, err := a.eng.PruneContainers(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rep)
}

func (a *API) pruneImages(w http.ResponseWriter, r *http.Request) error {
	f, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	rep, err := a.eng.PruneImages(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rep)
}

// pruneVolumes is POST /volumes/prune: before API 1.42 every unused volume, from it only anonymous ones
// unless the all filter says otherwise, which it only accepts from then on.
func (a *API) pruneVolumes(w http.ResponseWriter, r *http.Request) error {
	f, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	rep, err := a.eng.PruneVolumes(r.Context(), f, atLeast(APIVersion(r.Context()), "1.42"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rep)
}

// diskUsage is GET /system/df?type=: from API 1.42 type names the kinds of objects to size.
func (a *API) diskUsage(w http.ResponseWriter, r *http.Request) error {
	var o engine.DiskUsageOptions
	if atLeast(APIVersion(r.Context()), "1.42") {
		for _, t := range r.URL.Query()["type"] {
			switch t {
			case "container":
				o.Containers = true
			case "image":
				o.Images = true
			case "volume":
				o.Volumes = true
			case "build-cache":
				o.BuildCache = true
			default:
				return fmt.Errorf("unknown object type: %s: %w", t, errdefs.ErrInvalid)
			}
		}
	}
	du, err := a.eng.DiskUsage(r.Context(), o)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, du)
}

// pruneNothing answers the prune of a kind of object vice has none of: the filters are checked as dockerd
// checks them, and nothing is deleted.
func pruneNothing(body string, accepted ...string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		f, err := parseFilters(r.URL.Query().Get("filters"))
		if err != nil {
			return err
		}
		for k := range f {
			if !contains(accepted, k) {
				return dockermsg.InvalidFilter.Err(k)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, err = fmt.Fprintln(w, body)
		return err
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

package dockerapi

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/vice-engine/vice/core/containers"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// listContainers is GET /containers/json?all=&limit=&size=&filters=.
func (a *API) listContainers(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f, err := parseFilters(q.Get("filters"))
	if err != nil {
		return err
	}
	limit := 0
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil {
			return fmt.Errorf("invalid limit %q: %w", v, errdefs.ErrInvalid)
		}
	}
	list, err := a.eng.Containers().List(r.Context(), containers.ListOptions{All: boolValue(q.Get("all")), Limit: limit,
		Filters: f, Size: boolValue(q.Get("size"))})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list)
}

// inspectContainer is GET /containers/{id}/json?size=.
func (a *API) inspectContainer(w http.ResponseWriter, r *http.Request) error {
	resp, err := a.eng.Containers().Inspect(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if boolValue(r.URL.Query().Get("size")) {
		rw, rootFs, err := a.eng.Containers().Size(r.Context(), resp.ID)
		if err != nil {
			return err
		}
		resp.SizeRw, resp.SizeRootFs = &rw, &rootFs
	}
	shaped, err := inspectForVersion(APIVersion(r.Context()), resp)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, shaped)
}

// containerRoutes are the routes of Docker's containers group that vice serves. As in dockerd, a container
// reference is the rest of the path up to the verb, so that a name with slashes (an image name given to
// `docker inspect --type=container`) is "No such container", not "page not found".
func (a *API) containerRoutes() []route {
	return []route{
		newRoute(http.MethodGet, "/containers/json", a.listContainers),
		newRoute(http.MethodPost, "/containers/create", a.createContainer),
		newRoute(http.MethodGet, "/containers/{id:.*}/json", a.inspectContainer),
		newRoute(http.MethodGet, "/containers/{id:.*}/logs", a.containerLogs),
		newRoute(http.MethodPost, "/containers/{id:.*}/start", a.startContainer),
		newRoute(http.MethodPost, "/containers/{id:.*}/stop", a.stopContainer),
		newRoute(http.MethodPost, "/containers/{id:.*}/restart", a.restartContainer),
		newRoute(http.MethodPost, "/containers/{id:.*}/kill", a.killContainer),
		newRoute(http.MethodPost, "/containers/{id:.*}/rename", a.renameContainer),
		newRoute(http.MethodPost, "/containers/{id:.*}/resize", a.resizeContainer),
		newRoute(http.MethodPost, "/containers/{id:.*}/attach", a.attachContainer),
		newRoute(http.MethodPost, "/containers/{id:.*}/wait", a.waitContainer),
		newRoute(http.MethodDelete, "/containers/{id:.*}", a.removeContainer),
	}
}

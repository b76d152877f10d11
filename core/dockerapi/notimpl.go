package dockerapi

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// notImplemented lists the Docker Engine API routes (API 1.50) that vice does not serve yet, by group. They
// answer 501 with a message naming the route, so that a client learns what is missing rather than that the
// path is unknown. Move a route out of this table when its handler lands.
var notImplemented = []struct{ group, method, pattern string }{
	{"containers", "GET", "/containers/{id:.*}/attach/ws"},
	{"checkpoints", "GET", "/containers/{id:.*}/checkpoints"},
	{"checkpoints", "POST", "/containers/{id:.*}/checkpoints"},
	{"checkpoints", "DELETE", "/containers/{id:.*}/checkpoints/{checkpoint}"},
	{"images", "GET", "/images/search"},
	{"distribution", "GET", "/distribution/{name:.*}/json"},
	{"volumes", "PUT", "/volumes/{name}"},
	{"plugins", "GET", "/plugins"},
	{"plugins", "GET", "/plugins/privileges"},
	{"plugins", "POST", "/plugins/pull"},
	{"plugins", "POST", "/plugins/create"},
	{"plugins", "POST", "/plugins/{name:.*}/enable"},
	{"plugins", "POST", "/plugins/{name:.*}/disable"},
	{"plugins", "POST", "/plugins/{name:.*}/upgrade"},
	{"plugins", "POST", "/plugins/{name:.*}/push"},
	{"plugins", "POST", "/plugins/{name:.*}/set"},
	{"plugins", "DELETE", "/plugins/{name:.*}"},
}

// notImplementedRoutes turns the table into routes that answer 501, plus the lookups of objects vice has
// none of (managed plugins), which answer 404 as Docker does for a missing one: `docker
// inspect NAME` asks for every kind of object in turn and must hear "not found" from those.
func notImplementedRoutes() []route {
	routes := []route{
		newRoute(http.MethodGet, "/plugins/{name:.*}/json", func(_ http.ResponseWriter, r *http.Request) error {
			return fmt.Errorf("plugin %q not found: %w", r.PathValue("name"), errdefs.ErrNotFound)
		}),
	}
	for _, n := range notImplemented {
		msg := fmt.Sprintf("vice does not implement %s %s (%s) yet", n.method, strings.ReplaceAll(n.pattern, ":.*}", "}"), n.group)
		routes = append(routes, newRoute(n.method, n.pattern, func(http.ResponseWriter, *http.Request) error {
			return fmt.Errorf("%s: %w", msg, errdefs.ErrNotImplemented)
		}))
	}
	return routes
}

package dockerapi

import (
	"fmt"
	"net/http"

	"github.com/vice-engine/vice/core/internal/dockermsg"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// swarmRoutes answer Docker's swarm group as a dockerd that is in no swarm does: leaving is "This node is
// not part of a swarm", every manager request "This node is not a swarm manager...", both 503 (the Python
// SDK leaves a swarm in its teardowns and takes only that answer as success). A VCH cannot become a swarm
// node, so init and join are "not implemented".
func swarmRoutes() []route {
	noManager := func(http.ResponseWriter, *http.Request) error { return dockermsg.NotSwarmManager.Err() }
	routes := []route{
		newRoute(http.MethodPost, "/swarm/leave", func(http.ResponseWriter, *http.Request) error {
			return dockermsg.NotInSwarm.Err()
		}),
	}
	for _, p := range []string{"/swarm/init", "/swarm/join"} {
		routes = append(routes, newRoute(http.MethodPost, p, func(_ http.ResponseWriter, r *http.Request) error {
			return fmt.Errorf("vice does not support swarm mode: a VCH cannot init or join a swarm: %w", errdefs.ErrNotImplemented)
		}))
	}
	for _, m := range []struct{ method, pattern string }{
		{"GET", "/swarm"}, {"POST", "/swarm/update"}, {"GET", "/swarm/unlockkey"}, {"POST", "/swarm/unlock"},
		{"GET", "/nodes"}, {"GET", "/nodes/{id}"}, {"DELETE", "/nodes/{id}"}, {"POST", "/nodes/{id}/update"},
		{"GET", "/services"}, {"POST", "/services/create"}, {"GET", "/services/{id}"}, {"DELETE", "/services/{id}"},
		{"POST", "/services/{id}/update"}, {"GET", "/services/{id}/logs"},
		{"GET", "/tasks"}, {"GET", "/tasks/{id}"}, {"GET", "/tasks/{id}/logs"},
		{"GET", "/secrets"}, {"POST", "/secrets/create"}, {"GET", "/secrets/{id}"}, {"DELETE", "/secrets/{id}"},
		{"POST", "/secrets/{id}/update"},
		{"GET", "/configs"}, {"POST", "/configs/create"}, {"GET", "/configs/{id}"}, {"DELETE", "/configs/{id}"},
		{"POST", "/configs/{id}/update"},
	} {
		routes = append(routes, newRoute(m.method, m.pattern, noManager))
	}
	return routes
}

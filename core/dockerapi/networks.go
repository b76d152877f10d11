package dockerapi

import (
	"net/http"

	"github.com/moby/moby/api/types/network"
)

// networkRoutes are the routes of Docker's networks group.
func (a *API) networkRoutes() []route {
	return []route{
		newRoute(http.MethodGet, "/networks", a.listNetworks),
		newRoute(http.MethodGet, "/networks/{id}", a.inspectNetwork),
		newRoute(http.MethodPost, "/networks/create", a.createNetwork),
		newRoute(http.MethodDelete, "/networks/{id}", a.removeNetwork),
		newRoute(http.MethodPost, "/networks/{id}/connect", a.connectNetwork),
		newRoute(http.MethodPost, "/networks/{id}/disconnect", a.disconnectNetwork),
		newRoute(http.MethodPost, "/networks/prune", a.pruneNetworks),
	}
}

// listNetworks is GET /networks?filters=.
func (a *API) listNetworks(w http.ResponseWriter, r *http.Request) error {
	f, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	list, err := a.eng.Networks().List(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list)
}

// inspectNetwork is GET /networks/{id}; verbose and scope change nothing for local networks.
func (a *API) inspectNetwork(w http.ResponseWriter, r *http.Request) error {
	n, err := a.eng.Networks().Inspect(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, n)
}

// createNetwork is POST /networks/create.
func (a *API) createNetwork(w http.ResponseWriter, r *http.Request) error {
	var req network.CreateRequest
	if err := DecodeJSON(r, &req); err != nil {
		return err
	}
	resp, err := a.eng.Networks().Create(r.Context(), req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, resp)
}

// removeNetwork is DELETE /networks/{id}.
func (a *API) removeNetwork(w http.ResponseWriter, r *http.Request) error {
	if err := a.eng.Networks().Remove(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// connectNetwork is POST /networks/{id}/connect: a running container gets a NIC hot-added.
func (a *API) connectNetwork(w http.ResponseWriter, r *http.Request) error {
	var req network.ConnectRequest
	if err := DecodeJSON(r, &req); err != nil {
		return err
	}
	if err := a.eng.Containers().Connect(r.Context(), r.PathValue("id"), req); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// disconnectNetwork is POST /networks/{id}/disconnect.
func (a *API) disconnectNetwork(w http.ResponseWriter, r *http.Request) error {
	var req network.DisconnectRequest
	if err := DecodeJSON(r, &req); err != nil {
		return err
	}
	if err := a.eng.Containers().Disconnect(r.Context(), r.PathValue("id"), req); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// pruneNetworks is POST /networks/prune?filters=.
func (a *API) pruneNetworks(w http.ResponseWriter, r *http.Request) error {
	f, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	rep, err := a.eng.PruneNetworks(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rep)
}

package dockerapi

import (
	"net/http"

	"github.com/moby/moby/api/types/volume"
)

// volumeRoutes are Docker's volume API (the prune is with the other prunes).
func (a *API) volumeRoutes() []route {
	return []route{
		newRoute(http.MethodGet, "/volumes", a.listVolumes),
		newRoute(http.MethodPost, "/volumes/create", a.createVolume),
		newRoute(http.MethodGet, "/volumes/{name}", a.inspectVolume),
		newRoute(http.MethodDelete, "/volumes/{name}", a.removeVolume),
	}
}

func (a *API) listVolumes(w http.ResponseWriter, r *http.Request) error {
	f, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	list, err := a.eng.Volumes().List(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list)
}

func (a *API) createVolume(w http.ResponseWriter, r *http.Request) error {
	var req volume.CreateRequest
	if err := DecodeJSON(r, &req); err != nil {
		return err
	}
	v, err := a.eng.Volumes().Create(r.Context(), req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, v)
}

func (a *API) inspectVolume(w http.ResponseWriter, r *http.Request) error {
	v, err := a.eng.Volumes().Inspect(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (a *API) removeVolume(w http.ResponseWriter, r *http.Request) error {
	if err := a.eng.Volumes().Remove(r.Context(), r.PathValue("name"), boolValue(r.URL.Query().Get("force"))); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

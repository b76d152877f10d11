package dockerapi

import (
	"encoding/json"
	"net/http"

	"github.com/moby/moby/api/types/container"

	"github.com/vice-engine/vice/core/containers"
)

// runningRoutes are what Docker does to running containers: top, stats, pause, unpause, update.
func (a *API) runningRoutes() []route {
	return []route{
		newRoute(http.MethodGet, "/containers/{id:.*}/top", a.topContainer),
		newRoute(http.MethodGet, "/containers/{id:.*}/stats", a.containerStats),
		newRoute(http.MethodPost, "/containers/{id:.*}/pause", a.pauseContainer),
		newRoute(http.MethodPost, "/containers/{id:.*}/unpause", a.unpauseContainer),
		newRoute(http.MethodPost, "/containers/{id:.*}/update", a.updateContainer),
	}
}

// topContainer is GET /containers/{id}/top?ps_args=.
func (a *API) topContainer(w http.ResponseWriter, r *http.Request) error {
	top, err := a.eng.Containers().Top(r.Context(), r.PathValue("id"), r.URL.Query().Get("ps_args"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, top)
}

// containerStats is GET /containers/{id}/stats?stream=&one-shot=: one JSON sample per line, a second apart,
// while streaming (the default).
func (a *API) containerStats(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	o := containers.StatsOptions{Stream: q.Get("stream") == "" || boolValue(q.Get("stream")), OneShot: boolValue(q.Get("one-shot"))}
	started := false
	enc := json.NewEncoder(w)
	return a.eng.Containers().Stats(r.Context(), r.PathValue("id"), o, func(s *container.StatsResponse) error {
		if !started {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			started = true
		}
		if err := enc.Encode(s); err != nil {
			return err
		}
		flush(w)
		return nil
	})
}

// pauseContainer is POST /containers/{id}/pause.
func (a *API) pauseContainer(w http.ResponseWriter, r *http.Request) error {
	if err := a.eng.Containers().Pause(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// unpauseContainer is POST /containers/{id}/unpause.
func (a *API) unpauseContainer(w http.ResponseWriter, r *http.Request) error {
	if err := a.eng.Containers().Unpause(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// updateContainer is POST /containers/{id}/update.
func (a *API) updateContainer(w http.ResponseWriter, r *http.Request) error {
	var u container.UpdateConfig
	if err := DecodeJSON(r, &u); err != nil {
		return err
	}
	resp, err := a.eng.Containers().Update(r.Context(), r.PathValue("id"), u)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, resp)
}

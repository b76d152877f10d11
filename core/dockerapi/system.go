package dockerapi

import (
	"encoding/json"
	"net/http"

	"github.com/moby/moby/api/types/registry"
)

// systemRoutes are the routes of Docker's system group that vice serves.
func (a *API) systemRoutes() []route {
	return []route{
		newRoute(http.MethodGet, "/_ping", a.ping),
		newRoute(http.MethodHead, "/_ping", a.ping),
		newRoute(http.MethodGet, "/version", a.version),
		newRoute(http.MethodGet, "/info", a.info),
		newRoute(http.MethodGet, "/events", a.events),
		newRoute(http.MethodPost, "/auth", a.auth),
	}
}

// ping answers "OK" without asking the backend: clients ping to negotiate the API version.
func (a *API) ping(w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	h.Set("Pragma", "no-cache")
	h.Set("Docker-Experimental", "false")
	h.Set("Swarm", "inactive")
	h.Set("Builder-Version", "1") // the classic builder: clients do not try BuildKit's /session and /grpc
	if r.Method == http.MethodHead {
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
		return nil
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	_, err := w.Write([]byte("OK"))
	return err
}

func (a *API) version(w http.ResponseWriter, r *http.Request) error {
	v, err := a.eng.Version(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (a *API) info(w http.ResponseWriter, r *http.Request) error {
	info, err := a.eng.SystemInfo(r.Context())
	if err != nil {
		return err
	}
	shaped, err := infoForVersion(APIVersion(r.Context()), info)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, shaped)
}

// auth is `docker login`: the credentials are checked against the registry with a real round trip.
func (a *API) auth(w http.ResponseWriter, r *http.Request) error {
	var cfg registry.AuthConfig
	if err := DecodeJSON(r, &cfg); err != nil {
		return err
	}
	if err := a.eng.Images().Registry().Login(r.Context(), cfg); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, registry.AuthResponse{Status: "Login Succeeded"})
}

// writeJSON writes v as Docker writes JSON bodies.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

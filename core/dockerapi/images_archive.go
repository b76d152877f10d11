package dockerapi

import (
	"net/http"
)

// saveImages is GET /images/get?names=... and GET /images/{name}/get: a docker-archive tar.
func (a *API) saveImages(w http.ResponseWriter, r *http.Request) error {
	names := r.URL.Query()["names"]
	if n := r.PathValue("name"); n != "" {
		names = []string{n}
	}
	sv, err := a.eng.Images().PrepareSave(r.Context(), names)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-tar")
	w.WriteHeader(http.StatusOK)
	if err := sv.WriteTo(r.Context(), w); err != nil {
		a.log.Info("image save cut short", "names", names, "err", err)
	}
	return nil
}

// loadImages is POST /images/load: the whole archive is checked and stored before the answer starts, so a
// bad archive is a 400.
func (a *API) loadImages(w http.ResponseWriter, r *http.Request) error {
	msgs, err := a.eng.Images().Load(r.Context(), r.Body)
	if err != nil {
		return err
	}
	out := startJSONStream(w)
	for _, m := range msgs {
		out(m)
	}
	return nil
}

// imageRoutes are the routes of Docker's images group that vice serves. Fixed paths come before the
// {name:.*} patterns, since image names have slashes.
func (a *API) imageRoutes() []route {
	return []route{
		newRoute(http.MethodGet, "/images/json", a.listImages),
		newRoute(http.MethodPost, "/images/create", a.createImage),
		newRoute(http.MethodGet, "/images/get", a.saveImages),
		newRoute(http.MethodPost, "/images/load", a.loadImages),
		newRoute(http.MethodGet, "/images/{name:.*}/json", a.inspectImage),
		newRoute(http.MethodGet, "/images/{name:.*}/history", a.imageHistory),
		newRoute(http.MethodPost, "/images/{name:.*}/tag", a.tagImage),
		newRoute(http.MethodPost, "/images/{name:.*}/push", a.pushImage),
		newRoute(http.MethodGet, "/images/{name:.*}/get", a.saveImages),
		newRoute(http.MethodDelete, "/images/{name:.*}", a.deleteImage),
	}
}

package dockerapi

import (
	"net/http"
)

// tagImage is POST /images/{name}/tag?repo=...&tag=...
func (a *API) tagImage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if err := a.eng.Images().Tag(r.Context(), r.PathValue("name"), q.Get("repo"), q.Get("tag")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusCreated)
	return nil
}

// deleteImage is DELETE /images/{name}?force=&noprune=
func (a *API) deleteImage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	resp, err := a.eng.Images().Delete(r.Context(), r.PathValue("name"), boolValue(q.Get("force")), !boolValue(q.Get("noprune")))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, resp)
}

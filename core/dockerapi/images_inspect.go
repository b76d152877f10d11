package dockerapi

import (
	"net/http"
)

// listImages is GET /images/json.
func (a *API) listImages(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f, err := parseFilters(q.Get("filters"))
	if err != nil {
		return err
	}
	if legacy := q.Get("filter"); legacy != "" {
		f["reference"] = append(f["reference"], legacy)
	}
	list, err := a.eng.Images().ListAll(r.Context(), f, boolValue(q.Get("all")))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list)
}

// inspectImage is GET /images/{name}/json.
func (a *API) inspectImage(w http.ResponseWriter, r *http.Request) error {
	resp, err := a.eng.Images().Inspect(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, resp)
}

// imageHistory is GET /images/{name}/history.
func (a *API) imageHistory(w http.ResponseWriter, r *http.Request) error {
	h, err := a.eng.Images().History(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, h)
}

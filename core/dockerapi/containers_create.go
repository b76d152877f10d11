package dockerapi

import (
	"net/http"

	"github.com/moby/moby/api/types/container"
)

// createContainer is POST /containers/create?name=. Malformed JSON is a 400 (DecodeJSON); host features a
// containerVM cannot honour yet (published ports, bind mounts and volumes, networks other than the default)
// are a 400 naming them, and the other host settings are accepted and ignored (see containers.checkHost).
func (a *API) createContainer(w http.ResponseWriter, r *http.Request) error {
	var req container.CreateRequest
	if err := DecodeJSON(r, &req); err != nil {
		return err
	}
	createForVersion(APIVersion(r.Context()), &req)
	resp, err := a.eng.Containers().Create(r.Context(), r.URL.Query().Get("name"), req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, resp)
}

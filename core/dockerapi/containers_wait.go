package dockerapi

import (
	"encoding/json"
	"net/http"

	"github.com/moby/moby/api/types/container"
)

// waitContainer is POST /containers/{id}/wait?condition=. As Docker does, the header goes out at once (a
// client knows its wait is registered) and the body when the condition holds. Before API 1.30 there was no
// condition and the whole answer came at the end.
func (a *API) waitContainer(w http.ResponseWriter, r *http.Request) error {
	condition, early := r.URL.Query().Get("condition"), atLeast(APIVersion(r.Context()), "1.30")
	if !early {
		condition = ""
	}
	wait, err := a.eng.Containers().Wait(r.Context(), r.PathValue("id"), condition)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	if early {
		w.WriteHeader(http.StatusOK)
		flush(w)
	}
	resp, err := wait(r.Context())
	if err != nil {
		if r.Context().Err() != nil {
			return nil // the client left
		}
		resp = container.WaitResponse{StatusCode: -1, Error: &container.WaitExitError{Message: message(err)}}
	}
	return json.NewEncoder(w).Encode(resp)
}

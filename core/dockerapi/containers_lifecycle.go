package dockerapi

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/vice-engine/vice/core/internal/dockermsg"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// startContainer is POST /containers/{id}/start; an already running container is a 304.
func (a *API) startContainer(w http.ResponseWriter, r *http.Request) error {
	if err := startBody(r); err != nil {
		return err
	}
	if err := a.eng.Containers().Start(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// stopContainer is POST /containers/{id}/stop?t=&signal=; a container not running is a 304.
func (a *API) stopContainer(w http.ResponseWriter, r *http.Request) error {
	timeout, err := stopTimeout(r)
	if err != nil {
		return err
	}
	if err := a.eng.Containers().Stop(r.Context(), r.PathValue("id"), r.URL.Query().Get("signal"), timeout); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// restartContainer is POST /containers/{id}/restart?t=&signal=.
func (a *API) restartContainer(w http.ResponseWriter, r *http.Request) error {
	timeout, err := stopTimeout(r)
	if err != nil {
		return err
	}
	if err := a.eng.Containers().Restart(r.Context(), r.PathValue("id"), r.URL.Query().Get("signal"), timeout); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// stopTimeout reads t (or its older name, timeout) in seconds; absent is nil (the container's own).
func stopTimeout(r *http.Request) (*int, error) {
	q := r.URL.Query()
	v := q.Get("t")
	if v == "" {
		v = q.Get("timeout")
	}
	if v == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return nil, fmt.Errorf("invalid value for t: %s: %w", v, errdefs.ErrInvalid)
	}
	return &n, nil
}

// killContainer is POST /containers/{id}/kill?signal=. Before API 1.20 killing a container that is not
// running was no error, and dockerd still answers those clients so.
func (a *API) killContainer(w http.ResponseWriter, r *http.Request) error {
	err := a.eng.Containers().Kill(r.Context(), r.PathValue("id"), r.URL.Query().Get("signal"))
	if err != nil && !(errdefs.Is(err, errdefs.ErrConflict) && versionLess(APIVersion(r.Context()), "1.20")) {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// removeContainer is DELETE /containers/{id}?force=&v=&link=. Links do not exist in vice: link=true names
// a container's own name, which dockerd refuses as its default link name.
func (a *API) removeContainer(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if boolValue(q.Get("link")) {
		return dockermsg.DefaultLinkRemove.Err()
	}
	if err := a.eng.Containers().Remove(r.Context(), r.PathValue("id"), boolValue(q.Get("force")), boolValue(q.Get("v"))); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// renameContainer is POST /containers/{id}/rename?name=.
func (a *API) renameContainer(w http.ResponseWriter, r *http.Request) error {
	if err := a.eng.Containers().Rename(r.Context(), r.PathValue("id"), r.URL.Query().Get("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// resizeContainer is POST /containers/{id}/resize?h=&w=.
func (a *API) resizeContainer(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	h, herr := strconv.ParseInt(q.Get("h"), 10, 64)
	wd, werr := strconv.ParseInt(q.Get("w"), 10, 64)
	if herr != nil || werr != nil || h < 0 || wd < 0 {
		return fmt.Errorf("invalid resize parameters h=%q w=%q: %w", q.Get("h"), q.Get("w"), errdefs.ErrInvalid)
	}
	if err := a.eng.Containers().Resize(r.Context(), r.PathValue("id"), h, wd); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

package dockerapi

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/moby/moby/api/types/registry"

	"github.com/vice-engine/vice/core/imagec"
	"github.com/vice-engine/vice/core/images"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// createImage is POST /images/create: a pull (fromImage) or an import (fromSrc). Errors found before the
// first progress line are ordinary Docker errors; later ones end the stream with an errorDetail line.
func (a *API) createImage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if q.Get("fromSrc") != "" {
		return a.importImage(w, r)
	}
	if q.Get("fromImage") == "" {
		return fmt.Errorf("fromImage or fromSrc is required: %w", errdefs.ErrInvalid)
	}
	auth, err := imagec.DecodeAuthHeader(r.Header.Get(registry.AuthHeader))
	if err != nil {
		return err
	}
	// As in dockerd, a repository without a tag pulls all its tags (`docker pull --all-tags`).
	pull, err := a.eng.Images().PreparePull(r.Context(), images.PullOptions{
		Image: q.Get("fromImage"), Tag: q.Get("tag"), Platform: q.Get("platform"), Auth: auth,
		AllTags: q.Get("tag") == "" && imagec.NameOnly(q.Get("fromImage")),
	})
	if err != nil {
		return err
	}
	out := startJSONStream(w)
	if err := pull.Run(r.Context(), out); err != nil {
		a.log.Info("pull failed", "ref", pull.Reference(), "err", err)
		out(images.ErrorMessage(fmt.Errorf("%s", message(err))))
	}
	return nil
}

// importImage is POST /images/create?fromSrc=-: the body is a root filesystem tarball.
func (a *API) importImage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if src := q.Get("fromSrc"); src != "-" {
		return fmt.Errorf("vice imports from the request body only (fromSrc=-), not from %s: %w", src, errdefs.ErrInvalid)
	}
	id, err := a.eng.Images().Import(r.Context(), images.ImportOptions{
		Source: r.Body, Repo: q.Get("repo"), Tag: q.Get("tag"), Message: q.Get("message"),
		Changes: q["changes"], Platform: q.Get("platform"),
	})
	if err != nil {
		return err
	}
	startJSONStream(w)(images.Message{Status: id})
	return nil
}

// startJSONStream begins a 200 application/json stream and returns the function that writes one message
// per line, flushed.
func startJSONStream(w http.ResponseWriter) images.ProgressFunc {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	flush(w)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return func(m images.Message) {
		if err := enc.Encode(m); err == nil {
			flush(w)
		}
	}
}

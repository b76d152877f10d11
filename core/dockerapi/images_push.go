package dockerapi

import (
	"fmt"
	"net/http"

	"github.com/moby/moby/api/types/registry"

	"github.com/vice-engine/vice/core/imagec"
	"github.com/vice-engine/vice/core/images"
)

// pushImage is POST /images/{name}/push?tag=: the credentials come in X-Registry-Auth (none is anonymous).
// A tag is pushed, or with none every tag of the repository (`docker push --all-tags`). Errors before the
// first progress line are ordinary Docker errors; later ones end the stream with an errorDetail line.
func (a *API) pushImage(w http.ResponseWriter, r *http.Request) error {
	auth, err := imagec.DecodeAuthHeader(r.Header.Get(registry.AuthHeader))
	if err != nil {
		return err
	}
	var out images.ProgressFunc
	stream := func(m images.Message) {
		if out == nil {
			out = startJSONStream(w)
		}
		out(m)
	}
	o := images.PushOptions{Name: r.PathValue("name"), Tag: r.URL.Query().Get("tag"), Auth: auth}
	if err := a.eng.Images().Push(r.Context(), o, stream); err != nil {
		if out == nil {
			return err
		}
		a.log.Info("push failed", "name", o.Name, "tag", o.Tag, "err", err)
		out(images.ErrorMessage(fmt.Errorf("%s", message(err))))
	}
	return nil
}

package dockerapi

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/moby/moby/api/types/common"

	"github.com/vice-engine/vice/core/internal/dockermsg"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// errPageNotFound is Docker's answer to a path or method it has no route for.
var errPageNotFound = dockermsg.PageNotFound.Err()

// StatusCode is the one mapping of an error's class to the status Docker answers with. Cancelled and timed
// out requests are internal errors, as in Docker.
func StatusCode(err error) int {
	switch errdefs.Sentinel(err) {
	case errdefs.ErrInvalid:
		return http.StatusBadRequest
	case errdefs.ErrUnauthorized:
		return http.StatusUnauthorized
	case errdefs.ErrForbidden:
		return http.StatusForbidden
	case errdefs.ErrNotFound:
		return http.StatusNotFound
	case errdefs.ErrConflict:
		return http.StatusConflict
	case errdefs.ErrNotModified:
		return http.StatusNotModified
	case errdefs.ErrNotImplemented:
		return http.StatusNotImplemented
	case errdefs.ErrUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// WriteError answers err as Docker does: its class's status and a JSON {"message": ...} body.
func WriteError(w http.ResponseWriter, err error) {
	status := StatusCode(err)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if status == http.StatusNotModified {
		return // a 304 carries no body
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(&common.ErrorResponse{Message: message(err)})
}

// message is the text Docker shows: the error's own, without the trailing class name of an error wrapped as
// "what: class" ("page not found", not "page not found: not found").
func message(err error) string {
	msg := err.Error()
	if s := errdefs.Sentinel(err); s != nil {
		if trimmed, ok := strings.CutSuffix(msg, ": "+s.Error()); ok && trimmed != "" {
			return trimmed
		}
	}
	return msg
}

// notFound answers unknown routes.
func notFound(w http.ResponseWriter, _ *http.Request) { WriteError(w, errPageNotFound) }

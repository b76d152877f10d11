package dockerapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// DecodeJSON reads r's JSON body into out with Docker's rules: an absent or empty body is no error, any other
// body must be declared application/json, and malformed JSON is an invalid-argument error "invalid JSON: ...".
func DecodeJSON(r *http.Request, out any) error {
	if err := checkForJSON(r); err != nil {
		return err
	}
	if r.Body == nil || r.ContentLength == 0 {
		return nil
	}
	defer r.Body.Close()
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(out); err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("invalid JSON: got EOF while reading request body: %w", errdefs.ErrInvalid)
		}
		return errdefs.Classed(fmt.Errorf("invalid JSON: %w", err), errdefs.ErrInvalid)
	}
	if dec.More() {
		return fmt.Errorf("unexpected content after JSON: %w", errdefs.ErrInvalid)
	}
	return nil
}

// checkForJSON accepts a request without a body, or one whose Content-Type is application/json.
func checkForJSON(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" && (r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0) {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return errdefs.Classed(fmt.Errorf("malformed Content-Type header (%s): %w", ct, err), errdefs.ErrInvalid)
	}
	if mt != "application/json" {
		return fmt.Errorf("unsupported Content-Type header (%s): must be 'application/json': %w", ct, errdefs.ErrInvalid)
	}
	return nil
}

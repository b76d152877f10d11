package imagec

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// translate gives a registry error Docker's message and its errdefs class.
func translate(err error, ref Reference) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var terr *transport.Error
	if !errors.As(err, &terr) {
		if errdefs.Sentinel(err) != errdefs.ErrSystem {
			return err
		}
		return fmt.Errorf("%v: %w", err, errdefs.ErrUnavailable)
	}
	cause := diagnostics(terr)
	for _, d := range terr.Errors {
		switch d.Code {
		case transport.DeniedErrorCode:
			return fmt.Errorf("pull access denied for %s, repository does not exist or may require 'docker login': %s: %w",
				ref.FamiliarName(), cause, errdefs.ErrNotFound)
		case transport.UnauthorizedErrorCode:
			// Docker answers a pull it may not make as not found (404), never 401: on a 401 the CLI would
			// prompt for a login in the middle of a pull.
			return fmt.Errorf("pull access denied for %s, repository does not exist or may require 'docker login': %s: %w",
				ref.FamiliarName(), cause, errdefs.ErrNotFound)
		case transport.ManifestUnknownErrorCode:
			return fmt.Errorf("manifest for %s not found: %s: %w", ref, cause, errdefs.ErrNotFound)
		case transport.NameUnknownErrorCode:
			return fmt.Errorf("repository %s not found: %s: %w", ref.FamiliarName(), cause, errdefs.ErrNotFound)
		}
	}
	switch terr.StatusCode {
	case http.StatusUnauthorized:
		return fmt.Errorf("pull access denied for %s, repository does not exist or may require 'docker login': %s: %w",
			ref.FamiliarName(), cause, errdefs.ErrNotFound)
	case http.StatusForbidden:
		return fmt.Errorf("pull access denied for %s: %s: %w", ref.FamiliarName(), cause, errdefs.ErrForbidden)
	case http.StatusNotFound:
		return fmt.Errorf("manifest for %s not found: %s: %w", ref, cause, errdefs.ErrNotFound)
	case http.StatusTooManyRequests:
		return fmt.Errorf("%s: toomanyrequests: %w", ref, errdefs.ErrUnavailable)
	}
	return fmt.Errorf("%s: %s: %w", ref, cause, errdefs.ErrSystem)
}

// diagnostics renders a registry's errors as Docker does ("manifest unknown: Unknown manifest").
func diagnostics(terr *transport.Error) string {
	var parts []string
	for _, d := range terr.Errors {
		code := strings.ToLower(strings.ReplaceAll(string(d.Code), "_", " "))
		if d.Message != "" {
			code += ": " + d.Message
		}
		parts = append(parts, code)
	}
	if len(parts) == 0 {
		return strings.ToLower(http.StatusText(terr.StatusCode))
	}
	return strings.Join(parts, "; ")
}

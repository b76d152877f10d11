package imagec

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/moby/moby/api/types/registry"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// Login checks cfg's credentials against cfg.ServerAddress with a real round trip: the registry's challenge,
// a token when it asks for one, then an authenticated GET /v2/. Wrong credentials are errdefs.ErrUnauthorized.
func (c *Client) Login(ctx context.Context, cfg registry.AuthConfig) error {
	reg, err := serverRegistry(cfg.ServerAddress)
	if err != nil {
		return err
	}
	reg, err = serverRegistry(reg.RegistryStr(), c.nameOptions(reg.RegistryStr())...)
	if err != nil {
		return err
	}
	if err := c.checkRegistry(reg.RegistryStr()); err != nil {
		return err
	}
	rt, err := transport.NewWithContext(ctx, reg, authenticator(cfg), c.rt, nil)
	if err != nil {
		var terr *transport.Error
		if errors.As(err, &terr) && (terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden) {
			return fmt.Errorf("login attempt to %s failed: %s: %w", reg.RegistryStr(), diagnostics(terr), errdefs.ErrUnauthorized)
		}
		return fmt.Errorf("login to %s: %v: %w", reg.RegistryStr(), err, errdefs.ErrUnavailable)
	}
	schemes := []string{"https", "http"}
	if reg.Scheme() == "http" {
		schemes = []string{"http", "https"}
	}
	var lastErr error
	for _, scheme := range schemes {
		url := scheme + "://" + reg.RegistryStr() + "/v2/"
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := (&http.Client{Transport: rt}).Do(req)
		if err != nil {
			lastErr = err
			continue
		}
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusOK:
			return nil
		case http.StatusUnauthorized, http.StatusForbidden:
			return fmt.Errorf("login attempt to %s failed with status: %d %s: %w", url, resp.StatusCode,
				http.StatusText(resp.StatusCode), errdefs.ErrUnauthorized)
		default:
			return fmt.Errorf("login attempt to %s failed with status: %d %s: %w", url, resp.StatusCode,
				http.StatusText(resp.StatusCode), errdefs.ErrUnavailable)
		}
	}
	return fmt.Errorf("login to %s: %v: %w", reg.RegistryStr(), lastErr, errdefs.ErrUnavailable)
}

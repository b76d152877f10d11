package portlayer

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/go-openapi/runtime"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// classedResponse is what every generated default (error) response offers.
type classedResponse interface {
	Code() int
	GetPayload() *models.Error
}

// classify turns what the generated client returned into an error of one errdefs class: the class the port
// layer sent, the class of the status when no body came, unavailable when the request never got an answer
// (the plugin is down or restarting), and the context's own error when the caller gave up.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	var resp classedResponse
	if errors.As(err, &resp) {
		if p := resp.GetPayload(); p != nil && p.Class != nil && p.Message != nil {
			return errdefs.FromClass(*p.Class, *p.Message)
		}
		return errdefs.FromHTTPStatus(resp.Code(), fmt.Sprintf("port layer %s: status %d", op, resp.Code()))
	}
	var apiErr *runtime.APIError
	if errors.As(err, &apiErr) {
		return errdefs.FromHTTPStatus(apiErr.Code, fmt.Sprintf("port layer %s: %v", op, err))
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("port layer %s: %w", op, err)
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return fmt.Errorf("port layer %s: %w: %w", op, errdefs.ErrUnavailable, urlErr.Err)
	}
	return fmt.Errorf("port layer %s: %w: %w", op, errdefs.ErrSystem, err)
}

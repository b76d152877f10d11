package pluginhost

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/vice-engine/vice/plugins/sdk/transport"
)

// restartWait bounds how long a request waits for a restarting plugin when its context has no deadline.
const restartWait = 10 * time.Second

// hostTransport sends each request to the plugin's current process.
type hostTransport struct{ p *managed }

func (t *hostTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), restartWait)
	rt, err := t.p.current(ctx)
	cancel()
	if err != nil {
		return nil, err
	}
	resp, err := rt.RoundTrip(req)
	if err == nil || !errors.Is(err, transport.ErrUnavailable) || !replayable(req) {
		return resp, err
	}
	// The process died under us. A request without a body can be sent again to its successor.
	t.p.log.Debug("plugin unavailable; retrying after restart", "method", req.Method, "path", req.URL.Path)
	ctx, cancel = context.WithTimeout(req.Context(), restartWait)
	defer cancel()
	for ctx.Err() == nil {
		next, cerr := t.p.current(ctx)
		if cerr != nil {
			return nil, cerr
		}
		if next != rt {
			return next.RoundTrip(req)
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil, err
}

func replayable(req *http.Request) bool {
	return (req.Method == http.MethodGet || req.Method == http.MethodHead) && (req.Body == nil || req.Body == http.NoBody)
}

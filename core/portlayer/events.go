package portlayer

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/client/events"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// Events streams the backend's events of the given types (all when empty). It returns once the port layer
// has answered: with an error of its class, or with a channel that delivers events as they arrive and closes
// when ctx is cancelled or the stream ends.
func (c *Client) Events(ctx context.Context, types []string) (<-chan *models.Event, error) {
	ctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	answered := make(chan int, 1) // the status of the response, once its header is in
	hc := &http.Client{Transport: headerSignal{rt: c.rt, status: answered}}
	params := events.NewGetEventsParamsWithTimeout(0).WithType(types).WithHTTPClient(hc)

	done := make(chan error, 1)
	go func() {
		_, err := c.api.Events.GetEventsContext(ctx, params, pw)
		pw.CloseWithError(io.EOF)
		done <- err
	}()

	select {
	case status := <-answered:
		if status != http.StatusOK {
			err := <-done
			cancel()
			return nil, classify("events", err)
		}
	case err := <-done:
		cancel()
		if err == nil {
			err = fmt.Errorf("port layer events: stream ended before it began: %w", errdefs.ErrUnavailable)
		}
		return nil, classify("events", err)
	}

	out := make(chan *models.Event)
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); pr.Close() }) }
	go func() {
		<-ctx.Done()
		stop()
	}()
	go func() {
		defer close(out)
		defer stop()
		dec := json.NewDecoder(pr)
		for {
			ev := new(models.Event)
			if err := dec.Decode(ev); err != nil {
				return
			}
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// headerSignal reports the status of a response as soon as its header arrives, before the generated client
// starts consuming the (endless) body.
type headerSignal struct {
	rt     http.RoundTripper
	status chan<- int
}

func (h headerSignal) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := h.rt.RoundTrip(req)
	if err == nil {
		select {
		case h.status <- resp.StatusCode:
		default:
		}
	}
	return resp, err
}

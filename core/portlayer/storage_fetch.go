package portlayer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/client/storage"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// ErrFetchUnsupported says the port layer does not download layers itself: a plugin from before FetchLayer.
var ErrFetchUnsupported = errors.New("the port layer does not fetch layers")

// FetchError is a FetchLayer that wrote no layer.
type FetchError struct {
	Err error
	// Download says the download failed (the registry's answer, the network, the blob's size or digest);
	// otherwise the write did, as WriteLayer's would.
	Download bool
	// Downloaded is what was read of the blob; a download that failed at 0 wrote nothing.
	Downloaded int64
}

func (e *FetchError) Error() string { return e.Err.Error() }
func (e *FetchError) Unwrap() error { return e.Err }

// FetchLayer has the port layer download a layer blob from src and write it as layer id, as WriteLayer
// would write it from the blob's bytes. progress gets each progress event as it comes (in this goroutine). A
// port layer without FetchLayer is an ErrFetchUnsupported error; one that wrote no layer a *FetchError. The
// request has no timeout: cancel ctx to stop it.
func (c *Client) FetchLayer(ctx context.Context, id string, src *models.LayerSource, progress func(*models.LayerFetchEvent)) (*models.LayerInfo, error) {
	answered := make(chan int, 1)
	hc := &http.Client{Transport: headerSignal{rt: c.rt, status: answered}}
	p := storage.NewFetchLayerParamsWithTimeout(0).WithID(id).WithSource(src).WithHTTPClient(hc)
	rc, err := openStream(ctx, "fetch layer", answered, func(ctx context.Context, w io.Writer) error {
		_, err := c.api.Storage.FetchLayerContext(ctx, p, w)
		return err
	})
	if errors.Is(err, errdefs.ErrNotFound) || errors.Is(err, errdefs.ErrNotImplemented) {
		// The plugin's router knows no such operation (it answers everything else in the stream).
		return nil, fmt.Errorf("%w: %w", ErrFetchUnsupported, err)
	}
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	dec := json.NewDecoder(rc)
	for {
		var ev models.LayerFetchEvent
		if err := dec.Decode(&ev); err != nil {
			if errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("port layer fetch layer: the answer ended before the layer's: %w", errdefs.ErrUnavailable)
			}
			var syntax *json.SyntaxError
			var typed *json.UnmarshalTypeError
			if errors.As(err, &syntax) || errors.As(err, &typed) {
				return nil, fmt.Errorf("port layer fetch layer: an event that is not a LayerFetchEvent: %w: %w", errdefs.ErrSystem, err)
			}
			return nil, err // the stream's own failure, classed by openStream
		}
		switch {
		case ev.Error != nil:
			class, msg := "system", "the port layer gave no reason"
			if ev.Error.Class != nil {
				class = *ev.Error.Class
			}
			if ev.Error.Message != nil {
				msg = *ev.Error.Message
			}
			return nil, &FetchError{Err: errdefs.FromClass(class, msg), Download: ev.Download, Downloaded: ev.Downloaded}
		case ev.Layer != nil:
			return ev.Layer, nil
		case progress != nil:
			progress(&ev)
		}
	}
}

package portlayer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

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
// would write it from the blob's bytes. progress gets each progress event as it comes (in this goroutine). A port layer without FetchLayer is an ErrFetchUnsupported error; one that wrote no layer a
// *FetchError. The request has no timeout: cancel ctx to stop it.
func (c *Client) FetchLayer(ctx context.Context, id string, src *models.LayerSource, progress func(*models.LayerFetchEvent)) (*models.LayerInfo, error) {
	lines := &eventLines{progress: progress}
	p := storage.NewFetchLayerParamsWithTimeout(0).WithID(id).WithSource(src)
	_, err := c.api.Storage.FetchLayerContext(ctx, p, lines)
	if err == nil && lines.err == nil {
		lines.end()
	}
	ev := lines.last
	if ev == nil || (ev.Layer == nil && ev.Error == nil) {
		switch {
		case err != nil:
			err = classify("fetch layer", err)
			if ev == nil && (errors.Is(err, errdefs.ErrNotFound) || errors.Is(err, errdefs.ErrNotImplemented)) {
				// The plugin's router knows no such operation (it answers everything else in the stream).
				return nil, fmt.Errorf("%w: %w", ErrFetchUnsupported, err)
			}
			return nil, err
		case lines.err != nil:
			return nil, fmt.Errorf("port layer fetch layer: %w: %w", errdefs.ErrSystem, lines.err)
		}
		return nil, fmt.Errorf("port layer fetch layer: the answer ended before the layer's: %w", errdefs.ErrUnavailable)
	}
	if ev.Error != nil {
		class, msg := "system", "the port layer gave no reason"
		if ev.Error.Class != nil {
			class = *ev.Error.Class
		}
		if ev.Error.Message != nil {
			msg = *ev.Error.Message
		}
		return nil, &FetchError{Err: errdefs.FromClass(class, msg), Download: ev.Download, Downloaded: ev.Downloaded}
	}
	return ev.Layer, nil
}

// eventLines decodes FetchLayer's newline-delimited events as they are written to it, handing each progress
// event (one with neither a layer nor an error) to progress.
type eventLines struct {
	progress func(*models.LayerFetchEvent)
	buf      []byte
	last     *models.LayerFetchEvent
	err      error
}

func (l *eventLines) Write(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.line(l.buf[:i])
		l.buf = l.buf[i+1:]
		if l.err != nil {
			return 0, l.err
		}
	}
	if len(l.buf) > 1<<20 {
		l.err = errors.New("an event line longer than 1 MiB")
		return 0, l.err
	}
	return len(p), nil
}

// end takes a last line without its newline.
func (l *eventLines) end() {
	if len(bytes.TrimSpace(l.buf)) > 0 {
		l.line(l.buf)
	}
	l.buf = nil
}

func (l *eventLines) line(b []byte) {
	if len(bytes.TrimSpace(b)) == 0 {
		return
	}
	var ev models.LayerFetchEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		l.err = fmt.Errorf("an event that is not a LayerFetchEvent: %w", err)
		return
	}
	l.last = &ev
	if ev.Layer == nil && ev.Error == nil && l.progress != nil {
		l.progress(&ev)
	}
}

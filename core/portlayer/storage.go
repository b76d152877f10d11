package portlayer

import (
	"context"
	"io"
	"net/http"

	"github.com/vice-engine/vice/swagger/gen/client/storage"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// ListLayers returns the complete layers of the image store.
func (c *Client) ListLayers(ctx context.Context) ([]*models.LayerInfo, error) {
	ok, err := c.api.Storage.ListLayersContext(ctx, storage.NewListLayersParams())
	if err != nil {
		return nil, classify("list layers", err)
	}
	return ok.Payload, nil
}

// GetLayer returns one complete layer; a missing one is an errdefs.ErrNotFound error.
func (c *Client) GetLayer(ctx context.Context, id string) (*models.LayerInfo, error) {
	ok, err := c.api.Storage.GetLayerContext(ctx, storage.NewGetLayerParams().WithID(id))
	if err != nil {
		return nil, classify("get layer", err)
	}
	return ok.Payload, nil
}

// WriteLayer streams r, a layer diff tar compressed as compression says ("none" or "gzip"), into the new
// layer id, a child of parent ("" for a base layer). The request has no timeout: cancel ctx to stop it, which
// leaves no layer behind.
func (c *Client) WriteLayer(ctx context.Context, id, parent, compression string, r io.Reader) (*models.LayerInfo, error) {
	p := storage.NewWriteLayerParamsWithTimeout(0).WithID(id).WithDiff(io.NopCloser(r))
	if parent != "" {
		p.SetParent(&parent)
	}
	if compression != "" {
		p.SetCompression(&compression)
	}
	ok, err := c.api.Storage.WriteLayerContext(ctx, p)
	if err != nil {
		return nil, classify("write layer", err)
	}
	return ok.Payload, nil
}

// RemoveLayer removes a layer; a missing one is errdefs.ErrNotFound, one still a parent errdefs.ErrConflict.
func (c *Client) RemoveLayer(ctx context.Context, id string) error {
	_, err := c.api.Storage.RemoveLayerContext(ctx, storage.NewRemoveLayerParams().WithID(id))
	return classify("remove layer", err)
}

// ReadLayerDiff streams the layer's diff as an uncompressed tar, byte for byte as written. It returns once
// the port layer has answered; closing the reader (or cancelling ctx) ends the stream.
func (c *Client) ReadLayerDiff(ctx context.Context, id string) (io.ReadCloser, error) {
	answered := make(chan int, 1)
	hc := &http.Client{Transport: headerSignal{rt: c.rt, status: answered}}
	params := storage.NewReadLayerDiffParamsWithTimeout(0).WithID(id).WithHTTPClient(hc)

	return openStream(ctx, "read layer diff", answered, func(ctx context.Context, w io.Writer) error {
		_, err := c.api.Storage.ReadLayerDiffContext(ctx, params, w)
		return err
	})
}

// openStream runs call, which copies a streaming response body into w, and returns a reader of that body
// as soon as the port layer has answered (answered gets the status): an error status comes back as the
// error. An empty body may end the exchange before the status is seen; the reader is then at EOF.
// Closing the reader (or cancelling ctx) ends the exchange.
func openStream(ctx context.Context, op string, answered <-chan int, call func(context.Context, io.Writer) error) (io.ReadCloser, error) {
	ctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := call(ctx, pw)
		if err != nil {
			pw.CloseWithError(classify(op, err))
		} else {
			pw.Close()
		}
		done <- err
	}()
	select {
	case status := <-answered:
		if status != http.StatusOK {
			err := <-done
			cancel()
			return nil, classify(op, err)
		}
	case err := <-done:
		if err != nil {
			cancel()
			return nil, classify(op, err)
		}
	}
	return &diffReader{PipeReader: pr, cancel: cancel}, nil
}

type diffReader struct {
	*io.PipeReader
	cancel context.CancelFunc
}

func (d *diffReader) Close() error {
	d.cancel()
	return d.PipeReader.Close()
}

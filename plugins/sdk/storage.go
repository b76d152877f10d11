package sdk

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/go-openapi/runtime"
	"github.com/go-openapi/runtime/middleware"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
	"github.com/vice-engine/vice/swagger/gen/restapi/operations"
	"github.com/vice-engine/vice/swagger/gen/restapi/operations/storage"
)

func wireStorage(api *operations.PortlayerAPI, b Backend) {
	store, ok := b.(LayerStore)
	if !ok {
		store = noLayers{name: b.Name()}
	}
	api.StorageListLayersHandler = storage.ListLayersHandlerFunc(func(p storage.ListLayersParams) middleware.Responder {
		list, err := store.ListLayers(p.HTTPRequest.Context())
		if err != nil {
			return errorResponder(err)
		}
		if list == nil {
			list = []*models.LayerInfo{}
		}
		return storage.NewListLayersOK().WithPayload(list)
	})
	api.StorageGetLayerHandler = storage.GetLayerHandlerFunc(func(p storage.GetLayerParams) middleware.Responder {
		l, err := store.GetLayer(p.HTTPRequest.Context(), p.ID)
		if err != nil {
			return errorResponder(err)
		}
		return storage.NewGetLayerOK().WithPayload(l)
	})
	api.StorageWriteLayerHandler = storage.WriteLayerHandlerFunc(func(p storage.WriteLayerParams) middleware.Responder {
		defer p.Diff.Close()
		parent, compression := "", "none"
		if p.Parent != nil {
			parent = *p.Parent
		}
		if p.Compression != nil {
			compression = *p.Compression
		}
		l, err := store.WriteLayer(p.HTTPRequest.Context(), p.ID, parent, compression, p.Diff)
		if err != nil {
			return errorResponder(err)
		}
		return storage.NewWriteLayerCreated().WithPayload(l)
	})
	api.StorageRemoveLayerHandler = storage.RemoveLayerHandlerFunc(func(p storage.RemoveLayerParams) middleware.Responder {
		if err := store.RemoveLayer(p.HTTPRequest.Context(), p.ID); err != nil {
			return errorResponder(err)
		}
		return storage.NewRemoveLayerNoContent()
	})
	if _, ok := b.(LayerStore); ok {
		api.StorageFetchLayerHandler = fetchLayerHandler(store)
	} else {
		api.StorageFetchLayerHandler = storage.FetchLayerHandlerFunc(func(storage.FetchLayerParams) middleware.Responder {
			return errorResponder(noLayers{name: b.Name()}.err())
		})
	}
	api.StorageReadLayerDiffHandler = storage.ReadLayerDiffHandlerFunc(func(p storage.ReadLayerDiffParams) middleware.Responder {
		rc, err := store.ReadLayerDiff(p.HTTPRequest.Context(), p.ID)
		if err != nil {
			return errorResponder(err)
		}
		return middleware.ResponderFunc(func(w http.ResponseWriter, _ runtime.Producer) {
			defer rc.Close()
			w.Header().Set("Content-Type", "application/x-tar")
			w.WriteHeader(http.StatusOK)
			// A failure mid-stream can only cut the stream short; the client sees a truncated tar.
			_, _ = io.Copy(w, rc)
		})
	})
}

type noLayers struct{ name string }

func (n noLayers) err() error {
	return fmt.Errorf("layer storage of backend %s: %w", n.name, errdefs.ErrNotImplemented)
}
func (n noLayers) ListLayers(context.Context) ([]*models.LayerInfo, error) { return nil, n.err() }
func (n noLayers) GetLayer(context.Context, string) (*models.LayerInfo, error) {
	return nil, n.err()
}
func (n noLayers) WriteLayer(context.Context, string, string, string, io.Reader) (*models.LayerInfo, error) {
	return nil, n.err()
}
func (n noLayers) RemoveLayer(context.Context, string) error { return n.err() }
func (n noLayers) ReadLayerDiff(context.Context, string) (io.ReadCloser, error) {
	return nil, n.err()
}

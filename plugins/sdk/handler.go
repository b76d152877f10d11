package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/go-openapi/loads"
	"github.com/go-openapi/runtime"
	"github.com/go-openapi/runtime/middleware"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
	"github.com/vice-engine/vice/swagger/gen/restapi"
	"github.com/vice-engine/vice/swagger/gen/restapi/operations"
	"github.com/vice-engine/vice/swagger/gen/restapi/operations/events"
	"github.com/vice-engine/vice/swagger/gen/restapi/operations/kv"
	"github.com/vice-engine/vice/swagger/gen/restapi/operations/misc"
)

// NewHandler serves b as the port-layer API (the generated server, rooted at the spec's base path /v1).
func NewHandler(b Backend) (http.Handler, error) {
	spec, err := loads.Analyzed(restapi.SwaggerJSON, "")
	if err != nil {
		return nil, fmt.Errorf("load port-layer spec: %w", err)
	}
	api := operations.NewPortlayerAPI(spec)
	api.Logger = func(string, ...any) {}
	api.RegisterProducer("application/x-ndjson", runtime.ByteStreamProducer())
	api.ServeError = serveError

	api.MiscPingHandler = misc.PingHandlerFunc(func(p misc.PingParams) middleware.Responder {
		if err := b.Ping(p.HTTPRequest.Context()); err != nil {
			return errorResponder(err)
		}
		return misc.NewPingOK().WithPayload("OK")
	})
	api.MiscGetVCHInfoHandler = misc.GetVCHInfoHandlerFunc(func(p misc.GetVCHInfoParams) middleware.Responder {
		info, err := b.Info(p.HTTPRequest.Context())
		if err != nil {
			return errorResponder(err)
		}
		return misc.NewGetVCHInfoOK().WithPayload(info)
	})
	wireKV(api, b)
	wireEvents(api, b)
	wireChanges(api, b)
	wireStorage(api, b)
	wireVolumes(api, b)
	wireContainers(api, b)
	wireScopes(api, b)
	wireArchive(api, b)
	wireTasks(api, b)
	wireRunning(api, b)
	h := api.Serve(nil)
	if cr, ok := b.(ChangeReporter); ok && cr.Changes() != nil {
		h = stampChanges(h, cr.Changes())
	}
	return h, nil
}

func wireKV(api *operations.PortlayerAPI, b Backend) {
	store, ok := b.(KVStore)
	if !ok {
		store = noKV{}
	}
	api.KvListValuesHandler = kv.ListValuesHandlerFunc(func(p kv.ListValuesParams) middleware.Responder {
		prefix := ""
		if p.Prefix != nil {
			prefix = *p.Prefix
		}
		list, err := store.ListValues(p.HTTPRequest.Context(), prefix)
		if err != nil {
			return errorResponder(err)
		}
		if list == nil {
			list = []*models.KeyValue{}
		}
		return kv.NewListValuesOK().WithPayload(list)
	})
	api.KvGetValueHandler = kv.GetValueHandlerFunc(func(p kv.GetValueParams) middleware.Responder {
		rec, err := store.GetValue(p.HTTPRequest.Context(), p.Key)
		if err != nil {
			return errorResponder(err)
		}
		return kv.NewGetValueOK().WithPayload(rec)
	})
	api.KvPutValueHandler = kv.PutValueHandlerFunc(func(p kv.PutValueParams) middleware.Responder {
		if p.Record.Key == nil || *p.Record.Key != p.Key {
			return errorResponder(fmt.Errorf("record key does not match the path key %q: %w", p.Key, errdefs.ErrInvalid))
		}
		rec, err := store.PutValue(p.HTTPRequest.Context(), p.Record)
		if err != nil {
			return errorResponder(err)
		}
		return kv.NewPutValueOK().WithPayload(rec)
	})
	api.KvDeleteValueHandler = kv.DeleteValueHandlerFunc(func(p kv.DeleteValueParams) middleware.Responder {
		if err := store.DeleteValue(p.HTTPRequest.Context(), p.Key); err != nil {
			return errorResponder(err)
		}
		return kv.NewDeleteValueNoContent()
	})
}

func wireEvents(api *operations.PortlayerAPI, b Backend) {
	api.EventsGetEventsHandler = events.GetEventsHandlerFunc(func(p events.GetEventsParams) middleware.Responder {
		src, ok := b.(EventSource)
		if !ok {
			return errorResponder(fmt.Errorf("events of backend %s: %w", b.Name(), errdefs.ErrNotImplemented))
		}
		ctx := p.HTTPRequest.Context()
		ch, err := src.Events(ctx, p.Type)
		if err != nil {
			return errorResponder(err)
		}
		return middleware.ResponderFunc(func(w http.ResponseWriter, _ runtime.Producer) {
			w.Header().Set("Content-Type", "application/x-ndjson")
			w.WriteHeader(http.StatusOK)
			flush(w)
			enc := json.NewEncoder(w)
			for ev := range ch {
				if enc.Encode(ev) != nil {
					// The reader is gone; drain until the source sees the cancelled context.
					for range ch {
					}
					return
				}
				flush(w)
			}
		})
	})
}

func flush(w http.ResponseWriter) {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

// errorResponder writes err as an Error body under its class's status.
func errorResponder(err error) middleware.Responder {
	return middleware.ResponderFunc(func(w http.ResponseWriter, _ runtime.Producer) {
		WriteError(w, err)
	})
}

// WriteError writes err as the port layer carries errors: the class's status and an Error body.
func WriteError(w http.ResponseWriter, err error) {
	class := errdefs.Class(err)
	msg := err.Error()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(errdefs.HTTPStatus(err))
	_ = json.NewEncoder(w).Encode(&models.Error{Class: &class, Message: &msg})
}

// serveError turns the generated server's own errors (validation, routing) into classed Error bodies.
func serveError(w http.ResponseWriter, _ *http.Request, err error) {
	status := http.StatusInternalServerError
	if ae, ok := err.(interface{ Code() int32 }); ok {
		status = int(ae.Code())
	}
	switch {
	case status == http.StatusMethodNotAllowed:
		status = http.StatusNotFound
	case status == http.StatusUnprocessableEntity || (status >= 600 && status < 700):
		// go-openapi reports validation failures as 422 or 6xx codes.
		status = http.StatusBadRequest
	}
	WriteError(w, errdefs.FromHTTPStatus(status, err.Error()))
}

type noKV struct{}

func (noKV) ListValues(ctx context.Context, prefix string) ([]*models.KeyValue, error) {
	return nil, fmt.Errorf("kv: %w", errdefs.ErrNotImplemented)
}
func (noKV) GetValue(ctx context.Context, key string) (*models.KeyValue, error) {
	return nil, fmt.Errorf("kv: %w", errdefs.ErrNotImplemented)
}
func (noKV) PutValue(ctx context.Context, r *models.KeyValue) (*models.KeyValue, error) {
	return nil, fmt.Errorf("kv: %w", errdefs.ErrNotImplemented)
}
func (noKV) DeleteValue(ctx context.Context, key string) error {
	return fmt.Errorf("kv: %w", errdefs.ErrNotImplemented)
}

package portlayer

import (
	"context"
	"fmt"
	"net/http"

	"github.com/go-openapi/runtime"
	httptransport "github.com/go-openapi/runtime/client"
	"github.com/go-openapi/strfmt"

	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/client"
	"github.com/vice-engine/vice/swagger/gen/client/kv"
	"github.com/vice-engine/vice/swagger/gen/client/misc"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// Host is the placeholder host name of port-layer requests; the RoundTripper decides where they really go.
const Host = "portlayer"

// NDJSONMime is the media type of the port layer's streams.
const NDJSONMime = "application/x-ndjson"

// TarMime is the media type of layer diffs.
const TarMime = "application/x-tar"

// The client is the core's side of the one contract: it has the very methods a backend implements.
var (
	_ sdk.Backend           = (*Client)(nil)
	_ sdk.KVStore           = (*Client)(nil)
	_ sdk.EventSource       = (*Client)(nil)
	_ sdk.LayerStore        = (*Client)(nil)
	_ sdk.Containers        = (*Client)(nil)
	_ sdk.Interaction       = (*Client)(nil)
	_ sdk.Volumes           = (*Client)(nil)
	_ sdk.Scopes            = (*Client)(nil)
	_ sdk.Archive           = (*Client)(nil)
	_ sdk.DiskUsage         = (*Client)(nil)
	_ sdk.Tasks             = (*Client)(nil)
	_ sdk.RunningContainers = (*Client)(nil)
)

// Client calls one backend's port layer.
type Client struct {
	name      string
	rt        http.RoundTripper
	api       *client.Portlayer
	listed    listedInfos    // the last shared listing's decodings (containers_shared.go)
	described describedInfos // recent shared descriptions (containers_shared.go)
	changes   *changeView    // the backend's change clock, and the descriptions kept while it stands (changes.go)
}

// New returns a client of the backend named name whose requests travel over rt.
func New(name string, rt http.RoundTripper) *Client {
	view := newChangeView(rt)
	rt = tracking{rt: rt, view: view}
	tr := httptransport.NewWithClient(Host, client.DefaultBasePath, []string{"http"}, &http.Client{Transport: rt})
	tr.Consumers[NDJSONMime] = runtime.ByteStreamConsumer()
	tr.Consumers[runtime.TextMime] = runtime.TextConsumer()
	tr.Consumers[TarMime] = runtime.ByteStreamConsumer()
	return &Client{name: name, rt: rt, api: client.New(tr, strfmt.Default), changes: view}
}

// Close ends what the client keeps running beside its requests: the stream of the backend's change clock.
func (c *Client) Close() { c.changes.close() }

// Name is the backend's name, as its plugin is registered.
func (c *Client) Name() string { return c.name }

// Ping answers nil when the backend is able to serve.
func (c *Client) Ping(ctx context.Context) error {
	_, err := c.api.Misc.PingContext(ctx, misc.NewPingParams())
	return classify("ping", err)
}

// Info describes the backend's Virtual Container Host.
func (c *Client) Info(ctx context.Context) (*models.VCHInfo, error) {
	ok, err := c.api.Misc.GetVCHInfoContext(ctx, misc.NewGetVCHInfoParams())
	if err != nil {
		return nil, classify("info", err)
	}
	return ok.Payload, nil
}

// ListValues returns the records whose keys start with prefix, ordered by key.
func (c *Client) ListValues(ctx context.Context, prefix string) ([]*models.KeyValue, error) {
	p := kv.NewListValuesParams()
	if prefix != "" {
		p.SetPrefix(&prefix)
	}
	ok, err := c.api.Kv.ListValuesContext(ctx, p)
	if err != nil {
		return nil, classify("list values", err)
	}
	return ok.Payload, nil
}

// GetValue returns one record; a missing key is an errdefs.ErrNotFound error.
func (c *Client) GetValue(ctx context.Context, key string) (*models.KeyValue, error) {
	ok, err := c.api.Kv.GetValueContext(ctx, kv.NewGetValueParams().WithKey(key))
	if err != nil {
		return nil, classify("get value", err)
	}
	return ok.Payload, nil
}

// PutValue creates or replaces the record and returns it with its new revision.
func (c *Client) PutValue(ctx context.Context, rec *models.KeyValue) (*models.KeyValue, error) {
	if rec == nil || rec.Key == nil {
		return nil, fmt.Errorf("put value: a record needs a key: %w", errdefs.ErrInvalid)
	}
	ok, err := c.api.Kv.PutValueContext(ctx, kv.NewPutValueParams().WithKey(*rec.Key).WithRecord(rec))
	if err != nil {
		return nil, classify("put value", err)
	}
	return ok.Payload, nil
}

// DeleteValue removes the record key; a missing key is an errdefs.ErrNotFound error.
func (c *Client) DeleteValue(ctx context.Context, key string) error {
	_, err := c.api.Kv.DeleteValueContext(ctx, kv.NewDeleteValueParams().WithKey(key))
	return classify("delete value", err)
}

package engine

import (
	"log/slog"
	"time"

	"github.com/moby/moby/api/types/events"

	"github.com/vice-engine/vice/core/build"
	"github.com/vice-engine/vice/core/imagec"
	"github.com/vice-engine/vice/core/images"
)

// WithRegistryClient sets the registry client of pulls and logins (default: one that allows plain HTTP for
// loopback registries only; see imagec.New for --insecure-registry).
func WithRegistryClient(c *imagec.Client) Option { return func(e *Engine) { e.registry = c } }

// WithImageTempDir sets where layer downloads and archives are spooled.
func WithImageTempDir(dir string) Option { return func(e *Engine) { e.imageTmp = dir } }

// Images is the engine's image store.
func (e *Engine) Images() *images.Service { return e.images }

// newImages builds the image store; its events go to the engine's event log.
func (e *Engine) newImages() {
	reg := e.registry
	if reg == nil {
		reg, _ = imagec.New(nil, imagec.WithUserAgent("vice/"+e.build.Version)) // no list, no error
	}
	opts := []images.Option{images.WithLogger(e.log.With(slog.String("component", "images"))), images.WithEvents(e.imageEvent)}
	if e.imageTmp != "" {
		opts = append(opts, images.WithTempDir(e.imageTmp))
	}
	e.images = images.New(e.pl, reg, opts...)
}

// imageEvent records one of the image store's events as Docker reports it.
func (e *Engine) imageEvent(action, id string, attrs map[string]string) {
	now := time.Now()
	if attrs == nil {
		attrs = map[string]string{}
	}
	e.events.publish(events.Message{
		Type: events.ImageEventType, Action: events.Action(action), Actor: events.Actor{ID: id, Attributes: attrs},
		Scope: "local", Time: now.Unix(), TimeNano: now.UnixNano(),
	})
}

// Builder is the engine's classic builder (POST /build).
func (e *Engine) Builder() *build.Service { return e.builder }

// newBuilder builds images with the engine's image store and containers.
func (e *Engine) newBuilder() {
	opts := []build.Option{build.WithLogger(e.log.With(slog.String("component", "build")))}
	if e.imageTmp != "" {
		opts = append(opts, build.WithTempDir(e.imageTmp))
	}
	e.builder = build.New(e.images, e.containers, opts...)
}

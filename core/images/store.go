package images

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-openapi/strfmt"

	"github.com/vice-engine/vice/core/imagec"
	"github.com/vice-engine/vice/core/portlayer"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// EventFunc receives the store's image events: Docker's action, the actor ID and its attributes.
type EventFunc func(action, id string, attrs map[string]string)

// Service is the image store of one VCH.
type Service struct {
	pl      *portlayer.Client
	reg     *imagec.Client
	log     *slog.Logger
	publish EventFunc
	tmpDir  string
	slots   chan struct{} // concurrent layer downloads
	// noFetch says the port layer does not download layers itself (FetchLayer): blobs stream through here.
	noFetch atomic.Bool
	// unreachable are the registry hosts the plugin could not download from lately, with when it failed: their
	// blobs stream through here for a while (unreachableFor) instead of each layer's download failing first.
	unreachable sync.Map

	mu     sync.Mutex // guards the cache and serialises the store's writes
	loaded bool
	images map[string]*Record // by ID
	refs   refsRecord

	flights flights
	users   UsersFunc
}

// Option configures a Service.
type Option func(*Service)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// WithEvents sets where image events go.
func WithEvents(f EventFunc) Option { return func(s *Service) { s.publish = f } }

// WithTempDir sets where downloads and archives are spooled (default os.TempDir()).
func WithTempDir(dir string) Option { return func(s *Service) { s.tmpDir = dir } }

// WithMaxDownloads sets how many layers download at once (default 3, as in Docker).
func WithMaxDownloads(n int) Option {
	return func(s *Service) { s.slots = make(chan struct{}, max(n, 1)) }
}

// New returns the image store kept in pl's kv records and layer store, pulling through reg.
func New(pl *portlayer.Client, reg *imagec.Client, opts ...Option) *Service {
	s := &Service{pl: pl, reg: reg, log: slog.Default(), publish: func(string, string, map[string]string) {},
		tmpDir: os.TempDir(), slots: make(chan struct{}, 3), flights: flights{m: map[string]*flight{}}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Registry is the registry client the store pulls through.
func (s *Service) Registry() *imagec.Client { return s.reg }

// lock takes the store's lock once the records are loaded from the port layer (on first use after start,
// so that a new endpoint sees what an old one stored).
func (s *Service) lock(ctx context.Context) error {
	s.mu.Lock()
	if s.loaded {
		return nil
	}
	if err := s.loadLocked(ctx); err != nil {
		s.mu.Unlock()
		return fmt.Errorf("load the image store: %w", err)
	}
	s.loaded = true
	return nil
}

func (s *Service) loadLocked(ctx context.Context) error {
	recs, err := s.pl.ListValues(ctx, imageKeyPrefix)
	if err != nil {
		return err
	}
	images := map[string]*Record{}
	for _, kv := range recs {
		r, err := decodeRecord(*kv.Value)
		if err != nil {
			s.log.Warn("skipping an unreadable image record", "key", *kv.Key, "err", err)
			continue
		}
		images[r.ID] = r
	}
	refs := refsRecord{Refs: map[string]string{}, Tagged: map[string]time.Time{}}
	kv, err := s.pl.GetValue(ctx, refsKey)
	switch {
	case errors.Is(err, errdefs.ErrNotFound):
	case err != nil:
		return err
	default:
		if err := json.Unmarshal(*kv.Value, &refs); err != nil {
			s.log.Warn("unreadable image reference index; starting empty", "err", err)
		}
	}
	if refs.Refs == nil {
		refs.Refs = map[string]string{}
	}
	if refs.Tagged == nil {
		refs.Tagged = map[string]time.Time{}
	}
	for ref, id := range refs.Refs {
		if images[id] == nil {
			delete(refs.Refs, ref)
		}
	}
	s.images, s.refs = images, refs
	s.log.Debug("image store loaded", "images", len(images), "references", len(refs.Refs))
	return nil
}

// putImageLocked writes r through to the port layer, then caches it.
func (s *Service) putImageLocked(ctx context.Context, r *Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if _, err := s.pl.PutValue(ctx, kvRecord(imageKey(r.ID), b)); err != nil {
		return fmt.Errorf("store image %s: %w", shortID(r.ID), err)
	}
	s.images[r.ID] = r
	return nil
}

// deleteImageLocked removes r's record.
func (s *Service) deleteImageLocked(ctx context.Context, id string) error {
	if err := s.pl.DeleteValue(ctx, imageKey(id)); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		return fmt.Errorf("remove image %s: %w", shortID(id), err)
	}
	delete(s.images, id)
	return nil
}

// setRefsLocked applies change to a copy of the index, writes it, and only then makes it current.
func (s *Service) setRefsLocked(ctx context.Context, change func(r *refsRecord)) error {
	next := refsRecord{Refs: make(map[string]string, len(s.refs.Refs)), Tagged: make(map[string]time.Time, len(s.refs.Tagged))}
	for k, v := range s.refs.Refs {
		next.Refs[k] = v
	}
	for k, v := range s.refs.Tagged {
		next.Tagged[k] = v
	}
	change(&next)
	b, err := json.Marshal(next)
	if err != nil {
		return err
	}
	if _, err := s.pl.PutValue(ctx, kvRecord(refsKey, b)); err != nil {
		return fmt.Errorf("store the image references: %w", err)
	}
	s.refs = next
	return nil
}

// refsOfLocked lists the references to id, sorted.
func (s *Service) refsOfLocked(id string) (tags, digests []string) {
	for ref, target := range s.refs.Refs {
		if target != id {
			continue
		}
		if isDigestRef(ref) {
			digests = append(digests, ref)
		} else {
			tags = append(tags, ref)
		}
	}
	sortStrings(tags)
	sortStrings(digests)
	return tags, digests
}

// Count is how many images the store holds.
func (s *Service) Count(ctx context.Context) (int, error) {
	if err := s.lock(ctx); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	return len(s.images), nil
}

// kvRecord is a port-layer record of key holding value.
func kvRecord(key string, value []byte) *models.KeyValue {
	v := strfmt.Base64(value)
	return &models.KeyValue{Key: &key, Value: &v}
}

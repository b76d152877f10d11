package containers

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/vice-engine/vice/core/images"
	"github.com/vice-engine/vice/core/internal/dockermsg"
	"github.com/vice-engine/vice/core/portlayer"
	"github.com/vice-engine/vice/core/volumes"
	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// Annotation keys of Docker's records kept with each containerVM. "image" is the name the client used;
// the backend copies it into the "image" attribute of container events.
const (
	annImage      = "image"
	annImageID    = "docker.imageID"
	annConfig     = "docker.config"
	annHostConfig = "docker.hostConfig"
	annCreated    = "docker.created"
)

// Service is the container service of one VCH. It keeps no container state of its own: the backend's
// inventory is the record; the service only holds what is in flight (names being created, attaches about to
// begin, waiters woken by events).
type Service struct {
	pl      *portlayer.Client
	images  *images.Service
	volumes *volumes.Service
	log     *slog.Logger

	mu         sync.Mutex
	reserved   map[string]string                 // names being created -> the ID they go to
	attaching  map[string]int                    // container ID -> client attaches waiting for the process
	wakers     map[string]*wake                  // container ID -> closed at its next event
	exitWakers map[string]*wake                  // container ID -> closed at its next die or destroy event
	lastState  map[string]*models.ContainerState // auto-removed container ID -> its final state, briefly
	starting   map[string]chan struct{}          // container ID -> closed when its start request returns
	removing   map[string]*removal               // container ID -> its auto-removal in progress (observe.go)
	dns        []string                          // default name servers (the VCH's --dns-server)
	publish    EventFunc                         // the events the service reports itself (commit, health_status)
	networks   Networks                          // resolves network names; nil: no networks
	// healthless holds the containers created here without a health check (ID to true): a start of one
	// needs no read to set up a health monitor.
	healthless sync.Map
	pruning    atomic.Bool // a prune runs (prune.go)

	execs        execTable       // exec instances (exec.go)
	restarts     restartPolicies // the restart manager (restart.go)
	healthChecks healthChecks    // the health monitors (health.go)
	annotations  annotationLocks // one annotation write at a time per container (annotate.go)
	names        nameHints       // the container IDs names were last seen on (namehints.go)
	records      recordMemo      // Docker's records decoded, for listings (recordmemo.go)
	logs         knownLogs       // whether containers have a tty, and where their logs are, for reads of them (logs.go)
}

// Option configures a Service.
type Option func(*Service)

// WithDNS sets the name servers a container gets when its create request names none (dockerd's --dns).
func WithDNS(servers []string) Option { return func(s *Service) { s.dns = servers } }

// EventFunc receives the container events the service reports: Docker's action, the container ID and the
// event's attributes. The backend reports the rest.
type EventFunc func(action, id string, attrs map[string]string)

// WithEvents sets where the service's container events go.
func WithEvents(f EventFunc) Option { return func(s *Service) { s.publish = f } }

// WithVolumes gives the service the volumes its containers mount (without it, mounts fail).
func WithVolumes(v *volumes.Service) Option { return func(s *Service) { s.volumes = v } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// New returns the container service over pl, making containers from the images of img.
func New(pl *portlayer.Client, img *images.Service, opts ...Option) *Service {
	s := &Service{pl: pl, images: img, log: slog.Default(), publish: func(string, string, map[string]string) {},
		reserved:  map[string]string{},
		attaching: map[string]int{}, wakers: map[string]*wake{}, exitWakers: map[string]*wake{},
		lastState: map[string]*models.ContainerState{}, starting: map[string]chan struct{}{},
		removing: map[string]*removal{}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// record is one container as Docker sees it: the backend's info with Docker's records decoded.
type record struct {
	info       *models.ContainerInfo
	ID         string
	Name       string // without the slash
	Image      string // as the client named it
	ImageID    string
	Config     *container.Config
	HostConfig *container.HostConfig
	Created    string
	spec       *models.ContainerSpec // as the backend keeps it; never nil
	process    *models.Process       // the spec's; never nil

	// What the endpoint itself knows of the container, for inspect and ps (see decorate).
	restartPending bool              // a restart by policy waits its back-off
	healthNow      *container.Health // its health check's state; nil without one
}

// decorate adds to r what the endpoint itself knows of it: a restart waiting its back-off, its health.
func (s *Service) decorate(r *record) *record {
	r.restartPending = !r.running() && s.restarting(r.ID)
	r.healthNow = s.health(r)
	return r
}

func decode(info *models.ContainerInfo) *record {
	r := newRecord(info)
	a := r.spec.Annotations
	_ = json.Unmarshal([]byte(a[annConfig]), r.Config) // a container made elsewhere has zero records
	_ = json.Unmarshal([]byte(a[annHostConfig]), r.HostConfig)
	return r
}

// newRecord is the record of info with Docker's records not decoded yet (zero).
func newRecord(info *models.ContainerInfo) *record {
	r := &record{info: info, Config: &container.Config{}, HostConfig: &container.HostConfig{}, spec: info.Spec}
	if r.spec == nil {
		r.spec = &models.ContainerSpec{}
	}
	if r.process = r.spec.Process; r.process == nil {
		r.process = &models.Process{}
	}
	if info.ID != nil {
		r.ID = *info.ID
	}
	if info.Name != nil {
		r.Name = *info.Name
	}
	a := r.spec.Annotations
	r.Image, r.ImageID, r.Created = a[annImage], a[annImageID], a[annCreated]
	if r.Created == "" {
		r.Created = info.Created
	}
	return r
}

func (r *record) state() *models.ContainerState {
	if r.info.State == nil {
		return &models.ContainerState{}
	}
	return r.info.State
}

func (r *record) status() string {
	st := r.state()
	switch {
	case st.Status == nil:
		return "created"
	case *st.Status == "exited" && neverStarted(st.StartedAt):
		// Docker's rule: a container that has never run is "created", even after a start that failed with
		// an exit code (a missing executable, an unknown user).
		return "created"
	}
	return *st.Status
}

// neverStarted tells a start time that is not there.
func neverStarted(startedAt string) bool {
	t, err := time.Parse(time.RFC3339Nano, startedAt)
	return err != nil || t.IsZero()
}

func (r *record) createdAt() time.Time {
	t, _ := time.Parse(time.RFC3339Nano, r.Created)
	return t
}

func (r *record) running() bool { return r.state().Running }

func noSuchContainer(ref string) error {
	return dockermsg.NoSuchContainer.Err(ref)
}

// list returns the containers of the VCH that pass filter.
func (s *Service) list(ctx context.Context, filter sdk.ListFilter) ([]*record, error) {
	infos, err := s.pl.ListContainers(ctx, filter)
	if err != nil {
		return nil, err
	}
	out := make([]*record, 0, len(infos))
	for _, i := range infos {
		out = append(out, decode(i))
	}
	return out, nil
}

// resolve finds the container ref names, by Docker's order: full ID, then name (with or without "/"), then
// a unique ID prefix. The backend does the matching, so the whole inventory never crosses the port layer.
func (s *Service) resolve(ctx context.Context, ref string) (*record, error) {
	return s.resolveFor(ctx, ref, false)
}

// resolveShared is resolve for a caller that only reads the record (Inspect): a description the backend
// gave recently, byte for byte, is not decoded again, and the record shares its values (and the decodings
// of Docker's records) with others, so nothing of it may be changed.
func (s *Service) resolveShared(ctx context.Context, ref string) (*record, error) {
	return s.resolveFor(ctx, ref, true)
}

// describe is the backend's description of the container id as a record; shared as for resolveShared.
func (s *Service) describe(ctx context.Context, id string, shared bool) (*record, *models.ContainerInfo, error) {
	if !shared {
		info, err := s.pl.GetContainer(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		return decode(info), info, nil
	}
	info, err := s.pl.GetContainerShared(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	return s.records.decodeShared(info), info, nil
}

func (s *Service) resolveFor(ctx context.Context, ref string, shared bool) (*record, error) {
	if ref == "" {
		return nil, noSuchContainer(ref)
	}
	if fullID.MatchString(ref) {
		r, _, err := s.describe(ctx, ref, shared)
		if err == nil {
			return r, nil
		}
		if !errdefs.Is(err, errdefs.ErrNotFound) {
			return nil, err
		}
	}
	if r := s.byHint(ctx, ref, shared); r != nil {
		return r, nil
	}
	named, err := s.list(ctx, sdk.ListFilter{Names: []string{strings.TrimPrefix(ref, "/")}})
	if err != nil {
		return nil, err
	}
	if len(named) > 0 {
		s.names.remember(named[0].Name, named[0].ID)
		return named[0], nil
	}
	if !idPrefix.MatchString(ref) {
		return nil, noSuchContainer(ref)
	}
	found, err := s.list(ctx, sdk.ListFilter{IDs: []string{ref}})
	switch {
	case err != nil:
		return nil, err
	case len(found) == 0:
		return nil, noSuchContainer(ref)
	case len(found) > 1:
		return nil, fmt.Errorf("multiple IDs found with provided prefix: %s: %w", ref, errdefs.ErrInvalid)
	}
	return found[0], nil
}

// refresh re-reads one container; gone is "No such container".
func (s *Service) refresh(ctx context.Context, id string) (*record, error) {
	info, err := s.pl.GetContainer(ctx, id)
	if errdefs.Is(err, errdefs.ErrNotFound) {
		return nil, noSuchContainer(id)
	}
	if err != nil {
		return nil, err
	}
	return decode(info), nil
}

// Users lists the containers made from image id, for image deletion's conflicts.
func (s *Service) Users(ctx context.Context, imageID string) ([]images.User, error) {
	all, err := s.list(ctx, sdk.ListFilter{})
	if err != nil {
		return nil, err
	}
	var out []images.User
	for _, r := range all {
		if r.ImageID == imageID {
			out = append(out, images.User{ContainerID: r.ID, Running: r.running()})
		}
	}
	return out, nil
}

// Counts are `docker info`'s container numbers.
func (s *Service) Counts(ctx context.Context) (total, running, stopped int, err error) {
	all, err := s.list(ctx, sdk.ListFilter{})
	if err != nil {
		return 0, 0, 0, err
	}
	for _, r := range all {
		if r.running() {
			running++
		} else {
			stopped++
		}
	}
	return len(all), running, stopped, nil
}

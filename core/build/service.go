package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/api/types/registry"

	"github.com/vice-engine/vice/core/containers"
	"github.com/vice-engine/vice/core/imagec"
	"github.com/vice-engine/vice/core/images"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// Service is the classic builder of one VCH: it builds images from a Dockerfile with the image store and
// the container service (RUN steps run in containerVMs; COPY and ADD write through the archive group).
type Service struct {
	images     *images.Service
	containers *containers.Service
	log        *slog.Logger
	tmpDir     string
}

// Option configures a Service.
type Option func(*Service)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// WithTempDir sets where build contexts are spooled (default os.TempDir()).
func WithTempDir(dir string) Option { return func(s *Service) { s.tmpDir = dir } }

// New returns the builder over the image store and the container service.
func New(img *images.Service, ctr *containers.Service, opts ...Option) *Service {
	s := &Service{images: img, containers: ctr, log: slog.Default(), tmpDir: os.TempDir()}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Options are POST /build's parameters.
type Options struct {
	Context     io.Reader // the request's body: a tar of the context (gzip or bzip2 too), or a bare Dockerfile
	Dockerfile  string    // its path in the context ("Dockerfile" by default)
	Tags        []string
	BuildArgs   map[string]*string
	Target      string
	Labels      map[string]string
	NoCache     bool
	Pull        bool
	Remove      bool // remove the intermediate containers after a successful step (the CLI's default)
	ForceRemove bool // remove them after a failed one too
	Quiet       bool
	Platform    string
	Auth        map[string]registry.AuthConfig // X-Registry-Config: credentials by registry, for FROM's pulls
	NetworkMode string                         // the RUN steps' network ("default", "none", a network's name)
	ExtraHosts  []string
	Memory      int64
	CPUCount    int64
	NanoCPUs    int64
}

// Output receives the build's progress, one JSON message at a time (stream, status, aux, errorDetail).
type Output func(images.Message)

// CheckOptions refuses what vice's builder does not do, before anything is streamed.
func CheckOptions(o Options, remote string) error {
	if remote != "" {
		return fmt.Errorf("vice builds from a context sent with the request (a tar of a directory, or a Dockerfile on "+
			"stdin) and does not fetch remote contexts (Git repositories, URLs): clone or download %q and build from "+
			"its directory: %w", remote, errdefs.ErrInvalid)
	}
	if err := checkPlatform(o.Platform); err != nil {
		return err
	}
	for _, t := range o.Tags {
		if _, err := imagec.ParseReference(t); err != nil {
			return fmt.Errorf("invalid reference format: %s: %w", t, errdefs.ErrInvalid)
		}
	}
	return nil
}

// checkPlatform accepts the one platform containerVMs run: linux/amd64.
func checkPlatform(p string) error {
	switch strings.ToLower(p) {
	case "", "linux", "linux/amd64", "amd64", "linux/x86_64", "linux/amd64/v1", "linux/amd64/v2", "linux/amd64/v3":
		return nil
	}
	return fmt.Errorf("vice builds linux/amd64 images only, not %q: %w", p, errdefs.ErrInvalid)
}

// Build runs a build and streams its progress to out. It returns the built image's ID; an error after the
// stream began has been reported in it too (as Docker's errorDetail, with a RUN's exit code).
func (s *Service) Build(ctx context.Context, o Options, out Output) (string, error) {
	if o.Dockerfile == "" {
		o.Dockerfile = "Dockerfile"
	}
	bctx, err := readContext(o.Context, s.tmpDir, o.Dockerfile)
	if err != nil {
		return "", s.fail(out, err)
	}
	defer bctx.Close()
	b := &builder{s: s, o: o, bctx: bctx, out: out, tmp: map[string]bool{}}
	id, err := b.run(ctx)
	b.cleanup(context.WithoutCancel(ctx), err == nil)
	if err != nil {
		return "", s.fail(out, err)
	}
	return id, nil
}

// fail reports err at the end of the stream, with the exit code of a failed RUN.
func (s *Service) fail(out Output, err error) error {
	msg := err.Error()
	for _, class := range []error{errdefs.ErrInvalid, errdefs.ErrNotFound, errdefs.ErrConflict, errdefs.ErrNotImplemented,
		errdefs.ErrUnavailable} {
		msg = strings.TrimSuffix(msg, ": "+class.Error())
	}
	m := images.Message{ErrorDetail: &jsonstream.Error{Message: msg}, Error: msg}
	if re := (*runError)(nil); errors.As(err, &re) {
		m.ErrorDetail.Code = re.code
	}
	out(m)
	s.log.Info("build failed", "err", err)
	return err
}

// runError is a RUN step whose command exited with a non-zero code.
type runError struct {
	cmd  []string
	code int
}

func (e *runError) Error() string {
	return fmt.Sprintf("The command '%s' returned a non-zero code: %d", strings.Join(e.cmd, " "), e.code)
}

// cloneConfig is a deep copy of c.
func cloneConfig(c *container.Config) *container.Config {
	out := *c
	out.Cmd = clone(c.Cmd)
	out.Entrypoint = clone(c.Entrypoint)
	out.Env = clone(c.Env)
	out.Shell = clone(c.Shell)
	out.OnBuild = clone(c.OnBuild)
	if c.Labels != nil {
		out.Labels = make(map[string]string, len(c.Labels))
		for k, v := range c.Labels {
			out.Labels[k] = v
		}
	}
	if c.Volumes != nil {
		out.Volumes = make(map[string]struct{}, len(c.Volumes))
		for k := range c.Volumes {
			out.Volumes[k] = struct{}{}
		}
	}
	if c.ExposedPorts != nil {
		out.ExposedPorts = make(map[networkPort]struct{}, len(c.ExposedPorts))
		for k := range c.ExposedPorts {
			out.ExposedPorts[k] = struct{}{}
		}
	}
	if c.Healthcheck != nil {
		h := *c.Healthcheck
		h.Test = clone(h.Test)
		out.Healthcheck = &h
	}
	return &out
}

func clone(s []string) []string {
	if s == nil {
		return nil
	}
	return append([]string{}, s...)
}

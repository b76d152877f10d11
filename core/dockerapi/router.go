package dockerapi

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/system"

	"github.com/vice-engine/vice/core/build"
	"github.com/vice-engine/vice/core/containers"
	"github.com/vice-engine/vice/core/engine"
	"github.com/vice-engine/vice/core/images"
	"github.com/vice-engine/vice/core/networks"
	"github.com/vice-engine/vice/core/volumes"
)

// Engine is what the handlers call; *engine.Engine implements it.
type Engine interface {
	SystemInfo(ctx context.Context) (system.Info, error)
	Version(ctx context.Context) (system.VersionResponse, error)
	Events(ctx context.Context, o engine.EventsOptions) (<-chan events.Message, error)
	Images() *images.Service
	Containers() *containers.Service
	Networks() *networks.Service
	Volumes() *volumes.Service
	Builder() *build.Service
	Pruner
}

var _ Engine = (*engine.Engine)(nil)

// handlerFunc is a route's handler; an error it returns before writing is answered by WriteError.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// route is one Docker API route: a method and a path pattern whose {name} parts match one segment and whose
// {name:.*} part matches one or more segments (image names have slashes). Each part is a whole segment, and
// a pattern has at most one {name:.*}.
type route struct {
	method  string
	pattern string
	head    []part // the segments before the {name:.*} part, or all of them
	tail    []part // the segments after it
	rest    bool   // the pattern has a {name:.*} part (between head and tail)
	names   []string
	handle  handlerFunc
}

// part is one segment of a pattern: a literal, or a {name} that matches any non-empty segment.
type part struct {
	lit   string
	param bool
}

var wildcard = regexp.MustCompile(`^\{([a-z]+)(:\.\*)?\}$`)

func newRoute(method, pattern string, h handlerFunc) route {
	rt := route{method: method, pattern: pattern, handle: h}
	for _, seg := range strings.Split(strings.TrimPrefix(pattern, "/"), "/") {
		m := wildcard.FindStringSubmatch(seg)
		switch {
		case m == nil:
			if strings.ContainsAny(seg, "{}") {
				panic("route " + pattern + ": a {name} must be a whole segment")
			}
			if rt.rest {
				rt.tail = append(rt.tail, part{lit: seg})
			} else {
				rt.head = append(rt.head, part{lit: seg})
			}
		case m[2] != "":
			if rt.rest {
				panic("route " + pattern + ": more than one {name:.*}")
			}
			rt.rest = true
			rt.names = append(rt.names, m[1])
		default:
			rt.names = append(rt.names, m[1])
			if rt.rest {
				rt.tail = append(rt.tail, part{param: true})
			} else {
				rt.head = append(rt.head, part{param: true})
			}
		}
	}
	return rt
}

// matchPath matches path ("/a/b/c") against the route, returning the values of its names in order.
func (rt *route) matchPath(path string) ([]string, bool) {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	n, h, t := len(segs), len(rt.head), len(rt.tail)
	if (!rt.rest && n != h) || (rt.rest && n < h+t+1) {
		return nil, false
	}
	var vals []string
	matchParts := func(parts []part, segs []string) bool {
		for i, p := range parts {
			switch {
			case p.param && segs[i] == "":
				return false
			case p.param:
				vals = append(vals, segs[i])
			case p.lit != segs[i]:
				return false
			}
		}
		return true
	}
	if !matchParts(rt.head, segs[:h]) {
		return nil, false
	}
	if rt.rest {
		middle := strings.Join(segs[h:n-t], "/")
		if middle == "" {
			return nil, false
		}
		vals = append(vals, middle)
		if !matchParts(rt.tail, segs[n-t:]) {
			return nil, false
		}
	}
	return vals, true
}

// API is the Docker Engine API as an http.Handler.
type API struct {
	eng    Engine
	log    *slog.Logger
	routes []route
	server string // the Server header
	h      http.Handler
}

// Option configures an API.
type Option func(*API)

// WithLogger sets the logger requests are logged to at debug level (default: slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(a *API) { a.log = l } }

// WithServerVersion sets the vice version named in the Server header.
func WithServerVersion(v string) Option { return func(a *API) { a.server = "vice/" + v + " (linux)" } }

// New serves eng as the Docker Engine API.
func New(eng Engine, opts ...Option) *API {
	a := &API{eng: eng, log: slog.Default(), server: "vice (linux)"}
	for _, o := range opts {
		o(a)
	}
	a.routes = slices.Concat(a.systemRoutes(), a.execRoutes(), a.runningRoutes(), a.imageRoutes(), a.containerRoutes(), a.archiveRoutes(), a.networkRoutes(), a.volumeRoutes(), a.buildRoutes(), a.pruneRoutes(), swarmRoutes(), notImplementedRoutes())
	// A pattern whose last part takes the rest of the path (DELETE /containers/{id:.*}) must not shadow a
	// longer one of the same method (DELETE /containers/{id:.*}/checkpoints/{checkpoint}): those go last.
	slices.SortStableFunc(a.routes, func(x, y route) int {
		return cmp.Compare(boolInt(strings.HasSuffix(x.pattern, ":.*}")), boolInt(strings.HasSuffix(y.pattern, ":.*}")))
	})
	a.h = logRequests(a.log, recoverPanics(a.log, http.HandlerFunc(a.dispatch)))
	return a
}

// ServeHTTP serves one request.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.h.ServeHTTP(w, r) }

// dispatch finds the route, checks the API version and runs the handler. As in Docker, a path whose route
// exists for other methods only is "page not found" too.
func (a *API) dispatch(w http.ResponseWriter, r *http.Request) {
	version, path := splitVersion(r.URL.Path)
	rt, vals := a.match(r.Method, path)
	if rt == nil {
		notFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Server", a.server)
	h.Set("Api-Version", DefaultVersion)
	h.Set("Ostype", "linux")
	if version == "" {
		version = DefaultVersion
	}
	if err := checkVersion(version); err != nil {
		WriteError(w, err)
		return
	}
	for i, name := range rt.names {
		r.SetPathValue(name, vals[i])
	}
	r = r.WithContext(withAPIVersion(r.Context(), version))
	rec := recorderOf(w)
	if err := rt.handle(w, r); err != nil {
		if rec != nil && rec.wrote {
			a.log.Debug("error after the response began", "method", r.Method, "path", r.URL.Path, "err", err)
			return
		}
		WriteError(w, err)
	}
}

func (a *API) match(method, path string) (*route, []string) {
	for i := range a.routes {
		rt := &a.routes[i]
		if rt.method != method {
			continue
		}
		if vals, ok := rt.matchPath(path); ok {
			return rt, vals
		}
	}
	return nil, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// String names a route as error messages do.
func (rt *route) String() string { return fmt.Sprintf("%s %s", rt.method, rt.pattern) }

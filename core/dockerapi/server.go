package dockerapi

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// Docker's -H defaults, for vice.
const (
	DefaultUnixSocket = "/var/run/vice.sock"
	DefaultTCPPort    = "2375"
)

// Server serves a handler on Docker's -H addresses.
type Server struct {
	handler http.Handler
	log     *slog.Logger
	// ShutdownTimeout bounds how long requests in flight may finish after the context ends.
	ShutdownTimeout time.Duration
	// TLS, when set, is served on every tcp:// address (unix sockets stay plain, as with dockerd).
	TLS *tls.Config
}

// NewServer returns a server of h that logs to log.
func NewServer(h http.Handler, log *slog.Logger) *Server {
	return &Server{handler: h, log: log, ShutdownTimeout: 5 * time.Second}
}

// Serve listens on hosts (unix:///path, tcp://host:port, or host:port) and serves until ctx is cancelled;
// then it stops accepting, cancels the requests in flight (event streams) and returns nil once they are done.
func (s *Server) Serve(ctx context.Context, hosts []string) error {
	ls, err := Listen(hosts)
	if err != nil {
		return err
	}
	return s.ServeListeners(ctx, ls)
}

// ServeListeners is Serve on listeners already open; it closes them. With TLS set, the tcp ones serve TLS.
func (s *Server) ServeListeners(ctx context.Context, ls []net.Listener) error {
	if s.TLS != nil {
		for i, l := range ls {
			if l.Addr().Network() == "tcp" {
				ls[i] = tls.NewListener(l, s.TLS)
			}
		}
	}
	base, cancelRequests := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRequests()
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 30 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return base },
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	addrs := make([]string, len(ls))
	for i, l := range ls {
		addrs[i] = l.Addr().Network() + "://" + l.Addr().String()
	}
	s.log.Info("API listening", "hosts", strings.Join(addrs, ","))

	errc := make(chan error, len(ls))
	var wg sync.WaitGroup
	for _, l := range ls {
		wg.Go(func() {
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("serve %s: %w", l.Addr(), err)
			}
		})
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	cancelRequests()
	sctx, cancel := context.WithTimeout(context.Background(), s.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	wg.Wait()
	return serveErr
}

// Listen opens a listener for each of Docker's -H forms. A stale unix socket is removed first and the new one
// is made group-accessible (0660). On error, the listeners already opened are closed.
func Listen(hosts []string) ([]net.Listener, error) {
	var ls []net.Listener
	for _, h := range hosts {
		l, err := listen(h)
		if err != nil {
			for _, l := range ls {
				l.Close()
			}
			return nil, err
		}
		ls = append(ls, l)
	}
	return ls, nil
}

func listen(host string) (net.Listener, error) {
	proto, addr, ok := strings.Cut(host, "://")
	if !ok {
		proto, addr = "tcp", host
	}
	switch proto {
	case "unix":
		if addr == "" {
			addr = DefaultUnixSocket
		}
		if err := removeStaleSocket(addr); err != nil {
			return nil, err
		}
		l, err := net.Listen("unix", addr)
		if err != nil {
			return nil, fmt.Errorf("listen on %s: %w", host, err)
		}
		if err := os.Chmod(addr, 0o660); err != nil {
			l.Close()
			return nil, fmt.Errorf("chmod %s: %w", addr, err)
		}
		return l, nil
	case "tcp":
		addr, err := tcpAddr(addr)
		if err != nil {
			return nil, fmt.Errorf("invalid bind address format: %s: %w", host, err)
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("listen on %s: %w", host, err)
		}
		return l, nil
	default:
		return nil, fmt.Errorf("invalid bind address format: %s (vice serves unix:// and tcp://): %w", host, errdefs.ErrInvalid)
	}
}

// tcpAddr completes Docker's tcp forms: a missing port is 2375, an empty address is 127.0.0.1:2375, and
// ":port" means every interface.
func tcpAddr(addr string) (string, error) {
	addr = strings.TrimSuffix(addr, "/")
	if addr == "" {
		return net.JoinHostPort("127.0.0.1", DefaultTCPPort), nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		if !strings.Contains(err.Error(), "missing port") {
			return "", fmt.Errorf("%w: %w", err, errdefs.ErrInvalid)
		}
		host, port = strings.Trim(addr, "[]"), ""
	}
	if port == "" {
		port = DefaultTCPPort
	}
	return net.JoinHostPort(host, port), nil
}

// removeStaleSocket removes a socket nobody answers on; a live one or a file that is no socket is an error.
func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("%s exists and is not a socket: %w", path, errdefs.ErrConflict)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("%s is in use by another server: %w", path, errdefs.ErrConflict)
	}
	return os.Remove(path)
}

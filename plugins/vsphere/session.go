package vsphere

import (
	"context"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/session/keepalive"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"

	"github.com/vice-engine/vice/plugins/vsphere/soapconn"
	"github.com/vice-engine/vice/plugins/vsphere/soaptrace"
)

// keepAliveIdle is how often an idle session is touched; vCenter's default idle timeout is 30 minutes.
const keepAliveIdle = 5 * time.Minute

// vimSession is one authenticated connection to the target. It stays logged in: a keep-alive touches it while
// idle, and Ping logs in again when the target dropped it (for example after a vCenter restart).
type vimSession struct {
	client *vim25.Client
	mgr    *session.Manager
	user   *url.Userinfo
	log    *slog.Logger

	mu sync.Mutex // serialises logins
}

// maxIdleConnsPerHost is how many connections to the target stay open between calls.
const maxIdleConnsPerHost = 256

// dial connects to u (whose credentials are used to log in) and logs in.
func dial(ctx context.Context, u *url.URL, insecure bool, thumbprint string, log *slog.Logger) (*vimSession, error) {
	// The soap client keeps its URL for datastore HTTP access; keep the password out of it.
	endpoint := *u
	endpoint.User = nil
	sc := soap.NewClient(&endpoint, insecure)
	// Layer writes, container operations and the watch call the target at once; with Go's default of two
	// idle connections per host, the others would be closed after each call and the next call would pay a
	// new TLS handshake.
	sc.DefaultTransport().MaxIdleConnsPerHost = maxIdleConnsPerHost
	sc.Client.Transport = soapconn.Drain(sc.Client.Transport)
	if thumbprint != "" {
		sc.SetThumbprint(endpoint.Host, thumbprint)
	}
	vc, err := vim25.NewClient(ctx, sc)
	if err != nil {
		return nil, classify(err, "connect to "+endpoint.String())
	}
	vc.RoundTripper = soaptrace.Wrap(vc.RoundTripper, log)
	s := &vimSession{client: vc, user: u.User, log: log}
	vc.RoundTripper = keepalive.NewHandlerSOAP(vc.RoundTripper, keepAliveIdle, s.keepAlive)
	s.mgr = session.NewManager(vc)
	if err := s.mgr.Login(ctx, u.User); err != nil {
		return nil, classify(err, "log in to "+endpoint.String()+" as "+u.User.Username())
	}
	return s, nil
}

// keepAlive runs in the keep-alive goroutine. It always returns nil because an error would stop the
// goroutine for good, and a failed round may succeed on the next one.
func (s *vimSession) keepAlive() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.ensure(ctx); err != nil {
		s.log.Warn("vSphere session keep-alive failed", "err", err)
	}
	return nil
}

// ensure checks the session is still logged in, logging in again when it is not.
func (s *vimSession) ensure(ctx context.Context) error {
	us, err := s.mgr.UserSession(ctx)
	if err != nil {
		return classify(err, "check vSphere session")
	}
	if us != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if us, err := s.mgr.UserSession(ctx); err == nil && us != nil {
		return nil // another caller logged in meanwhile
	}
	s.log.Info("vSphere session expired, logging in again", "user", s.user.Username())
	if err := s.mgr.Login(ctx, s.user); err != nil {
		return classify(err, "log in again as "+s.user.Username())
	}
	return nil
}

// logout ends the session (which also stops the keep-alive).
func (s *vimSession) logout(ctx context.Context) error {
	if err := s.mgr.Logout(ctx); err != nil {
		return classify(err, "log out of vSphere")
	}
	return nil
}

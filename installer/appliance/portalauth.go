package appliance

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	vsession "github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/plugins/vsphere/vfault"
)

// Admin portal logins.
const (
	loginTTL     = 5 * time.Minute  // a verified login is trusted this long before vSphere is asked again
	loginTimeout = 30 * time.Second // one login to vSphere
	loginFailure = time.Second      // a refused login answers no sooner, to slow guessing
	portalRealm  = `Basic realm="VCH admin portal (vSphere credentials)", charset="UTF-8"`
)

// errNotVSphereUser: vSphere refused the user name or password.
var errNotVSphereUser = errors.New("vSphere refused the user name or password")

// portalAuth decides who may use the admin portal, in every TLS mode: a client with a certificate signed by
// the VCH's CA (TLS "verify"), or anyone who logs in with a user name and password that the VCH's vSphere
// target accepts (HTTP Basic over the portal's TLS), as VIC's vicadmin asked for vSphere credentials. A
// verified login is remembered for loginTTL by an HMAC of the credentials under a key made at boot, never by
// the password.
type portalAuth struct {
	login func(ctx context.Context, user, password string) error
	log   *slog.Logger
	now   func() time.Time
	key   []byte

	mu    sync.Mutex
	known map[[sha256.Size]byte]time.Time // verified logins → until when
}

func newPortalAuth(login func(ctx context.Context, user, password string) error, log *slog.Logger) *portalAuth {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return &portalAuth{login: login, log: log, now: time.Now, key: key, known: map[[sha256.Size]byte]time.Time{}}
}

// wrap serves next to authenticated clients and asks the others for their vSphere credentials.
func (a *portalAuth) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
			next.ServeHTTP(w, r)
			return
		}
		user, password, ok := r.BasicAuth()
		if ok && user != "" {
			err := a.check(r.Context(), user, password)
			if err == nil {
				next.ServeHTTP(w, r)
				return
			}
			if !errors.Is(err, errNotVSphereUser) {
				a.log.Warn("admin portal: cannot check a login with vSphere", "user", user, "err", err)
				http.Error(w, "cannot reach vSphere to check the login; try again", http.StatusServiceUnavailable)
				return
			}
			a.log.Info("admin portal: login refused", "user", user, "remote", r.RemoteAddr)
			select {
			case <-time.After(loginFailure):
			case <-r.Context().Done():
			}
		}
		w.Header().Set("WWW-Authenticate", portalRealm)
		http.Error(w, "log in with a vSphere user name and password (or a client certificate of the VCH)", http.StatusUnauthorized)
	})
}

// check verifies the credentials with vSphere, or remembers that it did.
func (a *portalAuth) check(ctx context.Context, user, password string) error {
	mac := hmac.New(sha256.New, a.key)
	mac.Write([]byte(user))
	mac.Write([]byte{0})
	mac.Write([]byte(password))
	var id [sha256.Size]byte
	copy(id[:], mac.Sum(nil))
	now := a.now()
	a.mu.Lock()
	until, ok := a.known[id]
	for k, t := range a.known { // forget the expired
		if !now.Before(t) {
			delete(a.known, k)
		}
	}
	a.mu.Unlock()
	if ok && now.Before(until) {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, loginTimeout)
	defer cancel()
	if err := a.login(ctx, user, password); err != nil {
		return err
	}
	a.mu.Lock()
	a.known[id] = now.Add(loginTTL)
	a.mu.Unlock()
	return nil
}

// vsphereLogin is a login to the SDK at target (its credentials, if any, ignored), trusting the server's
// certificate by thumbprint when one is given as the backend does: it logs in and out again, and says
// errNotVSphereUser when vSphere refused the credentials.
func vsphereLogin(target, thumbprint string) func(ctx context.Context, user, password string) error {
	return func(ctx context.Context, user, password string) error {
		u, err := url.Parse(target)
		if err != nil {
			return fmt.Errorf("the target: %w", errors.Unwrap(err))
		}
		u.User = nil
		sc := soap.NewClient(u, false)
		if thumbprint != "" {
			sc.SetThumbprint(u.Host, thumbprint)
		}
		c, err := vim25.NewClient(ctx, sc)
		if err != nil {
			return fmt.Errorf("connect to %s: %w", u.Host, err)
		}
		m := vsession.NewManager(c)
		if err := m.Login(ctx, url.UserPassword(user, password)); err != nil {
			if errdefs.Is(vfault.Class(err), errdefs.ErrUnauthorized) {
				return errNotVSphereUser
			}
			return fmt.Errorf("log in to %s: %w", u.Host, err)
		}
		_ = m.Logout(context.WithoutCancel(ctx))
		return nil
	}
}

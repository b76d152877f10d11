package vch

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// Session is a logged-in connection to the target.
type Session struct {
	Target *Target
	Client *vim25.Client
	// Thumbprint is the SHA-256 thumbprint of the target's certificate.
	Thumbprint string
	// IsVC is true for vCenter (vApps, clusters, DRS), false for a standalone ESXi host.
	IsVC  bool
	About types.AboutInfo
	// Finder is relative to the session's datacenter once resolveDatacenter has run.
	Finder *find.Finder

	mgr     *session.Manager
	timeout time.Duration // the operation's, for messages
}

// Connect checks the target's certificate against thumbprint, connects and logs in.
func Connect(ctx context.Context, t *Target, thumbprint string, log Progress) (*Session, error) {
	if t.Password == "" {
		return nil, fmt.Errorf("no password for %s: give --password or put user:password@ in front of --target", t.User)
	}
	sdk := t.SDK()
	var tp string
	trusted := true
	if t.Scheme == "https" {
		cert, ok, err := serverCertificate(ctx, t.Host)
		if err != nil {
			return nil, fmt.Errorf("cannot connect to the vSphere target %s: %w; check --target", sdk, err)
		}
		if tp, err = checkThumbprint(t.Host, thumbprint, cert, ok); err != nil {
			return nil, err
		}
		trusted = ok
		log.Debugf("Target certificate thumbprint %s (trusted authority: %v)", tp, trusted)
	}
	sc := soap.NewClient(sdk, !trusted)
	if !trusted {
		// Pin the certificate by its thumbprint instead of the authorities (which do not know it).
		sc.DefaultTransport().TLSClientConfig.VerifyPeerCertificate = pinned(tp)
		sc.SetThumbprint(sdk.Host, tp)
	}
	c, err := vim25.NewClient(ctx, sc)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to the vSphere target %s: %w; check --target", sdk, err)
	}
	mgr := session.NewManager(c)
	if err := mgr.Login(ctx, url.UserPassword(t.User, t.Password)); err != nil {
		if isInvalidLogin(err) {
			return nil, fmt.Errorf("cannot log in to %s as %q: incorrect user name or password; check --user and "+
				"--password (or the user:password@ of --target)", t.String(), t.User)
		}
		return nil, fmt.Errorf("cannot log in to %s as %q: %w", t.String(), t.User, err)
	}
	s := &Session{Target: t, Client: c, Thumbprint: tp, About: c.ServiceContent.About, mgr: mgr,
		IsVC: c.IsVC(), Finder: find.NewFinder(c, false)}
	log.Debugf("Connected to %s (%s, API %s) as %s", t.String(), s.About.FullName, s.About.ApiVersion, t.User)
	return s, nil
}

// Logout ends the session; errors are of no interest to the administrator any more.
func (s *Session) Logout(ctx context.Context) {
	if s != nil && s.mgr != nil {
		_ = s.mgr.Logout(ctx)
	}
}

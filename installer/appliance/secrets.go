package appliance

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"github.com/vice-engine/vice/installer/vchwire"
)

// errNoKey says guestinfo has no endpoint key to open the sealed secrets with.
var errNoKey = errors.New("no endpoint key in guestinfo (" + vchwire.KeySecretKey + "): vice-machine writes it when it " +
	"creates the endpoint VM, and vSphere keeps it in the VM's .vmx; a VM made or edited otherwise has lost it")

// secrets opens the config's sealed values with the endpoint's key (read once from guestinfo) and
// remembers what it opened, so that no status the appliance writes to guestinfo carries it.
type secrets struct {
	gi GuestInfo

	mu     sync.Mutex
	key    *vchwire.SecretKey
	opened []string // plaintexts, and the forms they take inside a URL
}

// open opens s for purpose.
func (s *secrets) open(ctx context.Context, purpose string, sealed vchwire.Sealed) ([]byte, error) {
	k, err := s.endpointKey(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", purpose, err)
	}
	b, err := k.Open(purpose, sealed)
	if err != nil {
		return nil, err
	}
	s.remember(string(b))
	return b, nil
}

// target is the config's SDK URL with its password opened: what the backend plugins log in with.
func (s *secrets) target(ctx context.Context, cfg *vchwire.ApplianceConfig) (string, error) {
	var k *vchwire.SecretKey
	if cfg.TargetPassword != "" {
		var err error
		if k, err = s.endpointKey(ctx); err != nil {
			return "", fmt.Errorf("%s: %w", vchwire.SecretTargetPassword, err)
		}
	}
	target, err := cfg.OpenTarget(k)
	if err != nil {
		return "", err
	}
	if u, err := url.Parse(target); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			_, escaped, _ := strings.Cut(u.User.String(), ":")
			s.remember(p, escaped)
		}
	}
	return target, nil
}

func (s *secrets) endpointKey(ctx context.Context) (*vchwire.SecretKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.key != nil {
		return s.key, nil
	}
	v, found, err := s.gi.Get(ctx, vchwire.KeySecretKey)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", vchwire.KeySecretKey, err)
	}
	if !found || v == "" {
		return nil, errNoKey
	}
	k, err := vchwire.ParseSecretKey(v)
	if err != nil {
		return nil, err
	}
	s.key = k
	return k, nil
}

func (s *secrets) remember(vs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range vs {
		if len(v) >= 4 { // shorter strings would blank out ordinary words
			s.opened = append(s.opened, v)
		}
	}
}

// redact hides every opened secret in msg.
func (s *secrets) redact(msg string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.opened {
		msg = strings.ReplaceAll(msg, v, "***")
	}
	return msg
}

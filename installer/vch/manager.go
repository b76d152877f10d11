package vch

import (
	"context"
	"time"
)

// Manager creates and manages the VCHs of vSphere targets. Every operation logs in with the target its
// options name, bounds itself by their Timeout and logs out when it ends; a Manager holds no session and
// may run several operations at once.
type Manager struct {
	// Progress receives the operations' progress lines; nil drops them.
	Progress Progress
	// PollInterval is how often the appliance's status is read; 500ms when zero.
	PollInterval time.Duration
}

func (m *Manager) log() Progress {
	if m.Progress == nil {
		return discard{}
	}
	return m.Progress
}

func (m *Manager) poll() time.Duration {
	if m.PollInterval > 0 {
		return m.PollInterval
	}
	return 500 * time.Millisecond
}

// connect parses the target and logs in. The session remembers the operation's timeout, for messages.
func (m *Manager) connect(ctx context.Context, o CommonOptions) (*Session, error) {
	t, err := ParseTarget(o.Target, o.User, o.Password)
	if err != nil {
		return nil, err
	}
	s, err := Connect(ctx, t, o.Thumbprint, m.log())
	if err != nil {
		return nil, err
	}
	s.timeout = timeout(o.Timeout)
	return s, nil
}

// openVCH starts an operation on the VCH o names: the context bounded by the timeout, a session on the
// target and the VCH. done logs out and releases the context.
func (m *Manager) openVCH(ctx context.Context, o CommonOptions) (context.Context, *Session, *VCH, func(), error) {
	ctx, cancel := withTimeout(ctx, o.Timeout)
	s, err := m.connect(ctx, o)
	if err != nil {
		cancel()
		return ctx, nil, nil, nil, err
	}
	done := func() {
		s.Logout(context.Background())
		cancel()
	}
	v, err := s.findVCH(ctx, o)
	if err != nil {
		done()
		return ctx, nil, nil, nil, err
	}
	return ctx, s, v, done, nil
}

// timeout is an operation's bound: d, or DefaultTimeout.
func timeout(d time.Duration) time.Duration {
	if d <= 0 {
		return DefaultTimeout
	}
	return d
}

// withTimeout bounds an operation by its Timeout.
func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, timeout(d))
}

// cleanupContext outlives the operation's (perhaps expired or cancelled) context, so a failed operation can
// still remove what it made.
func cleanupContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 2*time.Minute)
}

func (m *Manager) endpoint(s *Session, v *VCH, console string) *endpointVM {
	return &endpointVM{s: s, vm: v.VM, name: v.Name, console: console, log: m.log(), poll: m.poll(), timeout: s.timeout}
}

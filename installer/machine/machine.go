package machine

import (
	"context"
	"io"
	"time"
)

// BuildInfo is vice-machine's own version, set at link time in cmd/vice-machine.
type BuildInfo struct {
	Version string
	Commit  string
}

// Machine runs vice-machine's commands.
type Machine struct {
	// Out receives the progress lines and reports.
	Out io.Writer
	Log *Logger
	// Build is the installer's version ("Installer version").
	Build BuildInfo
	// PollInterval is how often the appliance's status is read; 500ms when zero.
	PollInterval time.Duration

	timeout time.Duration // the running command's --timeout, for messages
}

// New is a Machine writing to out.
func New(out io.Writer, debug bool, build BuildInfo) *Machine {
	if build.Version == "" {
		build.Version = "dev"
	}
	return &Machine{Out: out, Log: NewLogger(out, debug), Build: build}
}

func (m *Machine) poll() time.Duration {
	if m.PollInterval > 0 {
		return m.PollInterval
	}
	return 500 * time.Millisecond
}

// connect parses the target and logs in.
func (m *Machine) connect(ctx context.Context, o CommonOptions) (*Session, error) {
	t, err := ParseTarget(o.Target, o.User, o.Password)
	if err != nil {
		return nil, err
	}
	return Connect(ctx, t, o.Thumbprint, m.Log)
}

// openVCH starts an operation on the VCH o names: the context bounded by --timeout, a session on the target
// and the VCH. done logs out and releases the context.
func (m *Machine) openVCH(ctx context.Context, o CommonOptions) (context.Context, *Session, *VCH, func(), error) {
	ctx, cancel := m.withTimeout(ctx, o.Timeout)
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

// withTimeout bounds an operation by --timeout.
func (m *Machine) withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		d = DefaultTimeout
	}
	m.timeout = d
	return context.WithTimeout(ctx, d)
}

// cleanupContext outlives the operation's (perhaps expired or cancelled) context, so a failed operation can
// still remove what it made.
func cleanupContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 2*time.Minute)
}

func (m *Machine) endpoint(s *Session, v *VCH, console string) *endpointVM {
	return &endpointVM{s: s, vm: v.VM, name: v.Name, console: console, log: m.Log, poll: m.poll(), timeout: m.timeout}
}

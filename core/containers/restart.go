package containers

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/vice-engine/vice/core/internal/dockermsg"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// Restart policies are the endpoint's, as they are dockerd's: a container whose process exits is started
// again by its policy, after dockerd's back-off. What must survive the endpoint is kept with the
// containerVM (its annotations): how many times the policy restarted it, and whether a user stopped it.
const (
	annRestartCount = "docker.restartCount"
	annManualStop   = "docker.manuallyStopped"
)

// dockerd's back-off: the first restart after 100 ms, each next one after twice as long, at most a minute;
// a run of 10 s or more starts the back-off over.
const (
	restartFirstDelay = 100 * time.Millisecond
	restartMaxDelay   = time.Minute
	restartResetAfter = 10 * time.Second
)

// restartPolicies is the endpoint's restart manager: per container, its back-off, the boot whose exit was
// decided on, and a pending restart.
type restartPolicies struct {
	mu        sync.Mutex
	byID      map[string]*restartState
	recovered bool // the first recovery (the endpoint's start) is done
}

type restartState struct {
	delay       time.Duration
	decidedBoot int64
	exitOnNext  bool          // a user's stop or kill is under way: its exit is not followed by a restart
	pending     chan struct{} // a restart waits its back-off; closed to cancel it
}

func (p *restartPolicies) state(id string) *restartState {
	if p.byID == nil {
		p.byID = map[string]*restartState{}
	}
	st, ok := p.byID[id]
	if !ok {
		st = &restartState{}
		p.byID[id] = st
	}
	return st
}

// restarting says whether a restart of id waits its back-off (Docker's "restarting" state).
func (s *Service) restarting(id string) bool {
	s.restarts.mu.Lock()
	defer s.restarts.mu.Unlock()
	st, ok := s.restarts.byID[id]
	return ok && st.pending != nil
}

// cancelRestart drops a pending restart; it reports whether there was one.
func (s *Service) cancelRestart(id string) bool {
	s.restarts.mu.Lock()
	defer s.restarts.mu.Unlock()
	st, ok := s.restarts.byID[id]
	if !ok || st.pending == nil {
		return false
	}
	close(st.pending)
	st.pending = nil
	return true
}

// userStopping records a user's stop or kill of r: its coming exit is not restarted (exitOnNext), and, as
// dockerd keeps HasBeenManuallyStopped, an unless-stopped container stays down even across an endpoint
// restart. A pending restart is cancelled.
func (s *Service) userStopping(ctx context.Context, r *record, exitOnNext bool) {
	s.cancelRestart(r.ID)
	if exitOnNext {
		s.restarts.mu.Lock()
		s.restarts.state(r.ID).exitOnNext = true
		s.restarts.mu.Unlock()
	}
	if r.HostConfig.RestartPolicy.Name == "" || r.HostConfig.RestartPolicy.IsNone() || r.spec.Annotations[annManualStop] == "true" {
		return
	}
	if err := s.annotate(ctx, r.ID, func(a map[string]string) { a[annManualStop] = "true" }); err != nil {
		s.log.Warn("record a stop the restart policy must know of", "container", r.ID, "err", err)
	}
}

// userStarting resets what a user's start resets in dockerd: the restart count, the manual stop, the
// back-off.
func (s *Service) userStarting(ctx context.Context, r *record) {
	s.cancelRestart(r.ID)
	s.restarts.mu.Lock()
	st := s.restarts.state(r.ID)
	st.delay, st.exitOnNext = 0, false
	s.restarts.mu.Unlock()
	a := r.spec.Annotations
	if a[annManualStop] == "" && (a[annRestartCount] == "" || a[annRestartCount] == "0") {
		return
	}
	if err := s.annotate(ctx, r.ID, func(a map[string]string) {
		delete(a, annManualStop)
		delete(a, annRestartCount)
	}); err != nil {
		s.log.Warn("reset the restart count", "container", r.ID, "err", err)
	}
}

// restartCount is how many times the policy restarted the container since its user started it.
func (r *record) restartCount() int {
	n, _ := strconv.Atoi(r.spec.Annotations[annRestartCount])
	return n
}

// onExit applies the container's restart policy to the exit of its current boot, once per boot.
func (s *Service) onExit(ctx context.Context, id string, endpointStart bool) {
	s.onExitRead(ctx, id, endpointStart, nil)
}

// onExitRead is onExit with the container's read after its die event, when there is one.
func (s *Service) onExitRead(ctx context.Context, id string, endpointStart bool, exited *exitRead) {
	r, err := s.afterExit(ctx, id, exited)
	if err != nil || r.running() || r.status() != "exited" {
		return
	}
	policy := r.HostConfig.RestartPolicy
	if policy.Name == "" || policy.IsNone() {
		return
	}
	st := r.state()
	s.restarts.mu.Lock()
	rs := s.restarts.state(id)
	if rs.decidedBoot >= st.Boot || rs.pending != nil {
		s.restarts.mu.Unlock()
		return
	}
	rs.decidedBoot = st.Boot
	stopped := rs.exitOnNext
	rs.exitOnNext = false
	manual := r.spec.Annotations[annManualStop] == "true"
	var restart bool
	switch {
	case endpointStart:
		// dockerd's rule at its own start: always comes back even after a stop, unless-stopped unless stopped.
		restart = policy.IsAlways() || (policy.IsUnlessStopped() && !manual) ||
			(policy.IsOnFailure() && st.ExitCode != 0 && (policy.MaximumRetryCount == 0 || r.restartCount() < policy.MaximumRetryCount))
		rs.delay = 0
	case stopped:
	case policy.IsAlways(), policy.IsUnlessStopped() && !manual:
		restart = true
	case policy.IsOnFailure():
		restart = st.ExitCode != 0 && (policy.MaximumRetryCount == 0 || r.restartCount() < policy.MaximumRetryCount)
	}
	if !restart {
		s.restarts.mu.Unlock()
		return
	}
	delay := time.Duration(0)
	if !endpointStart {
		if ran(st) >= restartResetAfter {
			rs.delay = 0
		}
		switch {
		case rs.delay == 0:
			rs.delay = restartFirstDelay
		case rs.delay < restartMaxDelay:
			rs.delay = min(2*rs.delay, restartMaxDelay)
		}
		delay = rs.delay
	}
	cancelled := make(chan struct{})
	rs.pending = cancelled
	s.restarts.mu.Unlock()

	s.log.Info("restarting by policy", "container", id, "policy", policy.Name, "exitCode", st.ExitCode, "in", delay)
	s.wake(id) // ps and inspect say "restarting"
	select {
	case <-time.After(delay):
	case <-cancelled:
		return
	case <-ctx.Done():
		return
	}
	s.restarts.mu.Lock()
	if rs.pending != cancelled { // cancelled as the delay ran out
		s.restarts.mu.Unlock()
		return
	}
	rs.pending = nil
	s.restarts.mu.Unlock()
	count := r.restartCount() + 1
	if err := s.annotate(ctx, id, func(a map[string]string) { a[annRestartCount] = strconv.Itoa(count) }); err != nil {
		s.log.Warn("count a restart", "container", id, "err", err)
	}
	if r, err = s.refresh(ctx, id); err != nil {
		return
	}
	if err := s.start(ctx, r); err != nil && !errors.Is(err, errdefs.ErrNotModified) {
		// A process that cannot start exits again: its die event brings the policy back.
		s.log.Warn("restart by policy failed", "container", id, "err", err)
	}
}

// ran is how long the boot's process ran.
func ran(st *models.ContainerState) time.Duration {
	a, err1 := time.Parse(time.RFC3339Nano, st.StartedAt)
	b, err2 := time.Parse(time.RFC3339Nano, st.FinishedAt)
	if err1 != nil || err2 != nil {
		return 0
	}
	return b.Sub(a)
}

// recoverRestarts applies the restart policies to containers that exited while no endpoint followed
// them: at the endpoint's start with dockerd's rule for its own start, later (a plugin that came back) as
// the exits they were.
func (s *Service) recoverRestarts(ctx context.Context, all []*record) {
	s.restarts.mu.Lock()
	first := !s.restarts.recovered
	s.restarts.recovered = true
	s.restarts.mu.Unlock()
	for _, r := range all {
		p := r.HostConfig.RestartPolicy
		if p.Name == "" || p.IsNone() || r.status() != "exited" || r.state().Boot == 0 {
			continue
		}
		go s.onExit(context.WithoutCancel(ctx), r.ID, first)
	}
}

// checkRestartPolicy refuses what dockerd refuses at create and update.
func checkRestartPolicy(h *container.HostConfig) error {
	p := h.RestartPolicy
	switch p.Name {
	case "", container.RestartPolicyDisabled, container.RestartPolicyAlways, container.RestartPolicyUnlessStopped:
		if p.MaximumRetryCount != 0 {
			return dockermsg.RetryNotOnFailure.Err()
		}
	case container.RestartPolicyOnFailure:
		if p.MaximumRetryCount < 0 {
			return dockermsg.NegativeRetry.Err()
		}
	default:
		return dockermsg.InvalidRestart.Err(p.Name)
	}
	if h.AutoRemove && p.Name != "" && !p.IsNone() {
		return dockermsg.RestartAutoRemove.Err()
	}
	return nil
}

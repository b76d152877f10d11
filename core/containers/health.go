package containers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"

	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// Health checks are the endpoint's, as they are dockerd's: the image's HEALTHCHECK or the --health-* flags,
// each probe an exec session (a task of the port layer) in the running container. The health of the
// current boot is kept with the containerVM (annotation annHealth) whenever its status or failing streak
// changes, so a restarted endpoint goes on from it.
const annHealth = "docker.health"

// dockerd's defaults and bounds.
const (
	defaultProbeInterval = 30 * time.Second
	defaultProbeTimeout  = 30 * time.Second
	defaultStartInterval = 5 * time.Second
	defaultProbeRetries  = 3
	maxHealthLog         = 5
	maxProbeOutput       = 4096
)

// keptHealth is a boot's health as kept with the containerVM.
type keptHealth struct {
	Boot   int64 `json:"boot"`
	Health container.Health
}

// healthChecks are the monitors of the running containers with health checks.
type healthChecks struct {
	mu       sync.Mutex
	monitors map[string]*healthMonitor
}

// healthMonitor probes one boot of one container.
type healthMonitor struct {
	boot   int64
	cancel context.CancelFunc

	mu     sync.Mutex
	health container.Health
}

// healthcheck is the container's check, or nil when it has none (or --no-healthcheck).
func (r *record) healthcheck() *container.HealthConfig { return healthcheckOf(r.Config) }

// healthcheckOf is the health check a container config runs, or nil.
func healthcheckOf(cfg *container.Config) *container.HealthConfig {
	if cfg == nil {
		return nil
	}
	h := cfg.Healthcheck
	if h == nil || len(h.Test) == 0 || h.Test[0] == "NONE" {
		return nil
	}
	return h
}

// health is the container's health as inspect shows it: the monitor's, else the one kept for this boot.
func (s *Service) health(r *record) *container.Health {
	if r.healthcheck() == nil {
		return nil
	}
	s.healthChecks.mu.Lock()
	m := s.healthChecks.monitors[r.ID]
	s.healthChecks.mu.Unlock()
	if m != nil && m.boot == r.state().Boot {
		m.mu.Lock()
		defer m.mu.Unlock()
		h := m.health
		h.Log = append([]*container.HealthcheckResult(nil), h.Log...)
		return &h
	}
	var kept keptHealth
	if err := json.Unmarshal([]byte(r.spec.Annotations[annHealth]), &kept); err == nil && kept.Boot == r.state().Boot {
		return &kept.Health
	}
	if r.running() {
		return &container.Health{Status: container.Starting, Log: []*container.HealthcheckResult{}}
	}
	return nil
}

// watchHealth starts the monitor of a running container with a health check, unless one runs for its
// boot.
func (s *Service) watchHealth(r *record) {
	if r.healthcheck() == nil || !r.running() {
		return
	}
	boot := r.state().Boot
	s.healthChecks.mu.Lock()
	if s.healthChecks.monitors == nil {
		s.healthChecks.monitors = map[string]*healthMonitor{}
	}
	if m, ok := s.healthChecks.monitors[r.ID]; ok {
		if m.boot == boot {
			s.healthChecks.mu.Unlock()
			return
		}
		m.cancel()
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &healthMonitor{boot: boot, cancel: cancel, health: container.Health{Status: container.Starting, Log: []*container.HealthcheckResult{}}}
	var kept keptHealth
	if err := json.Unmarshal([]byte(r.spec.Annotations[annHealth]), &kept); err == nil && kept.Boot == boot {
		m.health = kept.Health // an endpoint that restarted goes on where the last one was
	}
	s.healthChecks.monitors[r.ID] = m
	s.healthChecks.mu.Unlock()
	go s.monitorHealth(ctx, r, m)
}

// unwatchHealth stops the monitor of a container that is no longer running.
func (s *Service) unwatchHealth(id string) {
	s.healthChecks.mu.Lock()
	defer s.healthChecks.mu.Unlock()
	if m, ok := s.healthChecks.monitors[id]; ok {
		m.cancel()
		delete(s.healthChecks.monitors, id)
	}
}

// monitorHealth probes the container every interval (its start interval while it starts) and applies
// dockerd's rules to the results.
func (s *Service) monitorHealth(ctx context.Context, r *record, m *healthMonitor) {
	hc := r.healthcheck()
	interval := orDefault(hc.Interval, defaultProbeInterval)
	startPeriod := hc.StartPeriod
	startInterval := orDefault(hc.StartInterval, defaultStartInterval)
	retries := hc.Retries
	if retries <= 0 {
		retries = defaultProbeRetries
	}
	startedAt, _ := time.Parse(time.RFC3339Nano, r.state().StartedAt)
	s.keepHealth(ctx, r.ID, m)
	for {
		wait := interval
		m.mu.Lock()
		starting := m.health.Status == container.Starting
		m.mu.Unlock()
		if starting && startPeriod > 0 && time.Since(startedAt) < startPeriod {
			wait = startInterval
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		result, ok := s.probe(ctx, r, hc)
		if ctx.Err() != nil {
			return
		}
		if !ok {
			continue // paused, or gone between two events: no result
		}
		m.mu.Lock()
		before := m.health
		h := &m.health
		if result.ExitCode == 0 {
			h.FailingStreak = 0
			h.Status = container.Healthy
		} else if !(h.Status == container.Starting && result.Start.Sub(startedAt) < startPeriod) {
			h.FailingStreak++
			if h.FailingStreak >= retries {
				h.Status = container.Unhealthy
			}
		}
		h.Log = append(h.Log, result)
		if len(h.Log) > maxHealthLog {
			h.Log = h.Log[len(h.Log)-maxHealthLog:]
		}
		changed := before.Status != h.Status
		keep := changed || before.FailingStreak != h.FailingStreak
		status := h.Status
		m.mu.Unlock()
		if changed {
			s.log.Info("health status", "container", r.ID, "status", status)
			s.publishEvent(r, events.Action("health_status: "+string(status)))
		}
		if keep {
			s.keepHealth(ctx, r.ID, m)
		}
	}
}

// keepHealth records the monitor's health with the containerVM.
func (s *Service) keepHealth(ctx context.Context, id string, m *healthMonitor) {
	m.mu.Lock()
	data, _ := json.Marshal(keptHealth{Boot: m.boot, Health: m.health})
	m.mu.Unlock()
	if err := s.annotate(ctx, id, func(a map[string]string) { a[annHealth] = string(data) }); err != nil && ctx.Err() == nil {
		s.log.Debug("keep the health status", "container", id, "err", err)
	}
}

// probe runs the check once as an exec session: its exit code and output, or a timeout's.
func (s *Service) probe(ctx context.Context, r *record, hc *container.HealthConfig) (*container.HealthcheckResult, bool) {
	var cmd []string
	switch hc.Test[0] {
	case "CMD":
		cmd = hc.Test[1:]
	case "CMD-SHELL":
		cmd = []string{"/bin/sh", "-c", strings.Join(hc.Test[1:], " ")}
	default:
		cmd = hc.Test // an old image's check: the command itself
	}
	if len(cmd) == 0 {
		return nil, false
	}
	result := &container.HealthcheckResult{Start: time.Now()}
	spec := s.taskSpec(r, container.ExecCreateRequest{Cmd: cmd})
	if _, err := s.pl.CreateTask(ctx, r.ID, spec); err != nil {
		if errors.Is(err, errdefs.ErrConflict) || errors.Is(err, errdefs.ErrNotFound) {
			return nil, false
		}
		result.End, result.ExitCode, result.Output = time.Now(), -1, message(err)
		return result, true
	}
	timeout := orDefault(hc.Timeout, defaultProbeTimeout)
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	st, err := s.pl.StartTask(pctx, r.ID, *spec.ID, sdk.AttachOptions{Stdout: true, Stderr: true})
	if err != nil {
		result.End = time.Now()
		if ti, gerr := s.pl.GetTask(ctx, r.ID, *spec.ID); gerr == nil && ti.State.Status == models.TaskStateStatusExited {
			result.ExitCode, result.Output = int(ti.State.ExitCode), ti.State.Error
			return result, true
		}
		if errors.Is(err, errdefs.ErrConflict) {
			return nil, false
		}
		result.ExitCode, result.Output = -1, message(err)
		return result, true
	}
	var out limitedBuffer
	copied := make(chan error, 1)
	go func() { copied <- newDockerStream(&out, true).copyFrames(st) }()
	select {
	case <-copied:
		st.Close()
	case <-pctx.Done():
		st.Close()
		_ = s.pl.SignalTask(context.WithoutCancel(ctx), r.ID, *spec.ID, "KILL")
		if ctx.Err() != nil {
			return nil, false
		}
		result.End, result.ExitCode = time.Now(), -1
		result.Output = fmt.Sprintf("Health check exceeded timeout (%v)", timeout)
		return result, true
	}
	state, err := s.pl.WaitTask(pctx, r.ID, *spec.ID)
	result.End = time.Now()
	if err != nil {
		result.ExitCode, result.Output = -1, message(err)
		return result, true
	}
	result.ExitCode, result.Output = int(state.ExitCode), out.String()
	return result, true
}

// limitedBuffer keeps the first maxProbeOutput bytes, as dockerd keeps of a probe's output.
type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := maxProbeOutput - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// publishEvent publishes a container event of the endpoint's own (health status), with the container's
// name and image as the backend's events have them.
func (s *Service) publishEvent(r *record, action events.Action) {
	attrs := map[string]string{"name": r.Name, "image": r.Image}
	for k, v := range r.Config.Labels {
		attrs[k] = v
	}
	s.publish(string(action), r.ID, attrs)
}

// checkHealthcheck refuses what dockerd refuses in a health check's config.
func checkHealthcheck(h *container.HealthConfig) error {
	if h == nil {
		return nil
	}
	const minimum = time.Millisecond
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"Interval", h.Interval}, {"Timeout", h.Timeout}, {"StartPeriod", h.StartPeriod}, {"StartInterval", h.StartInterval}} {
		if d.v != 0 && d.v < minimum {
			return fmt.Errorf("%s in Healthcheck cannot be less than %s: %w", d.name, minimum, errdefs.ErrInvalid)
		}
	}
	if h.Retries < 0 {
		return fmt.Errorf("Retries in Healthcheck cannot be negative: %w", errdefs.ErrInvalid)
	}
	return nil
}

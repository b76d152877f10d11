package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// fleetRounds starts a fleet of `sleep 600` containers on each side (both fleets run at once, so the
// machine carries the same load for either side's samples), measures what is done with them running in
// the first round, and removes them with one `docker rm -f`. Later rounds repeat start and removal while
// the budget allows another round of the first one's length.
func (h *harness) fleetRounds(ctx context.Context) {
	n := h.cfg.fleet
	start := h.newRow(fmt.Sprintf("run -d ×%d, %d at a time", n, h.cfg.parallel), "s")
	rm := h.newRow(fmt.Sprintf("rm -f of the %d (one command)", n), "s")
	skipBroken := func(s *side) string { return s.broken }
	for round := 1; round <= h.cfg.rounds && ctx.Err() == nil; round++ {
		began := time.Now()
		if round > 1 && time.Until(h.deadline)-h.scaleReserve() < roundTime(start, rm)*13/10 {
			start.Note = fmt.Sprintf("%d of %d rounds: the next would overrun the %v budget", round-1, h.cfg.rounds, h.cfg.budget)
			break
		}
		order := h.sides()
		if round%2 == 0 {
			order[0], order[1] = order[1], order[0]
		}
		fleets := map[string][]string{}
		ok := map[string]bool{}
		for _, s := range order {
			if s.broken != "" {
				start.side(s).Err, rm.side(s).Err = "skipped: "+s.broken, "skipped: "+s.broken
				continue
			}
			names, wall, err := h.startFleet(ctx, s, fmt.Sprintf("vb-%s-r%d-", s.name, round), n)
			fleets[s.name] = names
			res := start.side(s)
			if err != nil {
				res.Err = fmt.Sprintf("round %d: %s", round, brief(err))
				continue
			}
			res.Samples = append(res.Samples, wall)
			ok[s.name] = true
		}
		if round == 1 && ctx.Err() == nil {
			full := func(s *side) string {
				if why := skipBroken(s); why != "" {
					return why
				}
				if !ok[s.name] {
					return fmt.Sprintf("only %d of %d containers started", len(fleets[s.name]), n)
				}
				return ""
			}
			h.runningRows(ctx, fleets, full)
		}
		for _, s := range order {
			names := fleets[s.name]
			if len(names) == 0 {
				continue
			}
			t, _, err := h.cli(context.WithoutCancel(ctx), s, 5*time.Minute, append([]string{"rm", "-f"}, names...)...)
			switch {
			case err != nil:
				rm.side(s).Err = fmt.Sprintf("round %d: %s", round, brief(err))
			case ok[s.name]:
				rm.side(s).Samples = append(rm.side(s).Samples, t)
			}
		}
		logf("fleet round %d took %v", round, time.Since(began).Round(time.Second))
	}
}

// roundTime estimates a round from the first one's samples.
func roundTime(rows ...*row) time.Duration {
	var total float64
	for _, r := range rows {
		for _, res := range []sideResult{r.Vice, r.Docker} {
			if len(res.Samples) > 0 {
				total += res.Samples[0]
			}
		}
	}
	return time.Duration(total * float64(time.Second))
}

// startFleet runs `docker run -d --name <prefix><i> <busybox> sleep 600` for i of [0, n), parallel at a
// time, and returns the wall time for all of them and the names of those that started (to be removed
// whatever happens).
func (h *harness) startFleet(ctx context.Context, s *side, prefix string, n int) ([]string, float64, error) {
	jobs := make(chan int)
	var mu sync.Mutex
	var names []string
	var firstErr error
	failed := 0
	var wg sync.WaitGroup
	begin := time.Now()
	for w := 0; w < h.cfg.parallel; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				name := fmt.Sprintf("%s%03d", prefix, i)
				_, _, err := h.cli(ctx, s, h.cfg.cmdTimeout, "run", "-d", "--name", name, h.image("busybox"), "sleep", "600")
				mu.Lock()
				if err != nil {
					failed++
					if firstErr == nil {
						firstErr = err
					}
				} else {
					names = append(names, name)
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		jobs <- i
		mu.Lock()
		stop := failed >= h.cfg.parallel && len(names) == 0 // nothing works: don't wait out 50 timeouts
		mu.Unlock()
		if stop {
			break
		}
	}
	close(jobs)
	wg.Wait()
	wall := time.Since(begin).Seconds()
	if firstErr != nil {
		// A failed run may still have created its container: list this round's names for the removal.
		_, out, err := h.cli(context.WithoutCancel(ctx), s, h.cfg.cmdTimeout, "ps", "-aq", "--filter", "name="+prefix)
		if err == nil {
			names = splitLines(out)
		}
		return names, wall, fmt.Errorf("%d of %d failed: %w", failed, n, firstErr)
	}
	return names, wall, ctx.Err()
}

// runningRows measures with the fleets running: ps, logs and exec alternating, then memory.
func (h *harness) runningRows(ctx context.Context, fleets map[string][]string, skip func(*side) string) {
	n := h.cfg.fleet
	first := func(s *side) string { return fmt.Sprintf("vb-%s-r1-000", s.name) }
	ps := h.newRow(fmt.Sprintf("ps (%d running)", n), "s")
	h.alternate(ctx, []*row{ps}, h.cfg.runs, skip, func(ctx context.Context, s *side) ([]float64, error) {
		return sample(h.cliTime(ctx, s, "ps"))
	})
	logs := h.newRow("logs of one of them", "s")
	h.alternate(ctx, []*row{logs}, h.cfg.runs, skip, func(ctx context.Context, s *side) ([]float64, error) {
		return sample(h.cliTime(ctx, s, "logs", first(s)))
	})
	inspect := h.newRow("inspect one of them", "s")
	h.alternate(ctx, []*row{inspect}, h.cfg.runs, skip, func(ctx context.Context, s *side) ([]float64, error) {
		return sample(h.cliTime(ctx, s, "inspect", first(s)))
	})
	h.apiRunningRows(ctx, first, skip)
	ex := h.newRow("exec of one of them: true", "s")
	h.alternate(ctx, []*row{ex}, h.cfg.runs, skip, func(ctx context.Context, s *side) ([]float64, error) {
		return sample(h.cliTime(ctx, s, "exec", first(s), "true"))
	})
	for _, s := range h.sides() {
		res := ex.side(s)
		if res.Err == "" || len(res.Samples) > 0 {
			continue
		}
		code, err := s.status(ctx, "POST", "/containers/"+first(s)+"/exec", `{"Cmd":["true"]}`)
		if err == nil && code == 501 {
			res.NA, res.Err = "the endpoint answers 501 Not Implemented", ""
		}
	}
	h.rssRows(ctx, fmt.Sprintf("%d running", n), skip, true, n)
}

func (h *harness) cliTime(ctx context.Context, s *side, args ...string) (float64, error) {
	t, _, err := h.cli(ctx, s, h.cfg.cmdTimeout, args...)
	return t, err
}

func splitLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

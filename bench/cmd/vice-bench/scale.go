package main

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// scaleLevels are the numbers of running containers the scale rows are taken at.
var scaleLevels = []int{10, 50, 200}

// scaleReserve is the part of the budget the fleet rounds leave to the scale rows when both are measured.
func (h *harness) scaleReserve() time.Duration {
	if !h.wants("scale") {
		return 0
	}
	return 5 * time.Minute
}

// scaleRows grows a fleet of `sleep 600` containers on both sides (at once, as in the fleet rows) to each of
// scaleLevels, and at each level times `docker ps` and one more `docker run -d` (removed, untimed, after each
// sample): how each grows with the number of containers. At the top level the memory rows are taken too.
// Everything is removed at the end with one `docker rm -f` per side, which is timed.
func (h *harness) scaleRows(ctx context.Context) {
	fleets := map[string][]string{}
	broken := map[string]string{}
	skip := func(s *side) string {
		if s.broken != "" {
			return s.broken
		}
		return broken[s.name]
	}
	prev := 0 // the level reached
	defer func() {
		rm := h.newRow(fmt.Sprintf("scale: rm -f of the %d (one command)", prev), "s")
		for _, s := range h.sides() {
			if len(fleets[s.name]) == 0 {
				continue
			}
			t, _, err := h.cli(context.WithoutCancel(ctx), s, 10*time.Minute, append([]string{"rm", "-f"}, fleets[s.name]...)...)
			switch {
			case err != nil:
				rm.side(s).Err = brief(err)
			case skip(s) == "":
				rm.side(s).Samples = append(rm.side(s).Samples, t)
			default:
				rm.side(s).Err = "skipped: " + skip(s)
			}
		}
	}()
	for _, level := range scaleLevels {
		if ctx.Err() != nil {
			return
		}
		if time.Now().After(h.deadline) {
			logf("scale: the %v budget has run out: no level from %d running on", h.cfg.budget, level)
			break
		}
		grow := h.newRow(fmt.Sprintf("scale: run -d ×%d, %d at a time (%d→%d running)", level-prev, h.cfg.parallel, prev, level), "s")
		order := h.sides()
		if level%20 == 0 {
			slices.Reverse(order)
		}
		for _, s := range order {
			if why := skip(s); why != "" {
				grow.side(s).Err = "skipped: " + why
				continue
			}
			names, wall, err := h.startFleet(ctx, s, fmt.Sprintf("vs-%s-%d-", s.name, level), level-prev)
			fleets[s.name] = append(fleets[s.name], names...)
			if err != nil {
				grow.side(s).Err = brief(err)
				broken[s.name] = fmt.Sprintf("only %d of %d containers started", len(fleets[s.name]), level)
				continue
			}
			grow.side(s).Samples = append(grow.side(s).Samples, wall)
		}
		ps := h.newRow(fmt.Sprintf("scale: ps (%d running)", level), "s")
		h.alternate(ctx, []*row{ps}, scaleSamples, skip, func(ctx context.Context, s *side) ([]float64, error) {
			return sample(h.cliTime(ctx, s, "ps"))
		})
		one := h.newRow(fmt.Sprintf("scale: run -d of one more (%d running)", level), "s")
		i := 0
		h.alternate(ctx, []*row{one}, scaleSamples, skip, func(ctx context.Context, s *side) ([]float64, error) {
			i++
			name := fmt.Sprintf("vs-%s-%d-one-%d", s.name, level, i)
			defer h.cli(context.WithoutCancel(ctx), s, h.cfg.cmdTimeout, "rm", "-f", name)
			return sample(h.cliTime(ctx, s, "run", "-d", "--name", name, h.image("busybox"), "sleep", "600"))
		})
		prev = level
	}
	if prev > 0 {
		h.rssRows(ctx, fmt.Sprintf("%d running", prev), skip, true, prev)
	}
}

// scaleSamples is how many samples per side the timed rows at each scale level take.
const scaleSamples = 5

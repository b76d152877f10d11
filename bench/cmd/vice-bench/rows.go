package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// rowGroups are what -only selects from, in the order they are measured.
var rowGroups = []string{"pull", "rss", "run", "create", "fleet", "scale"}

// parseOnly reads -only: "" is every group (nil), otherwise the set of the groups named.
func parseOnly(s string) (map[string]bool, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	out := map[string]bool{}
	for _, g := range strings.Split(s, ",") {
		g = strings.TrimSpace(g)
		if !slices.Contains(rowGroups, g) {
			return nil, fmt.Errorf("-only: unknown row group %q (have %s)", g, strings.Join(rowGroups, ", "))
		}
		out[g] = true
	}
	return out, nil
}

// wants tells whether the row group g is measured in this run.
func (h *harness) wants(g string) bool { return h.cfg.only == nil || h.cfg.only[g] }

// measure takes every row (or those -only selects). Each row alternates the sides per iteration, so drift on
// the machine (page cache, other load) falls on both; a side that fails stops sampling that row and the run
// goes on.
func (h *harness) measure(ctx context.Context) {
	if h.wants("pull") {
		h.pullRow(ctx)
	}
	if h.wants("rss") {
		h.rssRows(ctx, "idle", nil, false, 0)
	}
	if !h.wants("run") && !h.wants("create") && !h.wants("fleet") && !h.wants("scale") {
		return
	}
	h.warmUp(ctx)
	if h.wants("run") {
		h.runRow(ctx)
	}
	if h.wants("create") {
		h.createRows(ctx)
		h.apiCreateRow(ctx)
	}
	if h.wants("fleet") {
		h.fleetRounds(ctx)
	}
	if h.wants("scale") {
		h.scaleRows(ctx)
	}
}

func (h *harness) runRow(ctx context.Context) {
	r := h.newRow("run --rm busybox true", "s")
	h.alternate(ctx, []*row{r}, h.cfg.runs, nil, func(ctx context.Context, s *side) ([]float64, error) {
		t, _, err := h.cli(ctx, s, h.cfg.cmdTimeout, "run", "--rm", h.image("busybox"), "true")
		return sample(t, err)
	})
}

func (h *harness) createRows(ctx context.Context) {
	create, start := h.newRow("create busybox true", "s"), h.newRow("start -a (of that container)", "s")
	h.alternate(ctx, []*row{create, start}, h.cfg.runs, nil, func(ctx context.Context, s *side) ([]float64, error) {
		tc, id, err := h.cli(ctx, s, h.cfg.cmdTimeout, "create", h.image("busybox"), "true")
		if err != nil {
			return nil, err
		}
		// Removed whatever happens next, so a failing start leaves nothing behind.
		defer h.cli(context.WithoutCancel(ctx), s, h.cfg.cmdTimeout, "rm", "-f", id)
		ts, _, err := h.cli(ctx, s, h.cfg.cmdTimeout, "start", "-a", id)
		if err != nil {
			return []float64{tc}, err
		}
		return []float64{tc, ts}, nil
	})
}

// alternate takes up to n samples of a group of rows on both sides, the side going first swapping every
// iteration. f returns one value per row it measured successfully, in order; on an error the remaining rows
// count a failure and keep the first error. A side failing maxFailsInRow times in a row is not sampled
// again (a flaky operation keeps being sampled; a broken one stops wasting time). skip gives a reason not
// to try a side at all.
func (h *harness) alternate(ctx context.Context, rows []*row, n int, skip func(*side) string,
	f func(context.Context, *side) ([]float64, error)) {
	const maxFailsInRow = 3
	done := map[string]bool{}
	failsInRow := map[string]int{}
	if skip != nil {
		for _, s := range h.sides() {
			if why := skip(s); why != "" {
				for _, r := range rows {
					r.side(s).Err = "skipped: " + why
				}
				done[s.name] = true
			}
		}
	}
	for i := 0; i < n; i++ {
		if ctx.Err() != nil || h.overBudget(rows[0], i) {
			return
		}
		order := h.sides()
		if i%2 == 1 {
			order[0], order[1] = order[1], order[0]
		}
		for _, s := range order {
			if done[s.name] {
				continue
			}
			vals, err := f(ctx, s)
			if ctx.Err() != nil {
				return // an interrupted sample is no sample
			}
			for j, r := range rows {
				res := r.side(s)
				if j < len(vals) {
					res.Samples = append(res.Samples, vals[j])
				} else if err != nil {
					res.Failures++
					if res.Err == "" {
						res.Err = fmt.Sprintf("first failure (sample %d): %s", len(res.Samples)+res.Failures, brief(err))
					}
				}
			}
			if err == nil {
				failsInRow[s.name] = 0
				continue
			}
			failsInRow[s.name]++
			done[s.name] = failsInRow[s.name] >= maxFailsInRow
		}
	}
}

// sample is one measurement for alternate: none when the command failed.
func sample(t float64, err error) ([]float64, error) {
	if err != nil {
		return nil, err
	}
	return []float64{t}, nil
}

// overBudget tells (and notes on the row) when the time budget has run out.
func (h *harness) overBudget(r *row, taken int) bool {
	if time.Now().Before(h.deadline) {
		return false
	}
	r.Note = fmt.Sprintf("cut short by the %v budget after %d iterations", h.cfg.budget, taken)
	return true
}

// pullRow times `docker pull` of the 256 MB five-layer image, removed first every time so each pull
// fetches and unpacks every layer. Each sample starts with the page cache's dirty pages written out (sync),
// as does each of the plain download's: a pull writes hundreds of megabytes, and the writeback of whatever
// ran before it (the previous sample's removal, an earlier benchmark) would otherwise land in its time.
func (h *harness) pullRow(ctx context.Context) {
	r := h.newRow("pull big (256 MB, 5 layers)", "s")
	img := h.image("big")
	h.alternate(ctx, []*row{r}, h.cfg.pulls, nil, func(ctx context.Context, s *side) ([]float64, error) {
		if _, _, err := h.cli(ctx, s, h.cfg.cmdTimeout, "rmi", img); err != nil && !strings.Contains(err.Error(), "No such image") {
			logf("%s: rmi %s: %s", s.name, img, brief(err))
		}
		unix.Sync()
		t, _, err := h.cli(ctx, s, 5*time.Minute, "pull", "-q", img)
		return sample(t, err)
	})
	h.plainPullRow(ctx, r)
	for _, s := range h.sides() { // the big image is not needed again; free the disk
		_, _, _ = h.cli(context.WithoutCancel(ctx), s, h.cfg.cmdTimeout, "rmi", img)
	}
}

// warmUp runs an untimed container per side, so first-use costs (the bootstrap ISO upload, runc's first
// exec, page cache) are not in the samples. A side where it fails twice in a row is marked broken and the
// slow fleet rows are not attempted there; a single failure may be a flaky first run.
func (h *harness) warmUp(ctx context.Context) {
	for _, s := range h.sides() {
		for try := 1; try <= 2 && s.broken == "" && ctx.Err() == nil; try++ {
			t, _, err := h.cli(ctx, s, 2*h.cfg.cmdTimeout, "run", "--rm", h.image("busybox"), "true")
			if err == nil {
				logf("%s: warm-up run took %.2fs", s.name, t)
				break
			}
			logf("%s: warm-up `docker run --rm busybox true` #%d failed: %s", s.name, try, brief(err))
			if try == 2 {
				s.broken = "warm-up `docker run --rm busybox true` failed twice: " + brief(err)
			}
		}
	}
}

// rssRows samples resident memory five times, 200 ms apart: the endpoint side of each engine, and what
// has no counterpart on the other side (vice-vcsim plays vSphere; the containers' own processes). With
// containers running (n of them), PSS rows follow the RSS ones: RSS counts a page shared by many processes
// (a binary's text) once per process, PSS divides it among them, so the PSS sum is what the processes cost.
func (h *harness) rssRows(ctx context.Context, when string, skip func(*side) string, withGuests bool, n int) {
	engine := h.newRow("RSS "+when+": engine processes", "MiB")
	vcsim := h.newRow("RSS "+when+": vice-vcsim (vSphere)", "MiB")
	guests, enginePSS, guestsPSS, perRSS, perPSS := &row{}, &row{}, &row{}, &row{}, &row{} // idle: no rows
	if withGuests {
		guests = h.newRow("RSS "+when+": containers' processes", "MiB")
		guests.Note = "vice: each guest's tether (PID 1) and its process; Docker: the containers' processes"
		enginePSS = h.newRow("PSS "+when+": engine processes", "MiB")
		guestsPSS = h.newRow("PSS "+when+": containers' processes", "MiB")
		perRSS = h.newRow("per container, RSS", "MiB")
		perPSS = h.newRow("per container, PSS", "MiB")
		perPSS.Note = fmt.Sprintf("(what runs per container) / %d. vice: the guest's tether and process; "+
			"Docker: its containerd-shim and process", n)
	}
	engine.Note = "vice: vice-engine + vice-plugin-vcsim; Docker: dockerd + containerd + containerd-shim*"
	vcsim.Docker.NA = "no counterpart: the simulated vCenter and hypervisor emulator"
	classes := map[string]func(string) string{"vice": viceClass, "docker": dockerClass}
	for i := 0; i < 5 && ctx.Err() == nil; i++ {
		for _, s := range h.sides() {
			if skip != nil && skip(s) != "" {
				for _, r := range []*row{engine, vcsim, guests, enginePSS, guestsPSS, perRSS, perPSS} {
					if r != vcsim || s.name == "vice" {
						r.side(s).Err = "skipped: " + skip(s)
					}
				}
				continue
			}
			sums, who := h.memGroups(s.name, classes[s.name])
			eng := memory{sums["engine"].rss + sums["shim"].rss, sums["engine"].pss + sums["shim"].pss}
			per := memory{sums["guests"].rss + sums["shim"].rss, sums["guests"].pss + sums["shim"].pss}
			engine.side(s).Samples = append(engine.side(s).Samples, eng.rss)
			guests.side(s).Samples = append(guests.side(s).Samples, sums["guests"].rss)
			enginePSS.side(s).Samples = append(enginePSS.side(s).Samples, eng.pss)
			guestsPSS.side(s).Samples = append(guestsPSS.side(s).Samples, sums["guests"].pss)
			if n > 0 {
				perRSS.side(s).Samples = append(perRSS.side(s).Samples, per.rss/float64(n))
				perPSS.side(s).Samples = append(perPSS.side(s).Samples, per.pss/float64(n))
			}
			if s.name == "vice" {
				vcsim.Vice.Samples = append(vcsim.Vice.Samples, sums["vcsim"].rss)
			}
			if i == 0 {
				engine.side(s).Detail = map[string]string{"processes": summary(append(who["engine"], who["shim"]...))}
				guests.side(s).Detail = map[string]string{"processes": fmt.Sprintf("%d (%s)", len(who["guests"]), summary(who["guests"]))}
				if s.name == "vice" {
					vcsim.Vice.Detail = map[string]string{"processes": summary(who["vcsim"])}
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func viceClass(comm string) string {
	switch comm {
	case "vice-engine", "vice-plugin-vcs": // comm keeps 15 characters
		return "engine"
	case "vice-vcsim":
		return "vcsim"
	}
	return "guests"
}

func dockerClass(comm string) string {
	switch {
	case comm == "dockerd" || comm == "containerd":
		return "engine"
	case strings.HasPrefix(comm, "containerd-shim"):
		return "shim" // one per container: part of the engine's sum, and of a container's own cost
	case comm == "runc" || comm == "runc:[2:INIT]" || comm == "docker-init":
		return "" // transient, mid-start
	}
	return "guests"
}

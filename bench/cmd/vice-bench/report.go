package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

// row is one line of the table: the same measurement taken on both sides.
type row struct {
	Name   string     `json:"name"`
	Unit   string     `json:"unit"` // "s" (wall time of one CLI invocation or of a batch) or "MiB"
	Vice   sideResult `json:"vice"`
	Docker sideResult `json:"docker"`
	Note   string     `json:"note,omitempty"`
}

// sideResult holds a side's raw samples, or why it has none (or fewer than asked).
type sideResult struct {
	Samples  []float64         `json:"samples"`
	Err      string            `json:"error,omitempty"`    // the first failure, or why the side was skipped
	Failures int               `json:"failures,omitempty"` // failed attempts (not in Samples)
	NA       string            `json:"na,omitempty"`       // not applicable (e.g. 501 Not Implemented)
	Detail   map[string]string `json:"detail,omitempty"`
}

func (r *row) side(s *side) *sideResult {
	if s.name == "vice" {
		return &r.Vice
	}
	return &r.Docker
}

func (h *harness) newRow(name, unit string) *row {
	r := &row{Name: name, Unit: unit}
	h.rows = append(h.rows, r)
	return r
}

// median of a non-empty slice (the mean of the middle two for an even count).
func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func minMax(xs []float64) (float64, float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}

// cell renders "median (min/max) ×n", or why there is nothing to render.
func (r *row) cell(s sideResult) string {
	switch {
	case s.NA != "":
		return "n/a"
	case len(s.Samples) == 0 && s.Err != "":
		return "FAILED"
	case len(s.Samples) == 0:
		return "-"
	}
	lo, hi := minMax(s.Samples)
	f := func(v float64) string { return formatValue(v, r.Unit) }
	c := fmt.Sprintf("%s (%s/%s) ×%d", f(median(s.Samples)), f(lo), f(hi), len(s.Samples))
	if s.Failures > 0 {
		c += fmt.Sprintf(" +%d failed", s.Failures)
	}
	return c
}

func formatValue(v float64, unit string) string {
	switch {
	case unit == "MiB":
		return fmt.Sprintf("%.1fMiB", v)
	case v < 0.01: // an API request alone: tenths of a millisecond matter
		return fmt.Sprintf("%.2fms", v*1000)
	case v < 10:
		return fmt.Sprintf("%.0fms", v*1000)
	default:
		return fmt.Sprintf("%.1fs", v)
	}
}

func (r *row) ratio() string {
	if len(r.Vice.Samples) == 0 || len(r.Docker.Samples) == 0 {
		return "-"
	}
	d := median(r.Docker.Samples)
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f×", median(r.Vice.Samples)/d)
}

// printTable prints the results, then the notes: each distinct failure once, with the rows it stopped.
func (h *harness) printTable() {
	const w = 40
	const c = 42
	fmt.Printf("\n%-*s %-*s %-*s %s\n", w, "row", c, "vice median (min/max) ×n", c, "Docker median (min/max) ×n", "vice/Docker")
	fmt.Println(strings.Repeat("-", w+2*c+14))
	for _, r := range h.rows {
		fmt.Printf("%-*s %-*s %-*s %s\n", w, r.Name, c, r.cell(r.Vice), c, r.cell(r.Docker), r.ratio())
	}
	type issue struct{ side, msg string }
	var order []issue
	rowsOf := map[issue][]string{}
	add := func(side, msg, name string) {
		k := issue{side, msg}
		if rowsOf[k] == nil {
			order = append(order, k)
		}
		rowsOf[k] = append(rowsOf[k], name)
	}
	fmt.Println("\nnotes:")
	for _, r := range h.rows {
		for _, p := range []struct {
			name string
			res  sideResult
		}{{"vice", r.Vice}, {"Docker", r.Docker}} {
			if p.res.NA != "" {
				add(p.name, "n/a: "+p.res.NA, r.Name)
			}
			if p.res.Err != "" {
				msg := p.res.Err
				if p.res.Failures > 0 {
					msg = fmt.Sprintf("%d failed; %s", p.res.Failures, msg)
				}
				add(p.name, msg, r.Name)
			}
			for _, k := range sortedKeys(p.res.Detail) {
				fmt.Printf("  %s, %s: %s: %s\n", r.Name, p.name, k, p.res.Detail[k])
			}
		}
		if r.Note != "" {
			fmt.Printf("  %s: %s\n", r.Name, r.Note)
		}
	}
	for _, k := range order {
		fmt.Printf("  %s: %s\n      rows: %s\n", k.side, k.msg, strings.Join(rowsOf[k], "; "))
	}
}

func sortedKeys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// writeJSON writes every raw sample with the run's metadata to <out>/<timestamp>.json.
func (h *harness) writeJSON() error {
	if err := os.MkdirAll(h.cfg.out, 0o755); err != nil {
		return err
	}
	h.meta["go"] = runtime.Version()
	doc := map[string]any{"started": h.started.Format(time.RFC3339), "meta": h.meta, "config": map[string]any{
		"runs": h.cfg.runs, "pulls": h.cfg.pulls, "rounds": h.cfg.rounds, "containers": h.cfg.fleet,
		"parallel": h.cfg.parallel, "budget": h.cfg.budget.String()}, "rows": h.rows}
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(h.cfg.out, h.started.Format("20060102-150405")+".json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return err
	}
	fmt.Printf("raw samples: %s\n", path)
	return nil
}

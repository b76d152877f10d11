package main

import (
	"context"
	"errors"
	"testing"
	"time"
)

// alternate must keep sampling a flaky side, stop a broken one after three failures in a row, and swap
// which side goes first every iteration.
func TestAlternate(t *testing.T) {
	h := &harness{vice: &side{name: "vice"}, docker: &side{name: "docker"}, deadline: time.Now().Add(time.Hour)}
	var order []string
	calls := map[string]int{}
	r := h.newRow("r", "s")
	h.alternate(context.Background(), []*row{r}, 6, nil, func(_ context.Context, s *side) ([]float64, error) {
		order = append(order, s.name)
		calls[s.name]++
		if s.name == "vice" && calls["vice"]%2 == 0 { // flaky: every second attempt fails
			return nil, errors.New("flake")
		}
		return []float64{1}, nil
	})
	if len(r.Vice.Samples) != 3 || r.Vice.Failures != 3 || len(r.Docker.Samples) != 6 {
		t.Errorf("flaky vice: %d samples %d failures; docker %d samples", len(r.Vice.Samples), r.Vice.Failures, len(r.Docker.Samples))
	}
	if order[0] != "vice" || order[2] != "docker" {
		t.Errorf("order %v: the first side should swap every iteration", order)
	}

	broken := h.newRow("b", "s")
	h.alternate(context.Background(), []*row{broken}, 10, nil, func(_ context.Context, s *side) ([]float64, error) {
		if s.name == "vice" {
			return nil, errors.New("not implemented")
		}
		return []float64{1}, nil
	})
	if broken.Vice.Failures != 3 || broken.Vice.Err == "" || len(broken.Docker.Samples) != 10 {
		t.Errorf("broken vice: %d failures (%q); docker %d samples", broken.Vice.Failures, broken.Vice.Err, len(broken.Docker.Samples))
	}
}

// -only selects row groups by name; empty is all of them, an unknown name is refused.
func TestParseOnly(t *testing.T) {
	if m, err := parseOnly(""); m != nil || err != nil {
		t.Errorf(`parseOnly("") = %v, %v; want nil, nil (every row)`, m, err)
	}
	m, err := parseOnly("pull, rss")
	if err != nil || !m["pull"] || !m["rss"] || len(m) != 2 {
		t.Errorf(`parseOnly("pull, rss") = %v, %v`, m, err)
	}
	if _, err := parseOnly("pull,nope"); err == nil {
		t.Error(`parseOnly("pull,nope"): no error`)
	}
	h := &harness{cfg: config{only: m}}
	if !h.wants("pull") || h.wants("fleet") {
		t.Error("wants does not follow -only")
	}
}

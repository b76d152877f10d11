package prunefilter

import (
	"strings"
	"testing"
	"time"
)

func TestTimestamp(t *testing.T) {
	now := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"10m":                       now.Add(-10 * time.Minute),
		"24h":                       now.Add(-24 * time.Hour),
		"1700000000":                time.Unix(1700000000, 0),
		"1700000000.5":              time.Unix(1700000000, 500000000),
		"2026-03-01":                time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		"2026-03-01T10:20:30":       time.Date(2026, 3, 1, 10, 20, 30, 0, time.UTC),
		"2026-03-01T10:20:30Z":      time.Date(2026, 3, 1, 10, 20, 30, 0, time.UTC),
		"2026-03-01T10:20:30.25Z":   time.Date(2026, 3, 1, 10, 20, 30, 250000000, time.UTC),
		"2026-03-01T10:20:30+02:00": time.Date(2026, 3, 1, 8, 20, 30, 0, time.UTC),
	} {
		got, err := Timestamp(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("Timestamp(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"yesterday", "2026-13-01", ""} {
		if _, err := Timestamp(bad, now); err == nil {
			t.Errorf("Timestamp(%q) succeeded", bad)
		}
	}
}

func TestParseAndMatch(t *testing.T) {
	now := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	if _, err := Parse(map[string][]string{"dangling": {"true"}}, now, "until", "label"); err == nil ||
		!strings.HasPrefix(err.Error(), "invalid filter 'dangling'") {
		t.Errorf("an unaccepted filter = %v", err)
	}
	if _, err := Parse(map[string][]string{"until": {"1h", "2h"}}, now, "until"); err == nil {
		t.Error("two until filters were accepted")
	}
	f, err := Parse(map[string][]string{"until": {"1h"}, "label": {"app", "tier=web"}, "label!": {"keep"}}, now,
		"until", "label", "label!")
	if err != nil {
		t.Fatal(err)
	}
	old := now.Add(-2 * time.Hour)
	for _, c := range []struct {
		created time.Time
		labels  map[string]string
		want    bool
	}{
		{old, map[string]string{"app": "x", "tier": "web"}, true},
		{now, map[string]string{"app": "x", "tier": "web"}, false},             // too new
		{old, map[string]string{"app": "x", "tier": "db"}, false},              // label value
		{old, map[string]string{"tier": "web"}, false},                         // label missing
		{old, map[string]string{"app": "x", "tier": "web", "keep": ""}, false}, // label!
	} {
		if got := f.Match(c.created, c.labels); got != c.want {
			t.Errorf("Match(%v, %v) = %v", c.created, c.labels, got)
		}
	}
	g, _ := Parse(map[string][]string{"dangling": {"false"}}, now, "dangling")
	if d, err := g.Bool("dangling", true); err != nil || d {
		t.Errorf("dangling=false = %v %v", d, err)
	}
	if d, err := (Filter{}).Bool("dangling", true); err != nil || !d {
		t.Errorf("default dangling = %v %v", d, err)
	}
	h, _ := Parse(map[string][]string{"dangling": {"maybe"}}, now, "dangling")
	if _, err := h.Bool("dangling", true); err == nil || !strings.HasPrefix(err.Error(), "invalid filter 'dangling=maybe'") {
		t.Errorf("dangling=maybe = %v", err)
	}
}

package emulator

import (
	"log/slog"
	"time"
)

// stopwatch times the steps of a guest's boot and logs them as one debug line, so that where a boot's time
// goes can be read from the emulator's log (vice-vcsim --debug).
type stopwatch struct {
	start, last time.Time
	steps       []any
}

func newStopwatch() *stopwatch {
	now := time.Now()
	return &stopwatch{start: now, last: now}
}

// lap ends the step called name.
func (s *stopwatch) lap(name string) {
	now := time.Now()
	s.steps = append(s.steps, name, ms(now.Sub(s.last)))
	s.last = now
}

// note records a step that ran beside the others (its own duration, not a lap).
func (s *stopwatch) note(name string, d time.Duration) {
	s.steps = append(s.steps, name, ms(d))
}

// log writes the steps so far and their total.
func (s *stopwatch) log(log *slog.Logger, msg string) {
	log.Debug(msg, append(s.steps, "totalMs", ms(time.Since(s.start)))...)
}

// ms is d in milliseconds, to the microsecond.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

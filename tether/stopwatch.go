package tether

import "time"

// stopwatch times the steps of the tether's start-up, for one debug line in the tether's debug log: where
// the time between the guest's boot and its process's start goes.
type stopwatch struct {
	last  time.Time
	steps []any
}

func newStopwatch() *stopwatch { return &stopwatch{last: time.Now()} }

// lap ends the step called name, in milliseconds to the microsecond.
func (s *stopwatch) lap(name string) {
	now := time.Now()
	s.steps = append(s.steps, name+"Ms", float64(now.Sub(s.last).Microseconds())/1000)
	s.last = now
}

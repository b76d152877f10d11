package vch

// Progress receives an operation's progress as the administrator reads it: one line (or several, split on
// newlines) per call, at four levels. vice-machine prints them as vic-machine did; a program using the
// package may log them or drop them. It must be safe for concurrent use: an upload reports from a goroutine
// of its own.
type Progress interface {
	Debugf(format string, args ...any)
	Infof(format string, args ...any)
	Warnf(format string, args ...any)
	Errorf(format string, args ...any)
}

// discard is the Progress of a Manager given none.
type discard struct{}

func (discard) Debugf(string, ...any) {}
func (discard) Infof(string, ...any)  {}
func (discard) Warnf(string, ...any)  {}
func (discard) Errorf(string, ...any) {}

package vchtest

import (
	"bytes"
	"fmt"
	"sync"
)

// Buffer is an output buffer safe for the concurrent writes of an operation's progress.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Progress records an operation's progress, a line "LEVEL message" per call, for the test to read (it
// satisfies vch.Progress).
type Progress struct{ Buffer }

func (p *Progress) line(level, format string, args ...any) {
	fmt.Fprintf(&p.Buffer, "%-5s %s\n", level, fmt.Sprintf(format, args...))
}

// Debugf records a DEBUG line.
func (p *Progress) Debugf(format string, args ...any) { p.line("DEBUG", format, args...) }

// Infof records an INFO line.
func (p *Progress) Infof(format string, args ...any) { p.line("INFO", format, args...) }

// Warnf records a WARN line.
func (p *Progress) Warnf(format string, args ...any) { p.line("WARN", format, args...) }

// Errorf records an ERROR line.
func (p *Progress) Errorf(format string, args ...any) { p.line("ERROR", format, args...) }

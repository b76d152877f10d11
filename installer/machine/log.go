package machine

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// timeLayout is VIC's timestamp: "Nov 22 2026 23:40:01.123Z", always UTC.
const timeLayout = "Jan 02 2006 15:04:05.000Z"

// Logger writes vic-machine style progress lines: a UTC timestamp, the level padded to five letters, the
// message. Debug lines appear only with --debug.
type Logger struct {
	mu    sync.Mutex
	w     io.Writer
	debug bool
	now   func() time.Time
}

// NewLogger writes to w; debug enables Debugf.
func NewLogger(w io.Writer, debug bool) *Logger {
	return &Logger{w: w, debug: debug, now: time.Now}
}

func (l *Logger) line(level, format string, args ...any) {
	if l == nil || l.w == nil {
		return
	}
	msg := fmt.Sprintf(format, args...)
	ts := l.now().UTC().Format(timeLayout)
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range strings.Split(msg, "\n") {
		fmt.Fprintf(l.w, "%s %-5s %s\n", ts, level, m)
	}
}

// Infof logs a progress line.
func (l *Logger) Infof(format string, args ...any) { l.line("INFO", format, args...) }

// Warnf logs something the administrator should look at; the operation goes on.
func (l *Logger) Warnf(format string, args ...any) { l.line("WARN", format, args...) }

// Errorf logs a failure.
func (l *Logger) Errorf(format string, args ...any) { l.line("ERROR", format, args...) }

// Debugf logs detail shown with --debug.
func (l *Logger) Debugf(format string, args ...any) {
	if l != nil && l.debug {
		l.line("DEBUG", format, args...)
	}
}

// Blank logs an empty INFO line, as VIC separated the blocks of its final report.
func (l *Logger) Blank() { l.Infof("") }

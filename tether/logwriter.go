package tether

import (
	"bytes"
	"encoding/json"
	"io"
	"sync"
	"time"

	"github.com/vice-engine/vice/tether/wire"
)

// Partial lines are held back briefly so an output line written in pieces stays one record, but not
// forever: a prompt without a newline still reaches the log.
const (
	partialLineDelay = 100 * time.Millisecond
	maxRecordBytes   = 16 * 1024
)

// logWriter turns the process's output into wire.LogRecord lines, one per output line, keeping the
// stream and the time the line's first byte arrived.
type logWriter struct {
	mu      sync.Mutex
	w       io.Writer
	now     func() time.Time
	pending map[string]*partialLine
	err     error // the first write error; later records are dropped
}

type partialLine struct {
	buf   []byte
	since time.Time
	timer *time.Timer
}

func newLogWriter(w io.Writer) *logWriter {
	return &logWriter{w: w, now: time.Now, pending: map[string]*partialLine{}}
}

// Stream returns an io.Writer that logs everything written to it as stream ("stdout" or "stderr").
func (l *logWriter) Stream(stream string) io.Writer {
	return streamWriter{l: l, stream: stream}
}

type streamWriter struct {
	l      *logWriter
	stream string
}

func (s streamWriter) Write(p []byte) (int, error) {
	s.l.write(s.stream, p)
	return len(p), nil
}

func (l *logWriter) write(stream string, p []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	pl := l.pending[stream]
	if pl == nil {
		pl = &partialLine{}
		l.pending[stream] = pl
	}
	for len(p) > 0 {
		if len(pl.buf) == 0 {
			pl.since = l.now()
		}
		// A record ends at a newline or when it is full, whichever comes first.
		n := min(len(p), maxRecordBytes-len(pl.buf))
		if i := bytes.IndexByte(p[:n], '\n'); i >= 0 {
			n = i + 1
		}
		pl.buf = append(pl.buf, p[:n]...)
		p = p[n:]
		if pl.buf[len(pl.buf)-1] == '\n' || len(pl.buf) >= maxRecordBytes {
			l.emitLocked(stream, pl)
		}
	}
	if len(pl.buf) > 0 && pl.timer == nil {
		pl.timer = time.AfterFunc(partialLineDelay, func() { l.flushStream(stream) })
	}
}

func (l *logWriter) flushStream(stream string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if pl := l.pending[stream]; pl != nil {
		l.emitLocked(stream, pl)
	}
}

// Flush writes every partial line; called when the process's output has ended.
func (l *logWriter) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for stream, pl := range l.pending {
		l.emitLocked(stream, pl)
	}
}

func (l *logWriter) emitLocked(stream string, pl *partialLine) {
	if pl.timer != nil {
		pl.timer.Stop()
		pl.timer = nil
	}
	if len(pl.buf) == 0 {
		return
	}
	rec, err := json.Marshal(wire.LogRecord{Log: string(pl.buf), Stream: stream, Time: pl.since.UTC()})
	pl.buf = pl.buf[:0]
	if err != nil || l.err != nil {
		return
	}
	if _, err := l.w.Write(append(rec, '\n')); err != nil {
		l.err = err
	}
}

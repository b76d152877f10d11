package containers

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/vice-engine/vice/core/portlayer"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/tether/wire"
)

// timestampFormat is Docker's fixed-width RFC 3339 with nanoseconds, so timestamped lines align.
const timestampFormat = "2006-01-02T15:04:05.000000000Z07:00"

// LogsOptions are GET /containers/{id}/logs's parameters.
type LogsOptions struct {
	Follow, Stdout, Stderr, Timestamps bool
	// Since and Until bound the records' times; zero is unbounded.
	Since, Until time.Time
	// Tail is "all" (or empty) or a number of records.
	Tail string
}

// Logs is an open log stream of one container.
type Logs struct {
	// Tty says the stream is raw (the container has a tty) rather than multiplexed.
	Tty bool
	rc  io.ReadCloser
	o   LogsOptions
}

// Logs opens the container's output log. Following a container that does not run ends with its records.
func (s *Service) Logs(ctx context.Context, ref string, o LogsOptions) (*Logs, error) {
	if !o.Stdout && !o.Stderr {
		return nil, fmt.Errorf("Bad parameters: you must choose at least one stream: %w", errdefs.ErrInvalid)
	}
	r, err := s.resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	tail := int64(-1)
	if n, err := strconv.ParseInt(o.Tail, 10, 64); err == nil && n >= 0 {
		tail = n
	}
	po := portlayer.LogOptions{Follow: o.Follow && r.running(), Tail: tail}
	if !o.Since.IsZero() {
		po.Since = o.Since.UnixNano()
	}
	if !o.Until.IsZero() {
		po.Until = o.Until.UnixNano()
	}
	rc, err := s.pl.Logs(ctx, r.ID, po)
	if err != nil {
		return nil, err
	}
	return &Logs{Tty: r.Config.Tty, rc: rc, o: o}, nil
}

// Close ends the stream.
func (l *Logs) Close() error { return l.rc.Close() }

// WriteTo writes the records in Docker's format (raw with a tty, else multiplexed frames), each with its
// timestamp when asked, calling flush after each, until the stream ends or a write fails.
func (l *Logs) WriteTo(w io.Writer, flush func()) error {
	defer l.rc.Close()
	dec := json.NewDecoder(bufio.NewReader(l.rc))
	for {
		var rec wire.LogRecord
		if err := dec.Decode(&rec); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		if (rec.Stream == "stderr" && !l.o.Stderr) || (rec.Stream != "stderr" && !l.o.Stdout) {
			continue
		}
		line := rec.Log
		if l.o.Timestamps {
			line = rec.Time.UTC().Format(timestampFormat) + " " + line
		}
		if _, err := w.Write(Frame(l.Tty, rec.Stream, []byte(line))); err != nil {
			return err
		}
		if flush != nil {
			flush()
		}
	}
}

// Frame is p as Docker streams it: raw with a tty, else behind an 8-byte header (stream 1 stdout or 2
// stderr, three zero bytes, the big-endian length).
func Frame(tty bool, stream string, p []byte) []byte {
	if tty {
		return p
	}
	f := make([]byte, 8+len(p))
	f[0] = 1
	if stream == "stderr" {
		f[0] = 2
	}
	binary.BigEndian.PutUint32(f[4:8], uint32(len(p)))
	copy(f[8:], p)
	return f
}

package containers

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
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
	tail := int64(-1)
	if n, err := strconv.ParseInt(o.Tail, 10, 64); err == nil && n >= 0 {
		tail = n
	}
	if tty, known := s.ttys.of(ref); known && !o.Follow {
		// A full ID whose tty is known: the backend's read of the log says whether the container is there.
		rc, err := s.pl.ContainerLogs(ctx, ref, sdk.LogOptions{Tail: tail, Since: o.Since, Until: o.Until})
		if errdefs.Is(err, errdefs.ErrNotFound) {
			s.ttys.forget(ref)
			return nil, noSuchContainer(ref)
		}
		if err != nil {
			return nil, err
		}
		return &Logs{Tty: tty, rc: rc, o: o}, nil
	}
	r, err := s.resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	s.ttys.remember(r.ID, r.Config.Tty)
	rc, err := s.pl.ContainerLogs(ctx, r.ID, sdk.LogOptions{Follow: o.Follow && r.running(), Tail: tail, Since: o.Since, Until: o.Until})
	if err != nil {
		return nil, err
	}
	return &Logs{Tty: r.Config.Tty, rc: rc, o: o}, nil
}

// ttyMax bounds the containers whose tty setting is kept; past it the record starts again empty.
const ttyMax = 4096

// knownTTYs records whether containers, by full ID, have a tty: whether their logs are raw or multiplexed.
// It is set at create and never changes, and an ID is never given to another container, so a kept value
// is never wrong; whether the container still exists is the backend's to say on each read of its log.
type knownTTYs struct {
	mu sync.Mutex
	m  map[string]bool
}

func (k *knownTTYs) remember(id string, tty bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil || len(k.m) >= ttyMax {
		k.m = map[string]bool{}
	}
	k.m[id] = tty
}

func (k *knownTTYs) forget(id string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.m, id)
}

// of is the tty setting of the container whose full ID is ref, when it is known.
func (k *knownTTYs) of(ref string) (tty, known bool) {
	if !fullID.MatchString(ref) {
		return false, false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	tty, known = k.m[ref]
	return tty, known
}

// Close ends the stream.
func (l *Logs) Close() error { return l.rc.Close() }

// WriteTo writes the records in Docker's format (raw with a tty, else multiplexed frames), each with its
// timestamp when asked, calling flush after each, until the stream ends or a write fails.
func (l *Logs) WriteTo(w io.Writer, flush func()) error {
	defer l.rc.Close()
	dec := json.NewDecoder(bufio.NewReader(l.rc))
	out := newDockerStream(w, l.Tty)
	var line []byte
	for {
		var rec models.LogRecord
		if err := dec.Decode(&rec); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		stream := sdk.StreamStdout
		if rec.Stream == "stderr" {
			stream = sdk.StreamStderr
		}
		if (stream == sdk.StreamStderr && !l.o.Stderr) || (stream == sdk.StreamStdout && !l.o.Stdout) {
			continue
		}
		line = line[:0]
		if l.o.Timestamps {
			line = time.Time(rec.Time).UTC().AppendFormat(line, timestampFormat)
			line = append(line, ' ')
		}
		line = append(line, rec.Log...)
		if err := out.write(stream, line); err != nil {
			return err
		}
		if flush != nil {
			flush()
		}
	}
}

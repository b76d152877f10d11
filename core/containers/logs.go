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
	opts := sdk.LogOptions{Tail: tail, Since: o.Since, Until: o.Until}
	if known, ok := s.logs.of(ref); ok && !o.Follow {
		// A full ID whose tty is known: the log is read where it is when that is here; otherwise the backend's
		// read of it says whether the container is there.
		if rc, ok := readLogFile(known.file, opts); ok {
			return &Logs{Tty: known.tty, rc: rc, o: o}, nil
		}
		rc, err := s.pl.ContainerLogs(ctx, ref, opts)
		if errdefs.Is(err, errdefs.ErrNotFound) {
			s.logs.forget(ref)
			return nil, noSuchContainer(ref)
		}
		if err != nil {
			return nil, err
		}
		return &Logs{Tty: known.tty, rc: rc, o: o}, nil
	}
	r, err := s.resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	s.logs.remember(r.ID, r.Config.Tty, r.info.LogFile)
	if !o.Follow || !r.running() {
		if rc, ok := readLogFile(r.info.LogFile, opts); ok {
			return &Logs{Tty: r.Config.Tty, rc: rc, o: o}, nil
		}
	}
	opts.Follow = o.Follow && r.running()
	rc, err := s.pl.ContainerLogs(ctx, r.ID, opts)
	if err != nil {
		return nil, err
	}
	return &Logs{Tty: r.Config.Tty, rc: rc, o: o}, nil
}

// readLogFile opens the log in file, where the backend said this machine has it (models.ContainerInfo's
// logFile), selected as opts say and read as it is written out; ok is false when there is no such file to
// read, which the backend's read of the log then tells apart (a container that never ran, or is gone).
func readLogFile(file string, opts sdk.LogOptions) (io.ReadCloser, bool) {
	if file == "" {
		return nil, false
	}
	rc, err := sdk.OpenLogFile(file, opts)
	if err != nil {
		return nil, false
	}
	return rc, true
}

// logsMax bounds the containers whose log facts are kept; past it the record starts again empty.
const logsMax = 4096

// knownLogs records, by full ID, whether containers have a tty (whether their logs are raw or multiplexed)
// and where this machine has their logs, if it does. Both are set at create and never change, and an ID is
// never given to another container, so a kept value is never wrong; whether the container still exists is
// said on each read of its log: by its file, or by the backend.
type knownLogs struct {
	mu sync.Mutex
	m  map[string]knownLog
}

type knownLog struct {
	tty  bool
	file string
}

func (k *knownLogs) remember(id string, tty bool, file string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil || len(k.m) >= logsMax {
		k.m = map[string]knownLog{}
	}
	k.m[id] = knownLog{tty: tty, file: file}
}

func (k *knownLogs) forget(id string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.m, id)
}

// of is what is known of the log of the container whose full ID is ref.
func (k *knownLogs) of(ref string) (knownLog, bool) {
	if !fullID.MatchString(ref) {
		return knownLog{}, false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	l, ok := k.m[ref]
	return l, ok
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

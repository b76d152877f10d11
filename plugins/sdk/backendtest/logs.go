package backendtest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/go-openapi/strfmt"

	"github.com/vice-engine/vice/swagger/gen/client/containers"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// logRecord is one record of a container's log, as the suite reads it.
type logRecord struct {
	stream string // "stdout" or "stderr"
	line   string // without its newline
	time   time.Time
}

// logQuery are the logs request's parameters; zero values leave a parameter out.
type logQuery struct {
	follow       bool
	since, until time.Time
	tail         *int64
}

// decodeLog is the one place the suite reads a log record off the wire.
func decodeLog(line []byte) (logRecord, error) {
	var r models.LogRecord
	if err := json.Unmarshal(line, &r); err != nil {
		return logRecord{}, fmt.Errorf("log record %q: %w", line, err)
	}
	if err := r.Validate(strfmt.Default); err != nil {
		return logRecord{}, fmt.Errorf("log record %q: %w", line, err)
	}
	return logRecord{stream: r.Stream, line: strings.TrimSuffix(r.Log, "\n"), time: time.Time(r.Time)}, nil
}

// logStream opens the container's log and delivers its records on a channel, closed when the stream ends;
// the stream's error, if any, is sent on errc. Cancelling stops the stream.
func (s *suite) logStream(t *testing.T, id string, q logQuery) (records <-chan logRecord, errc <-chan error, cancel func()) {
	t.Helper()
	c, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	p := containers.NewGetContainerLogsParamsWithTimeout(0).WithContext(c).WithID(id)
	if q.follow {
		p.SetFollow(&q.follow)
	}
	if !q.since.IsZero() {
		ns := q.since.UnixNano()
		p.SetSince(&ns)
	}
	if !q.until.IsZero() {
		ns := q.until.UnixNano()
		p.SetUntil(&ns)
	}
	if q.tail != nil {
		p.SetTail(q.tail)
	}
	pr, pw := io.Pipe()
	errs := make(chan error, 2)
	go func() {
		_, err := s.pl.Containers.GetContainerLogs(p, pw)
		if err != nil && c.Err() == nil {
			errs <- fmt.Errorf("logs of %s: %s", id, errText(err))
		}
		pw.Close()
	}()
	out := make(chan logRecord, 64)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			r, err := decodeLog(sc.Bytes())
			if err != nil {
				errs <- err
				pr.CloseWithError(err)
				return
			}
			out <- r
		}
	}()
	return out, errs, cancel
}

// logs reads the container's log to its end.
func (s *suite) logs(t *testing.T, id string, q logQuery) []logRecord {
	t.Helper()
	records, errc, cancel := s.logStream(t, id, q)
	defer cancel()
	var all []logRecord
	deadline := time.After(expectWait)
	for {
		select {
		case r, ok := <-records:
			if !ok {
				select {
				case err := <-errc:
					t.Fatal(err)
				default:
				}
				return all
			}
			all = append(all, r)
		case err := <-errc:
			t.Fatal(err)
		case <-deadline:
			t.Fatalf("the log of %s did not end; read %d records", id, len(all))
		}
	}
}

// lines are the records' lines of one stream ("" for both).
func lines(records []logRecord, stream string) []string {
	var out []string
	for _, r := range records {
		if stream == "" || r.stream == stream {
			out = append(out, r.line)
		}
	}
	return out
}

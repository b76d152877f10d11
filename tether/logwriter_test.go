package tether

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vice-engine/vice/tether/wire"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) records(t *testing.T) []wire.LogRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []wire.LogRecord
	for _, line := range strings.Split(strings.TrimSuffix(s.b.String(), "\n"), "\n") {
		if line == "" {
			continue
		}
		var r wire.LogRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		out = append(out, r)
	}
	return out
}

func TestLogWriterLines(t *testing.T) {
	var buf syncBuffer
	l := newLogWriter(&buf)
	out, errs := l.Stream("stdout"), l.Stream("stderr")
	out.Write([]byte("one\ntw"))
	errs.Write([]byte("bad\n"))
	out.Write([]byte("o\nthree"))
	l.Flush()
	got := buf.records(t)
	want := []wire.LogRecord{{Log: "one\n", Stream: "stdout"}, {Log: "bad\n", Stream: "stderr"},
		{Log: "two\n", Stream: "stdout"}, {Log: "three", Stream: "stdout"}}
	if len(got) != len(want) {
		t.Fatalf("records %+v", got)
	}
	for i := range want {
		if got[i].Log != want[i].Log || got[i].Stream != want[i].Stream || got[i].Time.IsZero() {
			t.Errorf("record %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

// A partial line reaches the log after a short delay, without waiting for its newline or for Flush.
func TestLogWriterPartialDelay(t *testing.T) {
	var buf syncBuffer
	l := newLogWriter(&buf)
	l.Stream("stdout").Write([]byte("prompt> "))
	deadline := time.Now().Add(2 * time.Second)
	for len(buf.records(t)) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := buf.records(t); len(got) != 1 || got[0].Log != "prompt> " {
		t.Fatalf("records %+v", got)
	}
}

// A very long line is cut into records of bounded size.
func TestLogWriterLongLine(t *testing.T) {
	var buf syncBuffer
	l := newLogWriter(&buf)
	l.Stream("stdout").Write(bytes.Repeat([]byte("x"), 3*maxRecordBytes))
	l.Flush()
	got := buf.records(t)
	total := 0
	for _, r := range got {
		if len(r.Log) > maxRecordBytes {
			t.Errorf("record of %d bytes", len(r.Log))
		}
		total += len(r.Log)
	}
	if total != 3*maxRecordBytes || len(got) != 3 {
		t.Errorf("%d records, %d bytes", len(got), total)
	}
}

package tether

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// What a session's process wrote before it exited reaches the channel even when the copy only runs after the
// grace's deadline, while a child left behind keeps the pipe open: the copy hands on what the pipe holds, then
// stops.
func TestCopyOutputHandsOnWhatIsLeftAtTheDeadline(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close() // held open, as by a child left behind
	if _, err := w.WriteString("hi\n"); err != nil {
		t.Fatal(err)
	}
	if err := r.SetReadDeadline(time.Now()); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	done := make(chan struct{})
	go func() { copyOutput(&got, r); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the copy went on past its deadline")
	}
	if got.String() != "hi\n" {
		t.Errorf("copied %q, want the line written before the deadline", got.String())
	}
}

// A writer that fails (the channel is gone) does not stop the reads: the process never blocks on a full pipe.
func TestCopyOutputReadsOnAfterTheWriterFails(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	done := make(chan struct{})
	go func() { copyOutput(failingWriter{}, r); close(done) }()
	if _, err := w.WriteString(strings.Repeat("x", 1<<20)); err != nil { // far more than a pipe holds
		t.Fatal(err)
	}
	w.Close()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the copy did not reach the output's end")
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("channel closed") }

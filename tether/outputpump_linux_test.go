package tether

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// pumpPipes starts an output pump over two new pipes, stdout and stderr, logging into a log writer, and
// returns the write ends.
func pumpPipes(t *testing.T) (stdout, stderr *os.File, p *outputPump, logs *syncBuffer) {
	t.Helper()
	var outs []output
	var ws []*os.File
	for _, stream := range []string{"stdout", "stderr"} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close(); w.Close() })
		outs, ws = append(outs, output{stream, r}), append(ws, w)
	}
	logs = &syncBuffer{}
	lw := newLogWriter(logs)
	p, err := startOutputPump(slog.New(slog.DiscardHandler), outs, func(stream string, b []byte) {
		_, _ = lw.Stream(stream).Write(b)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(); <-p.Done(); p.Release() })
	return ws[0], ws[1], p, logs
}

func waitDone(t *testing.T, p *outputPump) {
	t.Helper()
	select {
	case <-p.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("the pump did not end after its outputs closed")
	}
}

// Lines written to stdout and stderr in turn, as fast as a writer can, reach the log in the order written.
func TestOutputPumpKeepsTheWriteOrder(t *testing.T) {
	stdout, stderr, p, logs := pumpPipes(t)
	var want []string
	for i := range 300 {
		for _, w := range []*os.File{stdout, stderr} {
			line := fmt.Sprintf("%s %d\n", map[*os.File]string{stdout: "out", stderr: "err"}[w], i)
			if _, err := io.WriteString(w, line); err != nil {
				t.Fatal(err)
			}
			want = append(want, line)
		}
	}
	stdout.Close()
	stderr.Close()
	waitDone(t, p)
	var got []string
	for _, r := range logs.records(t) {
		if want := map[string]string{"out": "stdout", "err": "stderr"}[r.Log[:3]]; r.Stream != want {
			t.Fatalf("%q logged as %s", r.Log, r.Stream)
		}
		got = append(got, r.Log)
	}
	if strings.Join(got, "") != strings.Join(want, "") {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		t.Fatalf("the log's order is not the order written from record %d of %d (%d written):\n%q", i, len(got), len(want), got[max(i-4, 0):min(len(got), i+8)])
	}
}

// Two lines in one write to stdout, then lines to stderr that keep coming: the pump cannot tell the second
// line from a later write whose event is late, waits for that event a moment, then hands the lines on in
// the order their runs say, while stderr is still written to.
func TestOutputPumpOneWriteOfTwoLines(t *testing.T) {
	stdout, stderr, p, logs := pumpPipes(t)
	if _, err := io.WriteString(stdout, "out 1\nout 2\n"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; ; i++ {
		fmt.Fprintf(stderr, "err %d\n", i)
		var got []string
		for _, r := range logs.records(t) {
			got = append(got, r.Log)
		}
		if len(got) >= 3 {
			if got[0] != "out 1\n" || got[1] != "out 2\n" || got[2] != "err 0\n" {
				t.Fatalf("the log begins %q", got[:3])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stdout's lines were not handed on while stderr was written to: %q", got)
		}
		time.Sleep(time.Millisecond)
	}
	stdout.Close()
	stderr.Close()
	waitDone(t, p)
}

// A write of two lines between two writes to the other stream, then the end: the lines keep their order
// although the pump cannot tell, until it has waited, whether the second line was a later write.
func TestOutputPumpTwoLinesBeforeTheEnd(t *testing.T) {
	for range 20 {
		stdout, stderr, p, logs := pumpPipes(t)
		for _, w := range []struct {
			f    *os.File
			text string
		}{{stdout, "out 1\n"}, {stderr, "err 1\nerr 2\n"}, {stdout, "out 2\n"}} {
			if _, err := io.WriteString(w.f, w.text); err != nil {
				t.Fatal(err)
			}
		}
		stdout.Close()
		stderr.Close()
		waitDone(t, p)
		var got []string
		for _, r := range logs.records(t) {
			got = append(got, r.Log)
		}
		if strings.Join(got, "") != "out 1\nerr 1\nerr 2\nout 2\n" {
			t.Fatalf("the log is %q", got)
		}
	}
}

// Bursts on one stream, then the other, lose nothing and keep each stream's own order.
func TestOutputPumpBursts(t *testing.T) {
	stdout, stderr, p, logs := pumpPipes(t)
	var wantOut, wantErr strings.Builder
	for i := range 50 {
		for j := range 5 {
			fmt.Fprintf(stdout, "out %d.%d\n", i, j)
			fmt.Fprintf(&wantOut, "out %d.%d\n", i, j)
		}
		fmt.Fprintf(stderr, "err %d\n", i)
		fmt.Fprintf(&wantErr, "err %d\n", i)
	}
	big := strings.Repeat("x", 100<<10) + "\n" // more than a pipe holds, in one write
	go func() { io.WriteString(stdout, big); stdout.Close() }()
	wantOut.WriteString(big)
	stderr.Close()
	waitDone(t, p)
	var gotOut, gotErr strings.Builder
	for _, r := range logs.records(t) {
		map[string]*strings.Builder{"stdout": &gotOut, "stderr": &gotErr}[r.Stream].WriteString(r.Log)
	}
	if gotOut.String() != wantOut.String() || gotErr.String() != wantErr.String() {
		t.Fatalf("stdout %d bytes (want %d), stderr %d bytes (want %d)", gotOut.Len(), wantOut.Len(), gotErr.Len(), wantErr.Len())
	}
}

// Without an inotify instance (the user has none left: under the hypervisor emulator every guest's tether is
// root of one kernel) the pump starts at once and still runs: each stream whole and in its own order, the order
// between them guessed.
func TestOutputPumpWithoutWriteOrder(t *testing.T) {
	init := inotifyInit
	t.Cleanup(func() { inotifyInit = init })
	inotifyInit = func() (int, error) { return -1, unix.EMFILE }
	stdout, stderr, p, logs := pumpPipes(t)
	var wantOut, wantErr strings.Builder
	for i := range 200 {
		fmt.Fprintf(stdout, "out %d\n", i)
		fmt.Fprintf(&wantOut, "out %d\n", i)
		fmt.Fprintf(stderr, "err %d\n", i)
		fmt.Fprintf(&wantErr, "err %d\n", i)
	}
	stdout.Close()
	stderr.Close()
	waitDone(t, p)
	var gotOut, gotErr strings.Builder
	for _, r := range logs.records(t) {
		map[string]*strings.Builder{"stdout": &gotOut, "stderr": &gotErr}[r.Stream].WriteString(r.Log)
	}
	if gotOut.String() != wantOut.String() || gotErr.String() != wantErr.String() {
		t.Fatalf("stdout %q, stderr %q", gotOut.String(), gotErr.String())
	}
}

// Stop ends the pump while its outputs are still open (held by processes left behind), with what was
// read logged.
func TestOutputPumpStop(t *testing.T) {
	stdout, _, p, logs := pumpPipes(t)
	io.WriteString(stdout, "before\n")
	deadline := time.Now().Add(10 * time.Second)
	for len(logs.records(t)) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	p.Stop()
	waitDone(t, p)
	if recs := logs.records(t); len(recs) != 1 || recs[0].Log != "before\n" {
		t.Fatalf("records %+v", recs)
	}
}

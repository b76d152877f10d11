package backendtest

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/vice-engine/vice/plugins/sdk"
)

// logGap is the pause between the logged process's two bursts of output, so their records' times differ
// by at least that much.
const logGap = 300 * time.Millisecond

// testLogs reads the log of a finished process: every record with its stream and time, then the last N
// (tail), those from a time on (since) and those before one (until).
func (s *suite) testLogs(t *testing.T) {
	c := s.run(t, sh(fmt.Sprintf("echo one; echo two >&2; sleep %g; echo three; echo four >&2", logGap.Seconds())))
	st := s.exited(t, *c.ID, 0)
	all := s.logs(t, *c.ID, logQuery{})
	if got := lines(all, ""); len(got) != 4 {
		t.Fatalf("records %q, want one to four", got)
	}
	if out, errs := lines(all, "stdout"), lines(all, "stderr"); !slices.Equal(out, []string{"one", "three"}) ||
		!slices.Equal(errs, []string{"two", "four"}) {
		t.Fatalf("stdout %q, stderr %q", out, errs)
	}
	byLine := map[string]logRecord{}
	for _, r := range all {
		byLine[r.line] = r
	}

	t.Run("timestamps", func(t *testing.T) {
		created, finished := parseTime(t, "created", c.Created), parseTime(t, "finishedAt", st.FinishedAt)
		for _, r := range all {
			if r.time.Before(created) || r.time.After(finished) {
				t.Errorf("record %q at %s: not between creation %s and exit %s", r.line, r.time, c.Created, st.FinishedAt)
			}
		}
		// Each record has the time its line was written, not the time it was read: the lines after the pause
		// are later. (Not a full pause later: the time is taken when the backend reads a line, which a busy
		// machine may delay.)
		for _, pair := range [][2]string{{"one", "three"}, {"two", "four"}} {
			if a, b := byLine[pair[0]].time, byLine[pair[1]].time; !b.After(a) {
				t.Errorf("%s at %s, %s at %s: the process slept %s between them", pair[0], a, pair[1], b, logGap)
			}
		}
	})
	t.Run("tail", func(t *testing.T) {
		for _, tc := range []struct {
			tail int64
			want int
		}{{-1, 4}, {0, 0}, {1, 1}, {3, 3}, {10, 4}} {
			got := lines(s.logs(t, *c.ID, logQuery{tail: &tc.tail}), "")
			if want := lines(all[len(all)-tc.want:], ""); !slices.Equal(got, want) {
				t.Errorf("tail %d: %q, want %q", tc.tail, got, want)
			}
		}
	})
	// The records before the pause and those after it; within a group the streams' times may interleave.
	before, after := []string{"one", "two"}, []string{"four", "three"}
	split := byLine["three"].time
	if byLine["four"].time.Before(split) {
		split = byLine["four"].time
	}
	t.Run("since", func(t *testing.T) {
		// Since is inclusive: the first record after the pause is in.
		if got := sortedLines(s.logs(t, *c.ID, logQuery{since: split})); !slices.Equal(got, after) {
			t.Errorf("since %s: %q, want %q", split, got, after)
		}
		tail := int64(1)
		if got := lines(s.logs(t, *c.ID, logQuery{since: split, tail: &tail}), ""); len(got) != 1 || !slices.Contains(after, got[0]) {
			t.Errorf("since %s, tail 1: %q", split, got)
		}
		if got := s.logs(t, *c.ID, logQuery{since: time.Now().Add(time.Hour)}); len(got) != 0 {
			t.Errorf("since an hour from now: %d records", len(got))
		}
	})
	t.Run("until", func(t *testing.T) {
		// Until is exclusive: the first record after the pause is out.
		if got := sortedLines(s.logs(t, *c.ID, logQuery{until: split})); !slices.Equal(got, before) {
			t.Errorf("until %s: %q, want %q", split, got, before)
		}
	})
	t.Run("file", func(t *testing.T) {
		// Where the backend gives the log's file, the file selected as the port layer selects (sdk.SelectLog)
		// says what the port layer says.
		file := s.get(t, *c.ID).LogFile
		if file == "" {
			t.Skip("the backend gives no log file: its logs are read through the port layer only")
		}
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("the log file %s: %v", file, err)
		}
		one := int64(1)
		for _, q := range []logQuery{{}, {tail: &one}, {since: split}, {until: split}} {
			opts := sdk.LogOptions{Tail: -1, Since: q.since, Until: q.until}
			if q.tail != nil {
				opts.Tail = *q.tail
			}
			var fromFile []logRecord
			for l := range bytes.Lines(sdk.SelectLog(data, opts)) {
				r, err := decodeLog(bytes.TrimSuffix(l, []byte("\n")))
				if err != nil {
					t.Fatal(err)
				}
				fromFile = append(fromFile, r)
			}
			if want := s.logs(t, *c.ID, q); !slices.Equal(fromFile, want) {
				t.Errorf("%+v: the file says %+v, the port layer %+v", opts, fromFile, want)
			}
		}
	})
	t.Run("never-started", func(t *testing.T) {
		if got := s.logs(t, *s.create(t, forever).ID, logQuery{follow: true}); len(got) != 0 {
			t.Errorf("a container that never ran logged %d records", len(got))
		}
	})
}

// testLogsFollow follows the log of a running process: what it wrote before, what it writes later, and
// the stream's end when the process ends.
func (s *suite) testLogsFollow(t *testing.T) {
	p := process{args: []string{"/bin/sh", "-c", `echo first; read x; echo "second:$x"; echo third >&2`},
		openStdin: true, stdinOnce: true}
	c := s.run(t, p)
	records, errc, cancel := s.logStream(t, *c.ID, logQuery{follow: true})
	defer cancel()
	seen := map[string]bool{}
	next := func(want ...string) {
		t.Helper()
		select {
		case r, ok := <-records:
			if !ok {
				t.Fatalf("the followed log ended before %q", want)
			}
			if !slices.Contains(want, r.line) || seen[r.line] {
				t.Fatalf("followed record %q, want one of %q once", r.line, want)
			}
			seen[r.line] = true
		case err := <-errc:
			t.Fatal(err)
		case <-time.After(expectWait):
			t.Fatalf("the followed log never brought %q", want)
		}
	}
	// The process waits for its stdin: "first" reaches the follower while it runs.
	next("first")
	if st := s.get(t, *c.ID).State; !st.Running {
		t.Fatalf("the process ended before its stdin came: %s", stateText(st))
	}
	a := s.attach(t, *c.ID, false, attachOpts{stdin: true})
	a.send(t, "go\n")
	a.closeStdin(t)
	// stdout and stderr are read apart: their records may come in either order.
	next("second:go", "third")
	next("second:go", "third")
	select {
	case r, ok := <-records:
		if ok {
			t.Fatalf("unexpected record %q", r.line)
		}
	case err := <-errc:
		t.Fatal(err)
	case <-time.After(expectWait):
		t.Fatal("the followed log did not end when the process did")
	}
	s.exited(t, *c.ID, 0)
}

// sortedLines are the records' lines in sorted order.
func sortedLines(records []logRecord) []string {
	l := lines(records, "")
	slices.Sort(l)
	return l
}

// testLogsFollowRemoved follows the log of a running process that is removed as soon as it has exited, before
// the follower read its last lines (the Python SDK's containers.run removes the container before it reads the
// log it followed): the follower still gets every line, then its end.
func (s *suite) testLogsFollowRemoved(t *testing.T) {
	p := process{args: []string{"/bin/sh", "-c", `read x; echo "one:$x"; echo two >&2`}, openStdin: true, stdinOnce: true}
	c := s.run(t, p)
	records, errc, cancel := s.logStream(t, *c.ID, logQuery{follow: true})
	defer cancel()
	a := s.attach(t, *c.ID, false, attachOpts{stdin: true})
	a.send(t, "go\n")
	a.closeStdin(t)
	s.exited(t, *c.ID, 0)
	s.remove(t, *c.ID, false)
	var got []string
	deadline := time.After(expectWait)
	for done := false; !done; {
		select {
		case r, ok := <-records:
			if !ok {
				done = true
				break
			}
			got = append(got, r.stream+":"+r.line)
		case err := <-errc:
			t.Fatal(err)
		case <-deadline:
			t.Fatalf("the followed log of a removed container never ended; it brought %q", got)
		}
	}
	if !slices.Equal(got, []string{"stdout:one:go", "stderr:two"}) {
		t.Errorf("the followed log of a container removed at its exit brought %q", got)
	}
}

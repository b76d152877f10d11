package tether

import (
	"strings"
	"testing"
)

// take's rounds: one line for a run whose stream has a later run; all available for a stream's last run; a
// wait when that run is followed by another stream's and holds more than one line, unless impatient.
func TestWriteOrderTake(t *testing.T) {
	newStreams := func(out, err string) []*pumpStream {
		return []*pumpStream{
			{stream: "stdout", fd: -1, buf: []byte(out), avail: len(out)},
			{stream: "stderr", fd: -1, buf: []byte(err), avail: len(err)},
		}
	}
	var got []string
	emit := func(s *pumpStream, n int) {
		got = append(got, s.stream+":"+string(s.buf[:n]))
		s.buf, s.avail = s.buf[n:], s.avail-n
	}
	for _, c := range []struct {
		name     string
		runs     []int
		out, err string
		patient  bool
		want     taken
		emitted  string
	}{
		{"alternating", []int{0, 1, 0, 1}, "o1\no2\n", "e1\ne2\n", true, takenAll, "stdout:o1\n stderr:e1\n stdout:o2\n stderr:e2\n"},
		// e2's event is not read yet: e2 may have been written after o2.
		{"a write without its event", []int{0, 1, 0}, "o1\no2\n", "e1\ne2\n", true, waitOrder, "stdout:o1\n"},
		{"the wait is over", []int{0, 1, 0}, "o1\no2\n", "e1\ne2\n", false, takenAll, "stdout:o1\n stderr:e1\ne2\n stdout:o2\n"},
		// The last run of all takes what there is: nothing of another stream can come before it.
		{"the last run", []int{1, 0}, "o1\no2\n", "e1\n", true, takenAll, "stderr:e1\n stdout:o1\no2\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got = nil
			w := &writeOrder{runs: c.runs}
			if r := w.take(newStreams(c.out, c.err), emit, c.patient); r != c.want || strings.Join(got, " ") != c.emitted {
				t.Errorf("take = %d, emitted %q; want %d, %q", r, strings.Join(got, " "), c.want, c.emitted)
			}
		})
	}
}

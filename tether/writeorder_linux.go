package tether

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// writeOrder learns from inotify the order in which the process wrote to its output pipes. Every write(2) to
// a pipe queues an IN_MODIFY event on the pipe's watch once the data is in the pipe, and all the watches of
// one inotify instance share one queue: so the queue lists the streams in the order they were written,
// consecutive writes to one stream merged into one event (a run). Reading the events before the data, every
// run read has its data in the pipe; data read without a run yet was written after every run read so far.
type writeOrder struct {
	fd   int           // the inotify instance
	wds  map[int32]int // watch descriptor -> output index
	runs []int         // output indexes of the runs not yet taken, in the order written
	buf  []byte
}

// newWriteOrder watches the pipes fds (output indexes in that order).
func newWriteOrder(fds []int) (*writeOrder, error) {
	in, err := inotifyInit()
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	w := &writeOrder{fd: in, wds: map[int32]int{}, buf: make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))}
	for i, fd := range fds {
		// The descriptor's magic link names the pipe itself, which has no path of its own.
		wd, err := unix.InotifyAddWatch(in, fmt.Sprintf("/proc/self/fd/%d", fd), unix.IN_MODIFY)
		if err != nil {
			unix.Close(in)
			return nil, fmt.Errorf("watch output %d: %w", i, err)
		}
		w.wds[int32(wd)] = i
	}
	return w, nil
}

// readEvents appends the runs queued since the last call. lost reports that the queue overflowed: runs are
// missing, so the order of what is buffered is no longer known.
func (w *writeOrder) readEvents() (lost bool, err error) {
	for {
		n, err := unix.Read(w.fd, w.buf)
		if errors.Is(err, unix.EAGAIN) {
			return lost, nil
		}
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return lost, fmt.Errorf("read inotify events: %w", err)
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			wd := int32(binary.NativeEndian.Uint32(w.buf[off:]))
			mask := binary.NativeEndian.Uint32(w.buf[off+4:])
			nameLen := int(binary.NativeEndian.Uint32(w.buf[off+12:]))
			off += unix.SizeofInotifyEvent + nameLen
			if mask&unix.IN_Q_OVERFLOW != 0 {
				lost = true
				continue
			}
			if i, ok := w.wds[wd]; ok && mask&unix.IN_MODIFY != 0 {
				if len(w.runs) == 0 || w.runs[len(w.runs)-1] != i {
					w.runs = append(w.runs, i)
				}
			}
		}
	}
}

// What take stopped at.
type taken int

const (
	takenAll  taken = iota // every run read was taken
	waitData               // a run whose data came after the count: another round reads it
	waitOrder              // a stream's last lines, which may be a write whose event is not read yet
)

// take hands on, in the order written, what each run wrote from the available part of its stream's buffer
// (pumpStream.avail): all of it when no later run of the stream is queued, else one line (a run is one write
// unless several merged, and writes are mostly lines). A run with nothing available is dropped when its stream
// has nothing more either (an earlier run of the stream took its data); otherwise its data came after the
// count, and take stops there (waitData). When patient, take also stops (waitOrder) at a stream's last run
// read that other streams' runs follow and that has more than one line available: the lines after the first
// may be a later write whose event is not read yet (outputPump.ordered), or the run's own merged writes.
func (w *writeOrder) take(streams []*pumpStream, emit func(s *pumpStream, n int), patient bool) taken {
	for len(w.runs) > 0 {
		s := streams[w.runs[0]]
		if s.avail == 0 {
			if len(s.buf) > 0 || s.pending() > 0 {
				return waitData
			}
			w.runs = w.runs[1:]
			continue
		}
		n := s.avail
		first := bytes.IndexByte(s.buf[:n], '\n')
		switch {
		case w.laterRun(w.runs[0]):
			if first >= 0 {
				n = first + 1
			}
		case patient && len(w.runs) > 1 && first >= 0 && first < n-1:
			return waitOrder
		}
		emit(s, n)
		w.runs = w.runs[1:]
	}
	return takenAll
}

func (w *writeOrder) laterRun(i int) bool {
	for _, r := range w.runs[1:] {
		if r == i {
			return true
		}
	}
	return false
}

// forget drops the runs: their order is lost (an overflow) or no longer needed.
func (w *writeOrder) forget() { w.runs = w.runs[:0] }

func (w *writeOrder) Close() error { return unix.Close(w.fd) }

// inotifyInit makes an inotify instance (tests make it fail, as a host without instances left does).
var inotifyInit = func() (int, error) { return unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC) }

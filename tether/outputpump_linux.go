package tether

import (
	"errors"
	"log/slog"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// outputPump reads all of a process's outputs from one loop, waiting in poll(2) on every one of them, and
// hands the output on in the order the process wrote it. A goroutine per pipe would lose that order: when the
// process writes "out" to stdout and then "err" to stderr, the runtime's poller wakes both goroutines together
// and they run in either order. Here inotify says which stream was written first (writeorder_linux.go); where
// it cannot be had, the loop reads the streams as they become readable, stdout first when both are. The log
// writer stamps each line when it is handed on, as Docker's json-file stamps a line when its copier reads it.
type outputPump struct {
	done   chan struct{}
	order  *writeOrder // kept by the ended loop for Release
	stopR  *os.File    // polled with the outputs; closing stopW wakes the loop for good
	stopW  *os.File
	closed bool
}

// pumpStream is one output in the loop: its pipe (or pty master) and what was read from it but not handed on.
type pumpStream struct {
	stream string
	fd     int
	buf    []byte
	// avail is how much of buf was written before the write order was last read: runs take only that, so
	// that a write whose event was not read yet is not taken by an earlier run of the stream.
	avail int
	ended bool
}

// startOutputPump starts reading outs (stdout first) until each has ended (its EOF, or EIO for a pty master
// whose last slave is closed) or Stop is called. emit gets the output in order; it may keep nothing of p.
func startOutputPump(log *slog.Logger, outs []output, emit func(stream string, p []byte)) (*outputPump, error) {
	streams := make([]*pumpStream, len(outs))
	fds := make([]int, len(outs))
	for i, o := range outs {
		fd, err := rawFD(o.r)
		if err != nil {
			return nil, err
		}
		// Reads must never block: the loop reads a stream whenever the order says it was written to.
		if err := unix.SetNonblock(fd, true); err != nil {
			return nil, err
		}
		streams[i], fds[i] = &pumpStream{stream: o.stream, fd: fd}, fd
	}
	var order *writeOrder
	if len(outs) > 1 {
		var err error
		if order, err = newWriteOrder(fds); err != nil {
			log.Warn("the order of writes to stdout and stderr is guessed", "err", err)
			order = nil
		}
	}
	stopR, stopW, err := os.Pipe()
	if err != nil {
		if order != nil {
			order.Close()
		}
		return nil, err
	}
	p := &outputPump{done: make(chan struct{}), stopR: stopR, stopW: stopW}
	go p.run(log, streams, order, emit)
	return p, nil
}

func (p *outputPump) run(log *slog.Logger, streams []*pumpStream, order *writeOrder, emit func(string, []byte)) {
	defer close(p.done)
	defer func() { p.order = order }() // for Release: the instance, unless the loop gave it up
	defer p.stopR.Close()
	hand := func(s *pumpStream, n int) {
		emit(s.stream, s.buf[:n])
		s.avail = max(s.avail-n, 0)
		if s.buf = s.buf[n:]; len(s.buf) == 0 {
			s.buf = s.buf[:0:cap(s.buf)]
		}
	}
	flushAll := func() {
		for _, s := range streams {
			if len(s.buf) > 0 {
				hand(s, len(s.buf))
			}
		}
	}
	defer flushAll()
	stopFD, err := rawFD(p.stopR)
	if err != nil {
		log.Error("output pump", "err", err)
		return
	}
	polled := make([]unix.PollFd, 0, len(streams)+2)
	for _, s := range streams {
		polled = append(polled, unix.PollFd{Fd: int32(s.fd), Events: unix.POLLIN})
	}
	if order != nil {
		polled = append(polled, unix.PollFd{Fd: int32(order.fd), Events: unix.POLLIN})
	}
	polled = append(polled, unix.PollFd{Fd: int32(stopFD), Events: unix.POLLIN})
	scratch := make([]byte, 32<<10)
	var orderDeadline time.Time // when a wait for the order of a stream's last lines (orderWait) ends
	for open := len(streams); open > 0; {
		timeout := -1
		if !orderDeadline.IsZero() {
			timeout = max(int((time.Until(orderDeadline)+time.Millisecond-1)/time.Millisecond), 0)
		}
		_, err := unix.Poll(polled, timeout)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			log.Error("output pump", "err", err)
			return
		}
		if polled[len(polled)-1].Revents != 0 {
			return
		}
		if order != nil {
			// Past the wait, the lines go on in the order the runs read say, whatever came meanwhile.
			patient := orderDeadline.IsZero() || time.Now().Before(orderDeadline)
			waiting, err := p.ordered(order, streams, scratch, hand, patient)
			switch {
			case err != nil:
			case waiting && orderDeadline.IsZero():
				orderDeadline = time.Now().Add(orderWait)
			case !waiting:
				orderDeadline = time.Time{}
			}
			if err != nil {
				log.Warn("the order of writes to stdout and stderr is guessed from now on", "err", err)
				flushAll()
				order.Close()
				order, orderDeadline = nil, time.Time{}
				polled = append(polled[:len(streams)], polled[len(polled)-1])
			}
		} else {
			for i, s := range streams {
				if !s.ended && polled[i].Revents != 0 {
					s.fill(scratch)
				}
			}
		}
		for i, s := range streams {
			// Without the order, what was read goes on at once; with it, what is left of an ended stream was
			// written after every run taken, and nothing more of it will come. While runs wait (the order of
			// lines read is not settled yet), they go first.
			if len(s.buf) > 0 && (order == nil || (s.ended && orderDeadline.IsZero())) {
				hand(s, len(s.buf))
			}
			if s.ended && polled[i].Fd >= 0 {
				polled[i].Fd = -1 // poll passes over a negative descriptor
				open--
			}
		}
	}
	if order != nil && !orderDeadline.IsZero() {
		// Every output ended with runs waiting: nothing more will come, so they go on in their order now,
		// before the rest (flushAll).
		if _, err := p.ordered(order, streams, scratch, hand, false); err != nil {
			log.Warn("the order of writes to stdout and stderr is guessed", "err", err)
		}
	}
}

// orderWait bounds how long the pump waits for the event of a write whose data it has read (writeOrder.take).
const orderWait = 5 * time.Millisecond

// ordered reads the streams and hands their output on in the order written, in rounds: first what each pipe
// holds is counted, then the write order is read, then the data, and the runs take what was counted. A round
// that stops at a run whose data came after the count is followed by another. It reports that it waits for
// the order of lines it has read (patient, see writeOrder.take): the loop polls again, for at most orderWait.
//
// A write puts its data in the pipe before it queues its event, and the pipe wakes this loop between the two:
// that wake-up may even run this loop on the writer's CPU, the writer stopped before its event. So data
// counted may belong to a write whose event is not read yet. Taken by the stream's last run read so far, it
// would go on before the runs of the other streams that follow that one; the patient take leaves it until the
// write's event is read (which happens as soon as this loop waits and the writer runs) or the wait ends.
func (p *outputPump) ordered(order *writeOrder, streams []*pumpStream, scratch []byte, hand func(*pumpStream, int),
	patient bool) (waiting bool, err error) {
	for {
		for _, s := range streams {
			s.avail = len(s.buf) + s.pending()
		}
		lost, err := order.readEvents()
		if err != nil {
			return false, err
		}
		if lost { // the order of what is buffered is unknown: it goes on as it is
			order.forget()
			for _, s := range streams {
				s.fill(scratch)
				if len(s.buf) > 0 {
					hand(s, len(s.buf))
				}
			}
			continue
		}
		for _, s := range streams {
			if !s.ended {
				s.fill(scratch)
			}
			s.avail = min(s.avail, len(s.buf))
		}
		switch order.take(streams, hand, patient) {
		case takenAll:
			return false, nil
		case waitOrder:
			return true, nil
		}
	}
}

// fill reads what the pipe holds, once; its end (EOF, or EIO from a pty master) marks the stream ended.
func (s *pumpStream) fill(scratch []byte) {
	n, err := unix.Read(s.fd, scratch)
	switch {
	case n > 0:
		s.buf = append(s.buf, scratch[:n]...)
	case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
	default:
		s.ended = true
	}
}

// pending is how many bytes the pipe holds, not read yet.
func (s *pumpStream) pending() int {
	if s.ended {
		return 0
	}
	n, err := unix.IoctlGetInt(s.fd, unix.TIOCINQ) // FIONREAD: the bytes a pipe holds
	if err != nil {
		return 0
	}
	return n
}

// Done is closed once every output has ended, or the pump was stopped.
func (p *outputPump) Done() <-chan struct{} { return p.done }

// Release closes what the pump kept once it had ended: its write-order inotify instance. Closing an inotify
// instance waits for the kernel's grace period (synchronize_srcu in fsnotify_destroy_group, 5-20 ms here),
// so the tether does it once the exit status is written rather than on the way to it. A pump that has not
// ended keeps it (the process's exit closes it).
func (p *outputPump) Release() {
	select {
	case <-p.done:
	default:
		return
	}
	if p.order != nil {
		p.order.Close()
		p.order = nil
	}
}

// Stop ends the loop even though outputs are still open (held by processes left behind). It is called from
// one goroutine.
func (p *outputPump) Stop() {
	if !p.closed {
		p.closed = true
		p.stopW.Close()
	}
}

// rawFD is f's descriptor, left in the mode it is in (non-blocking for a pipe: the loop polls before reading).
// It stays valid while f is open.
func rawFD(f *os.File) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	if err := rc.Control(func(u uintptr) { fd = int(u) }); err != nil {
		return -1, err
	}
	return fd, nil
}

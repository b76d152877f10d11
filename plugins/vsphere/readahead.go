package vsphere

import (
	"errors"
	"io"
)

// Read-ahead: a layer write reads its stream, decompresses and hashes it in one goroutine while the unpacker
// writes files in another, so the two halves of the work overlap instead of taking turns.
const (
	aheadChunk = 256 << 10 // bytes handed over at a time
	aheadDepth = 4         // chunks in flight
)

// aheadReader reads r in a goroutine, a chunk at a time, passing each chunk to seen (in that goroutine)
// before handing it to the reader. Its Read gives r's bytes in order and then r's error (io.EOF at the end).
type aheadReader struct {
	full chan []byte
	free chan []byte
	stop chan struct{}

	// The producer's outcome, published by closing full.
	srcErr error

	// The consumer's side.
	cur     []byte // unread part of the current chunk
	curBuf  []byte // the whole current chunk, to give back
	err     error  // the outcome, once full is closed and drained
	stopped bool
}

func readAhead(r io.Reader, seen func([]byte)) *aheadReader {
	a := &aheadReader{full: make(chan []byte, aheadDepth), free: make(chan []byte, aheadDepth), stop: make(chan struct{})}
	for range aheadDepth {
		a.free <- make([]byte, aheadChunk)
	}
	go a.produce(r, seen)
	return a
}

func (a *aheadReader) produce(r io.Reader, seen func([]byte)) {
	defer close(a.full)
	for {
		var buf []byte
		select {
		case buf = <-a.free:
		case <-a.stop:
			a.srcErr = errAheadStopped
			return
		}
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			if seen != nil {
				seen(buf[:n])
			}
			a.full <- buf[:n] // never blocks: at most aheadDepth buffers exist
		}
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			a.srcErr = io.EOF
			return
		}
		if err != nil {
			a.srcErr = err
			return
		}
	}
}

var errAheadStopped = errors.New("read-ahead stopped")

func (a *aheadReader) Read(p []byte) (int, error) {
	for len(a.cur) == 0 {
		if a.err != nil {
			return 0, a.err
		}
		if a.curBuf != nil {
			a.free <- a.curBuf[:cap(a.curBuf)]
			a.curBuf = nil
		}
		buf, ok := <-a.full
		if !ok {
			a.err = a.srcErr
			return 0, a.err
		}
		a.cur, a.curBuf = buf, buf
	}
	n := copy(p, a.cur)
	a.cur = a.cur[n:]
	return n, nil
}

// WriteTo hands the chunks over without copying them into a caller's buffer.
func (a *aheadReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if len(a.cur) > 0 {
			n, err := w.Write(a.cur)
			total += int64(n)
			a.cur = a.cur[n:]
			if err != nil {
				return total, err
			}
		}
		if _, err := a.Read(nil); err != nil {
			if err == io.EOF {
				return total, nil
			}
			return total, err
		}
	}
}

// failure is the error that ended the stream, once the reader has seen it; nil before, and at a clean end.
func (a *aheadReader) failure() error {
	if a.err == nil || a.err == io.EOF {
		return nil
	}
	return a.err
}

// Close stops the producer at its next chunk. It does not wait for it: the producer may be blocked reading
// r, which its owner ends (a request body ends with its request).
func (a *aheadReader) Close() error {
	if !a.stopped {
		a.stopped = true
		close(a.stop)
	}
	return nil
}

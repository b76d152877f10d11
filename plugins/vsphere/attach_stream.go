package vsphere

import (
	"encoding/binary"
	"io"
	"sync"
)

// clientWriter writes the process's output to the attach client: raw with a tty, else in Docker's
// multiplexed frames (an 8-byte header: the stream, three zero bytes, the big-endian payload length).
type clientWriter struct {
	w   io.Writer
	tty bool

	mu       sync.Mutex // the stdout and stderr copies share the client
	goneOnce sync.Once
	gone     chan struct{} // closed when a write to the client fails
}

func newClientWriter(w io.Writer, tty bool) *clientWriter {
	return &clientWriter{w: w, tty: tty, gone: make(chan struct{})}
}

// copyFrom copies one of the tether's streams (1 stdout, 2 stderr) until it ends. A stream the client did
// not ask for is still read, so the tether's flow control never stalls on it.
func (c *clientWriter) copyFrom(r io.Reader, stream byte, wanted bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 && wanted {
			if !c.write(stream, buf[:n]) {
				wanted = false // the client is gone; keep draining until the channel closes
			}
		}
		if err != nil {
			return
		}
	}
}

func (c *clientWriter) write(stream byte, p []byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	var err error
	if c.tty {
		_, err = c.w.Write(p)
	} else {
		frame := make([]byte, 8+len(p))
		frame[0] = stream
		binary.BigEndian.PutUint32(frame[4:8], uint32(len(p)))
		copy(frame[8:], p)
		_, err = c.w.Write(frame)
	}
	if err != nil {
		c.goneOnce.Do(func() { close(c.gone) })
		return false
	}
	return true
}

// detachFilter finds Docker's detach key sequence in the client's input. Bytes that might begin the sequence
// are held back until it is complete (detach) or broken (they are passed on after all), as Docker does.
type detachFilter struct {
	keys    []byte
	matched int
}

// filter returns the bytes to forward and whether the sequence was completed (the bytes after it are dropped).
func (d *detachFilter) filter(p []byte) (out []byte, detach bool) {
	if len(d.keys) == 0 {
		return p, false
	}
	for _, c := range p {
		if c == d.keys[d.matched] {
			if d.matched++; d.matched == len(d.keys) {
				return out, true
			}
			continue
		}
		out = append(out, d.keys[:d.matched]...)
		d.matched = 0
		if c == d.keys[0] {
			d.matched = 1
			if len(d.keys) == 1 {
				return out, true
			}
			continue
		}
		out = append(out, c)
	}
	return out, false
}

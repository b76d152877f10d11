package containers

import (
	"encoding/binary"
	"io"

	"github.com/vice-engine/vice/plugins/sdk"
)

// dockerStream writes a process's output as Docker's API streams it (attach, logs): raw with a tty, else each
// write behind an 8-byte header (the stream, 1 stdout or 2 stderr; three zero bytes; the big-endian length of
// the payload). It is the one place the core writes that framing.
type dockerStream struct {
	w   io.Writer
	tty bool
	buf []byte
}

func newDockerStream(w io.Writer, tty bool) *dockerStream { return &dockerStream{w: w, tty: tty} }

// write writes p of stream (sdk.StreamStdout or sdk.StreamStderr) in one Write.
func (d *dockerStream) write(stream byte, p []byte) error {
	if d.tty {
		_, err := d.w.Write(p)
		return err
	}
	d.buf = append(d.buf[:0], 1, 0, 0, 0, 0, 0, 0, 0)
	if stream == sdk.StreamStderr {
		d.buf[0] = 2
	}
	binary.BigEndian.PutUint32(d.buf[4:8], uint32(len(p)))
	d.buf = append(d.buf, p...)
	_, err := d.w.Write(d.buf)
	return err
}

// copyFrames copies a port-layer stream's frames to d until the stream ends (nil) or a read or write fails.
func (d *dockerStream) copyFrames(r io.Reader) error {
	frames := sdk.NewFrameReader(r)
	for {
		stream, p, err := frames.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := d.write(stream, p); err != nil {
			return err
		}
	}
}

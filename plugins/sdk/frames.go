package sdk

import (
	"encoding/binary"
	"fmt"
	"io"
	"sync"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// The streams a frame belongs to.
const (
	StreamStdout byte = 1
	StreamStderr byte = 2
)

// frameHeaderLen is a frame's header: the stream, then the payload's length as a big-endian uint32.
const frameHeaderLen = 5

// MaxFramePayload bounds one frame's payload; a reader refuses longer ones as a corrupt stream.
const MaxFramePayload = 1 << 20

// FrameWriter writes frames of several streams to one writer, each frame in one Write; it is safe for
// concurrent use.
type FrameWriter struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

// NewFrameWriter returns a FrameWriter on w.
func NewFrameWriter(w io.Writer) *FrameWriter { return &FrameWriter{w: w} }

// WriteFrame writes p as frames of stream, splitting it at MaxFramePayload.
func (f *FrameWriter) WriteFrame(stream byte, p []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(p) > 0 {
		n := min(len(p), MaxFramePayload)
		f.buf = append(f.buf[:0], stream, 0, 0, 0, 0)
		binary.BigEndian.PutUint32(f.buf[1:frameHeaderLen], uint32(n))
		f.buf = append(f.buf, p[:n]...)
		if _, err := f.w.Write(f.buf); err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

// FrameReader reads the frames a FrameWriter wrote.
type FrameReader struct {
	r   io.Reader
	hdr [frameHeaderLen]byte
	buf []byte
}

// NewFrameReader returns a FrameReader on r.
func NewFrameReader(r io.Reader) *FrameReader { return &FrameReader{r: r} }

// Next returns the next frame; p is valid until the following call. The end of the stream between frames is
// io.EOF; inside one, io.ErrUnexpectedEOF.
func (f *FrameReader) Next() (stream byte, p []byte, err error) {
	if _, err := io.ReadFull(f.r, f.hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(f.hdr[1:])
	if n > MaxFramePayload {
		return 0, nil, fmt.Errorf("stream frame of %d bytes: %w", n, errdefs.ErrSystem)
	}
	if cap(f.buf) < int(n) {
		f.buf = make([]byte, n)
	}
	p = f.buf[:n]
	if _, err := io.ReadFull(f.r, p); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	return f.hdr[0], p, nil
}

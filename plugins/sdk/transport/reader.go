package transport

import (
	"fmt"
	"io"

	"google.golang.org/grpc/mem"
)

// frameReader turns received data frames into a byte stream. It reports io.EOF at an end frame ('E', or
// after the bytes of an 'L') and can then be resumed, because an upgraded exchange carries raw bytes after
// the end of its request body.
type frameReader struct {
	recv    func() (*inFrame, error)
	pending []byte     // body bytes that came with the head
	cur     mem.Reader // the rest of the current data frame
	ended   bool       // an end frame was seen and not yet resumed past
	err     error      // sticky receive error
}

func (r *frameReader) Read(p []byte) (int, error) {
	for len(r.pending) == 0 && (r.cur == nil || r.cur.Remaining() == 0) {
		if r.cur != nil {
			r.cur.Close()
			r.cur = nil
		}
		if r.ended {
			return 0, io.EOF
		}
		if r.err != nil {
			return 0, r.err
		}
		msg, err := r.recv()
		if err != nil {
			r.err = err
			return 0, err
		}
		kind, err := msg.r.ReadByte()
		switch {
		case err != nil:
			r.err = fmt.Errorf("%w: empty frame", errBadFrame)
		case kind == kindData:
			r.cur = msg.r
			continue
		case kind == kindLast:
			r.cur = msg.r
			r.ended = true
			continue
		case kind == kindEnd:
			r.ended = true
		default:
			r.err = fmt.Errorf("%w: unexpected kind %q", errBadFrame, kind)
		}
		msg.r.Close()
	}
	if len(r.pending) > 0 {
		n := copy(p, r.pending)
		r.pending = r.pending[n:]
		return n, nil
	}
	return r.cur.Read(p)
}

// skipToEnd discards what remains up to the end frame, then resumes reading past it.
func (r *frameReader) skipToEnd() error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	r.ended = false
	return nil
}

// atEnd reports that the reader reached an end frame and has nothing left to read before it. It does not
// receive: a lane's reader must not read past its exchange.
func (r *frameReader) atEnd() bool {
	if !r.ended || len(r.pending) > 0 {
		return false
	}
	if r.cur != nil {
		if r.cur.Remaining() > 0 {
			return false
		}
		r.cur.Close()
		r.cur = nil
	}
	return true
}

package transport

import (
	"fmt"
	"io"

	"google.golang.org/protobuf/types/known/wrapperspb"
)

// frameReader turns received data frames into a byte stream. It reports io.EOF at an end frame ('E') and
// can then be resumed, because an upgraded exchange carries raw bytes after the end of its request body.
type frameReader struct {
	recv    func() (*wrapperspb.BytesValue, error)
	pending []byte
	ended   bool  // an end frame was seen and not yet resumed past
	err     error // sticky receive error
}

func (r *frameReader) Read(p []byte) (int, error) {
	for len(r.pending) == 0 {
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
		b := msg.GetValue()
		switch {
		case len(b) == 0:
			r.err = fmt.Errorf("%w: empty frame", errBadFrame)
		case b[0] == kindData:
			r.pending = b[1:]
		case b[0] == kindEnd:
			r.ended = true
		default:
			r.err = fmt.Errorf("%w: unexpected kind %q", errBadFrame, b[0])
		}
	}
	n := copy(p, r.pending)
	r.pending = r.pending[n:]
	return n, nil
}

// skipToEnd discards what remains up to the end frame, then resumes reading past it.
func (r *frameReader) skipToEnd() error {
	if !r.ended {
		if _, err := io.Copy(io.Discard, r); err != nil {
			return err
		}
	}
	r.ended = false
	return nil
}

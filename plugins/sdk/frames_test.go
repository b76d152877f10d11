package sdk

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestFrames(t *testing.T) {
	var buf bytes.Buffer
	w := NewFrameWriter(&buf)
	big := bytes.Repeat([]byte("x"), MaxFramePayload+10)
	for _, f := range []struct {
		stream byte
		p      []byte
	}{{StreamStdout, []byte("out\n")}, {StreamStderr, []byte("err\n")}, {StreamStdout, big}} {
		if err := w.WriteFrame(f.stream, f.p); err != nil {
			t.Fatal(err)
		}
	}
	r := NewFrameReader(&buf)
	var got []string
	var bigLen int
	for {
		s, p, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(p) > 0 && p[0] == 'x' {
			bigLen += len(p)
			continue
		}
		got = append(got, string(rune('0'+s))+string(p))
	}
	if len(got) != 2 || got[0] != "1out\n" || got[1] != "2err\n" || bigLen != len(big) {
		t.Fatalf("frames %q, big %d", got, bigLen)
	}

	// A stream cut inside a frame is not a clean end.
	buf.Reset()
	_ = w.WriteFrame(StreamStdout, []byte("hello"))
	r = NewFrameReader(bytes.NewReader(buf.Bytes()[:buf.Len()-2]))
	if _, _, err := r.Next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("cut frame: %v", err)
	}
}

package transport

import (
	"bytes"
	"io"
	"testing"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The frame codec's bytes are a protobuf BytesValue: what it writes, the proto codec reads, and the other
// way round; other messages are left to protobuf.
func TestFrameCodec(t *testing.T) {
	payload := bytes.Repeat([]byte("vice"), poolMin) // large enough for a pooled frame
	sent := dataFrame(payload)
	if _, ok := sent.(*outFrame); !ok {
		t.Fatalf("a %d-byte payload is sent as %T, not a pooled frame", len(payload), sent)
	}
	data, err := codec.Marshal(sent)
	if err != nil {
		t.Fatal(err)
	}
	var bv wrapperspb.BytesValue
	if err := proto.Unmarshal(data.Materialize(), &bv); err != nil || bv.Value[0] != kindData || !bytes.Equal(bv.Value[1:], payload) {
		t.Fatalf("protobuf reads the frame as %d bytes (%v)", len(bv.Value), err)
	}

	for name, wire := range map[string][]byte{
		"frame codec":   data.Materialize(),
		"proto codec":   mustMarshal(t, wrapperspb.Bytes(append([]byte{kindData}, payload...))),
		"split buffers": data.Materialize(),
	} {
		in := mem.BufferSlice{mem.SliceBuffer(wire)}
		if name == "split buffers" {
			in = mem.BufferSlice{mem.SliceBuffer(wire[:2]), mem.SliceBuffer(wire[2:7]), mem.SliceBuffer(wire[7:])}
		}
		var f inFrame
		if err := codec.Unmarshal(in, &f); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, _ := io.ReadAll(f.r)
		if len(got) == 0 || got[0] != kindData || !bytes.Equal(got[1:], payload) {
			t.Errorf("%s: read back %d bytes", name, len(got))
		}
	}

	// An empty message is an empty frame; a field encoded another way is still read.
	var empty inFrame
	if err := codec.Unmarshal(mem.BufferSlice{}, &empty); err != nil || empty.r.Remaining() != 0 {
		t.Errorf("empty message: %v", err)
	}
	odd := append(mustMarshal(t, wrapperspb.Bytes([]byte{kindEnd})), 0x08, 0x01) // plus an unknown varint field
	var f inFrame
	if err := codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(odd)}, &f); err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(f.r); !bytes.Equal(got, []byte{kindEnd}) {
		t.Errorf("unusual encoding read as %q", got)
	}

	// Anything else goes through protobuf.
	other := wrapperspb.String("go-plugin's own")
	b, err := codec.Marshal(other)
	if err != nil {
		t.Fatal(err)
	}
	var back wrapperspb.StringValue
	if err := codec.Unmarshal(b, &back); err != nil || back.Value != other.Value {
		t.Errorf("a plain message: %q, %v", back.Value, err)
	}
}

func mustMarshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

package transport

import (
	"encoding/binary"
	"fmt"
	"sync"

	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	// The proto codec registers itself; the frame codec falls back to it.
	_ "google.golang.org/grpc/encoding/proto"
)

// The frame codec moves an exchange's body bytes without the copies and allocations of marshalling them as
// protobuf messages. On the wire a frame is still a BytesValue (field 1, bytes), so either side may use the
// plain proto codec: the codec's name is "proto". Sending, a large data frame is a pooled buffer that gRPC
// writes out as it is and gives back to the pool once written (outFrame); receiving, a frame keeps gRPC's
// own buffers until its bytes have been read (inFrame). Every other message (go-plugin's own services share
// the server) is left to the proto codec.
type frameCodec struct{}

var protoCodec = encoding.GetCodecV2("proto")

var codec encoding.CodecV2 = frameCodec{}

func (frameCodec) Name() string { return "proto" }

func (frameCodec) Marshal(v any) (mem.BufferSlice, error) {
	switch f := v.(type) {
	case *outFrame:
		data := mem.BufferSlice{mem.SliceBuffer(framePrefix(len(*f.buf))), mem.NewBuffer(f.buf, framePool)}
		f.buf = nil // gRPC owns it now
		return data, nil
	case rawFrame:
		return mem.BufferSlice{mem.SliceBuffer(framePrefix(len(f))), mem.SliceBuffer(f)}, nil
	}
	return protoCodec.Marshal(v)
}

// framePrefix is the BytesValue's field tag and length before n frame bytes.
func framePrefix(n int) []byte {
	prefix := protowire.AppendTag(make([]byte, 0, 1+binary.MaxVarintLen64), 1, protowire.BytesType)
	return protowire.AppendVarint(prefix, uint64(n))
}

func (frameCodec) Unmarshal(data mem.BufferSlice, v any) error {
	f, ok := v.(*inFrame)
	if !ok {
		return protoCodec.Unmarshal(data, v)
	}
	r := data.Reader() // takes its own references: gRPC frees data after this returns
	if r.Remaining() == 0 {
		f.r = r // an empty message: an empty BytesValue
		return nil
	}
	tag, err := r.ReadByte()
	if err == nil && tag == byte(protowire.EncodeTag(1, protowire.BytesType)) {
		n, err := binary.ReadUvarint(r)
		if err == nil && n == uint64(r.Remaining()) {
			f.r = r
			return nil
		}
	}
	// Not the one field as the codecs write it: leave it to protobuf.
	r.Close()
	var bv wrapperspb.BytesValue
	if err := proto.Unmarshal(data.Materialize(), &bv); err != nil {
		return fmt.Errorf("transport: frame: %w", err)
	}
	f.r = mem.BufferSlice{mem.SliceBuffer(bv.Value)}.Reader()
	return nil
}

// rawFrame (frame.go) is a frame to send from a buffer of its own, which the codec does not copy.

// outFrame is a data frame to send: the kind byte, then the payload, in a pooled buffer.
type outFrame struct{ buf *[]byte }

// inFrame is a received frame: a reader of its bytes (the kind byte first) that frees gRPC's buffers as it
// goes; close it when done.
type inFrame struct{ r mem.Reader }

// bytes reads the rest of the frame into one slice and closes it.
func (f *inFrame) bytes() []byte {
	b := make([]byte, f.r.Remaining())
	n, _ := f.r.Read(b)
	f.r.Close()
	return b[:n]
}

// poolMin is the smallest payload sent in a pooled frame; smaller ones are copied into frames of their own
// size (gRPC does not pool buffers that small anyway).
const poolMin = 32 << 10

// pooledFrames are the buffers of large data frames, each with room for the kind byte and ChunkSize bytes.
type pooledFrames struct{ p sync.Pool }

var framePool = &pooledFrames{p: sync.Pool{New: func() any {
	b := make([]byte, 1+ChunkSize)
	return &b
}}}

// Get returns a frame buffer of length n (at most 1+ChunkSize).
func (p *pooledFrames) Get(n int) *[]byte {
	b := p.p.Get().(*[]byte)
	*b = (*b)[:n]
	return b
}

func (p *pooledFrames) Put(b *[]byte) {
	if cap(*b) == 1+ChunkSize {
		*b = (*b)[:cap(*b)]
		p.p.Put(b)
	}
}

// dataFrame makes the data frame of p (at most ChunkSize bytes), copying p.
func dataFrame(p []byte) any { return kindFrame(kindData, p) }

// kindFrame makes a frame of the kind with payload p (at most ChunkSize bytes), copying p.
func kindFrame(kind byte, p []byte) any {
	if len(p) < poolMin {
		buf := make([]byte, 1+len(p))
		buf[0] = kind
		copy(buf[1:], p)
		return rawFrame(buf)
	}
	buf := framePool.Get(1 + len(p))
	(*buf)[0] = kind
	copy((*buf)[1:], p)
	return &outFrame{buf: buf}
}

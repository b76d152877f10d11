package transport

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// ServiceName and the method path of the one RPC every plugin serves.
const (
	ServiceName  = "vice.transport.v1.Transport"
	exchangePath = "/" + ServiceName + "/Exchange"
)

// ChunkSize is the largest body payload of one frame. Large frames keep the per-message cost of a bulk
// stream (a layer upload) small; a frame is only as large as the bytes a read gave.
const ChunkSize = 1 << 20

// responseBuffer is how much of a response is gathered before it is sent: small responses travel in one
// frame, and larger writes pass straight through.
const responseBuffer = 64 << 10

const (
	kindHead = 'H'
	kindData = 'D'
	kindEnd  = 'E'
)

var exchangeDesc = grpc.StreamDesc{
	StreamName:    "Exchange",
	ServerStreams: true,
	ClientStreams: true,
}

// requestHead is what the client sends first.
type requestHead struct {
	Method  string      `json:"m"`
	URL     string      `json:"u"`
	Host    string      `json:"h,omitempty"`
	Header  http.Header `json:"hd,omitempty"`
	Length  int64       `json:"l"`
	NoBody  bool        `json:"nb,omitempty"`
	Upgrade bool        `json:"up,omitempty"`
}

// responseHead is what the server sends first.
type responseHead struct {
	Status int         `json:"s"`
	Header http.Header `json:"hd,omitempty"`
}

var errBadFrame = errors.New("transport: malformed frame")

// encodeHead builds a head frame: kind, 4-byte head length, head JSON, then optional first body bytes.
func encodeHead(head any, body []byte) (*wrapperspb.BytesValue, error) {
	js, err := json.Marshal(head)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 5, 5+len(js)+len(body))
	buf[0] = kindHead
	binary.BigEndian.PutUint32(buf[1:5], uint32(len(js)))
	buf = append(append(buf, js...), body...)
	return wrapperspb.Bytes(buf), nil
}

// decodeHead parses a head frame into head and returns the body bytes that came with it.
func decodeHead(msg *inFrame, head any) ([]byte, error) {
	b := msg.bytes()
	if len(b) < 5 || b[0] != kindHead {
		return nil, fmt.Errorf("%w: expected a head", errBadFrame)
	}
	n := int(binary.BigEndian.Uint32(b[1:5]))
	if 5+n > len(b) {
		return nil, fmt.Errorf("%w: short head", errBadFrame)
	}
	if err := json.Unmarshal(b[5:5+n], head); err != nil {
		return nil, fmt.Errorf("%w: %v", errBadFrame, err)
	}
	return b[5+n:], nil
}

var endFrame = wrapperspb.Bytes([]byte{kindEnd})

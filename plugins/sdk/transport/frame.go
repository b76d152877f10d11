package transport

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"google.golang.org/grpc"
)

// ServiceName and the method paths of the RPCs every plugin serves: Exchange carries one exchange per
// stream, Lane carries exchanges one after another on a long-lived stream.
const (
	ServiceName  = "vice.transport.v1.Transport"
	exchangePath = "/" + ServiceName + "/Exchange"
	lanePath     = "/" + ServiceName + "/Lane"
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
	// kindLast is data that ends a response on a lane: a 'D' and an 'E' in one message.
	kindLast = 'L'
)

var exchangeDesc = grpc.StreamDesc{
	StreamName:    "Exchange",
	ServerStreams: true,
	ClientStreams: true,
}

var laneDesc = grpc.StreamDesc{
	StreamName:    "Lane",
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
	// Timeout is what remained of the request's deadline when it was sent (0: none). Lanes carry it
	// here; an Exchange stream's deadline is gRPC's own.
	Timeout time.Duration `json:"-"`
}

// responseHead is what the server sends first.
type responseHead struct {
	Status int         `json:"s"`
	Header http.Header `json:"hd,omitempty"`
	// Complete says that the body bytes in the head frame are the whole body: on a lane, no frame of this
	// exchange follows.
	Complete bool `json:"-"`
}

var errBadFrame = errors.New("transport: malformed frame")

// A head frame is the kind byte, the head's length (4 bytes, big endian), the head, then optional first
// body bytes. The head is binary: a format byte (headBinary), a flags byte, the head's fields, then the
// header. A head whose first byte is '{' is JSON, as earlier versions of the transport wrote it; it is
// still read. A client writes JSON heads to a plugin not known to serve lanes (which may predate binary
// heads), and a server answers a JSON head with one.
//
// Binary fields: strings are a uvarint length and the bytes; the header is the number of keys, the total
// number of values, then for each key its name, its number of values and the values.
//
//	request:  method, URL, host, length (zig-zag varint), timeout in ns (uvarint), header
//	response: status (uvarint), header
const headBinary = 0x01

const (
	flagNoBody   = 1 << 0
	flagUpgrade  = 1 << 1
	flagComplete = 1 << 2
)

// rawFrame is a frame the codec sends as it is.
type rawFrame []byte

var endFrame = rawFrame{kindEnd}

// encodeRequestHead builds the head frame of a request, with body as its first body bytes.
func encodeRequestHead(h *requestHead, body []byte, legacy bool) (rawFrame, error) {
	if legacy {
		return encodeJSONHead(h, body)
	}
	var flags byte
	if h.NoBody {
		flags |= flagNoBody
	}
	if h.Upgrade {
		flags |= flagUpgrade
	}
	timeout := max(h.Timeout, 0)
	size := 2 + strSize(h.Method) + strSize(h.URL) + strSize(h.Host) + binary.MaxVarintLen64 +
		uvarintSize(uint64(timeout)) + headerSize(h.Header)
	buf := make([]byte, 5, 5+size+len(body))
	buf[0] = kindHead
	buf = append(buf, headBinary, flags)
	buf = appendStr(buf, h.Method)
	buf = appendStr(buf, h.URL)
	buf = appendStr(buf, h.Host)
	buf = binary.AppendVarint(buf, h.Length)
	buf = binary.AppendUvarint(buf, uint64(timeout))
	buf = appendHeader(buf, h.Header)
	binary.BigEndian.PutUint32(buf[1:5], uint32(len(buf)-5))
	return append(buf, body...), nil
}

// encodeResponseHead builds the head frame of a response, with body as its first body bytes.
func encodeResponseHead(h *responseHead, body []byte, legacy bool) (rawFrame, error) {
	if legacy {
		return encodeJSONHead(h, body)
	}
	var flags byte
	if h.Complete {
		flags |= flagComplete
	}
	size := 2 + binary.MaxVarintLen64 + headerSize(h.Header)
	buf := make([]byte, 5, 5+size+len(body))
	buf[0] = kindHead
	buf = append(buf, headBinary, flags)
	buf = binary.AppendUvarint(buf, uint64(h.Status))
	buf = appendHeader(buf, h.Header)
	binary.BigEndian.PutUint32(buf[1:5], uint32(len(buf)-5))
	return append(buf, body...), nil
}

func encodeJSONHead(head any, body []byte) (rawFrame, error) {
	js, err := json.Marshal(head)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 5, 5+len(js)+len(body))
	buf[0] = kindHead
	binary.BigEndian.PutUint32(buf[1:5], uint32(len(js)))
	return append(append(buf, js...), body...), nil
}

func strSize(s string) int { return uvarintSize(uint64(len(s))) + len(s) }

func uvarintSize(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

func appendStr(buf []byte, s string) []byte {
	return append(binary.AppendUvarint(buf, uint64(len(s))), s...)
}

func headerSize(h http.Header) int {
	n := 2 * binary.MaxVarintLen64
	for k, vs := range h {
		n += strSize(k) + uvarintSize(uint64(len(vs)))
		for _, v := range vs {
			n += strSize(v)
		}
	}
	return n
}

func appendHeader(buf []byte, h http.Header) []byte {
	values := 0
	for _, vs := range h {
		values += len(vs)
	}
	buf = binary.AppendUvarint(buf, uint64(len(h)))
	buf = binary.AppendUvarint(buf, uint64(values))
	for k, vs := range h {
		buf = appendStr(buf, k)
		buf = binary.AppendUvarint(buf, uint64(len(vs)))
		for _, v := range vs {
			buf = appendStr(buf, v)
		}
	}
	return buf
}

// splitHead checks a head frame and returns its head and the body bytes that came with it.
func splitHead(msg *inFrame) (head, body []byte, err error) {
	b := msg.bytes()
	if len(b) < 6 || b[0] != kindHead {
		return nil, nil, fmt.Errorf("%w: expected a head", errBadFrame)
	}
	n := int(binary.BigEndian.Uint32(b[1:5]))
	if n < 1 || 5+n > len(b) {
		return nil, nil, fmt.Errorf("%w: short head", errBadFrame)
	}
	return b[5 : 5+n], b[5+n:], nil
}

// decodeRequestHead parses a request's head frame; legacy reports a JSON head.
func decodeRequestHead(msg *inFrame, h *requestHead) (body []byte, legacy bool, err error) {
	head, body, err := splitHead(msg)
	if err != nil {
		return nil, false, err
	}
	if head[0] == '{' {
		if err := json.Unmarshal(head, h); err != nil {
			return nil, false, fmt.Errorf("%w: %v", errBadFrame, err)
		}
		return body, true, nil
	}
	d, flags, err := newHeadDecoder(head)
	if err != nil {
		return nil, false, err
	}
	h.NoBody = flags&flagNoBody != 0
	h.Upgrade = flags&flagUpgrade != 0
	h.Method = d.str()
	h.URL = d.str()
	h.Host = d.str()
	h.Length = d.varint()
	h.Timeout = time.Duration(d.uvarint())
	h.Header = d.header()
	if err := d.done(); err != nil {
		return nil, false, err
	}
	return body, false, nil
}

// decodeResponseHead parses a response's head frame.
func decodeResponseHead(msg *inFrame, h *responseHead) (body []byte, err error) {
	head, body, err := splitHead(msg)
	if err != nil {
		return nil, err
	}
	if head[0] == '{' {
		if err := json.Unmarshal(head, h); err != nil {
			return nil, fmt.Errorf("%w: %v", errBadFrame, err)
		}
		return body, nil
	}
	d, flags, err := newHeadDecoder(head)
	if err != nil {
		return nil, err
	}
	h.Complete = flags&flagComplete != 0
	status := d.uvarint()
	h.Header = d.header()
	if err := d.done(); err != nil {
		return nil, err
	}
	if status > 999 {
		return nil, fmt.Errorf("%w: status %d", errBadFrame, status)
	}
	h.Status = int(status)
	return body, nil
}

// headDecoder reads a binary head. The head is converted to one string, of which every field is a part.
type headDecoder struct {
	s   string
	i   int
	bad bool
}

func newHeadDecoder(head []byte) (headDecoder, byte, error) {
	if len(head) < 2 || head[0] != headBinary {
		return headDecoder{}, 0, fmt.Errorf("%w: unknown head format", errBadFrame)
	}
	return headDecoder{s: string(head[2:])}, head[1], nil
}

func (d *headDecoder) uvarint() uint64 {
	var v uint64
	for shift := uint(0); shift < 64 && d.i < len(d.s); shift += 7 {
		c := d.s[d.i]
		d.i++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v
		}
	}
	d.bad = true
	return 0
}

func (d *headDecoder) varint() int64 {
	u := d.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

func (d *headDecoder) str() string {
	n := d.uvarint()
	if d.bad || n > uint64(len(d.s)-d.i) {
		d.bad = true
		return ""
	}
	s := d.s[d.i : d.i+int(n)]
	d.i += int(n)
	return s
}

func (d *headDecoder) header() http.Header {
	keys, values := d.uvarint(), d.uvarint()
	// Every key and value takes at least one byte: larger counts are malformed, not a reason to allocate.
	if d.bad || keys > uint64(len(d.s)-d.i) || values > uint64(len(d.s)-d.i) {
		d.bad = true
		return http.Header{}
	}
	h := make(http.Header, keys)
	all := make([]string, values)
	for range keys {
		k := d.str()
		n := d.uvarint()
		if d.bad || n > uint64(len(all)) {
			d.bad = true
			return h
		}
		vs := all[:n:n]
		all = all[n:]
		for i := range vs {
			vs[i] = d.str()
		}
		h[k] = vs
	}
	return h
}

func (d *headDecoder) done() error {
	if d.bad || d.i != len(d.s) {
		return fmt.Errorf("%w: bad head", errBadFrame)
	}
	return nil
}

package transport

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"

	"google.golang.org/grpc/mem"
)

func TestBinaryHeads(t *testing.T) {
	req := &requestHead{
		Method: "POST", URL: "/containers/create?name=a%20b", Host: "plugin",
		Header: http.Header{"Content-Type": {"application/json"}, "X-Multi": {"1", "", "3"}, "X-Empty": {}},
		Length: -1, Upgrade: true, Timeout: 1500 * time.Millisecond,
	}
	msg, err := encodeRequestHead(req, []byte("body"), false)
	if err != nil {
		t.Fatal(err)
	}
	var back requestHead
	body, legacy, err := decodeRequestHead(frameOf(msg), &back)
	if err != nil || legacy || string(body) != "body" {
		t.Fatalf("decode: %q %v %v", body, legacy, err)
	}
	if !reflect.DeepEqual(&back, req) {
		t.Fatalf("request head\n got %+v\nwant %+v", back, *req)
	}
	for _, h := range []*requestHead{{Method: "GET", URL: "/_ping", NoBody: true}, {Method: "GET", URL: "/", Header: http.Header{}}} {
		msg, _ := encodeRequestHead(h, nil, false)
		var back requestHead
		if body, _, err := decodeRequestHead(frameOf(msg), &back); err != nil || len(body) != 0 ||
			back.Method != h.Method || back.URL != h.URL || back.NoBody != h.NoBody || back.Header == nil || len(back.Header) != 0 {
			t.Fatalf("%+v read back as %+v (%v)", h, back, err)
		}
	}

	resp := &responseHead{Status: 404, Header: http.Header{"X-A": {"a", "b"}}, Complete: true}
	msg, _ = encodeResponseHead(resp, []byte(`{"message":"no"}`), false)
	var rback responseHead
	body, err = decodeResponseHead(frameOf(msg), &rback)
	if err != nil || string(body) != `{"message":"no"}` || !reflect.DeepEqual(&rback, resp) {
		t.Fatalf("response head %+v %q %v", rback, body, err)
	}

	// Values appended to one key do not spill into the next.
	rback.Header["X-A"] = append(rback.Header["X-A"], "c")
	if len(rback.Header["X-A"]) != 3 {
		t.Fatal("append")
	}

	// JSON heads, as earlier versions write them, are still read.
	js, _ := json.Marshal(&requestHead{Method: "GET", URL: "/old", Header: http.Header{"A": {"1"}}})
	old := append([]byte{kindHead, 0, 0, 0, 0}, js...)
	binary.BigEndian.PutUint32(old[1:5], uint32(len(js)))
	var oh requestHead
	if _, legacy, err := decodeRequestHead(frameOf(append(old, "tail"...)), &oh); err != nil || !legacy || oh.URL != "/old" || oh.Header.Get("A") != "1" {
		t.Fatalf("JSON head: %+v %v %v", oh, legacy, err)
	}

	// Every truncation of a head, and stray bytes after one, are malformed, never a panic.
	full, _ := encodeRequestHead(req, nil, false)
	for n := 0; n < len(full); n++ {
		cut := append([]byte(nil), full[:n]...)
		if n >= 5 {
			binary.BigEndian.PutUint32(cut[1:5], uint32(n-5))
		}
		var h requestHead
		if _, _, err := decodeRequestHead(frameOf(cut), &h); !errors.Is(err, errBadFrame) {
			t.Fatalf("a head cut to %d bytes: %v", n, err)
		}
	}
	for i := 6; i < len(full); i++ {
		bad := append([]byte(nil), full...)
		bad[i] = 0xff
		var h requestHead
		_, _, _ = decodeRequestHead(frameOf(bad), &h)
	}
}

func frameOf(b []byte) *inFrame {
	f := new(inFrame)
	if err := codec.Unmarshal(mustMarshalFrame(b), f); err != nil {
		panic(err)
	}
	return f
}

func mustMarshalFrame(b []byte) mem.BufferSlice {
	data, err := codec.Marshal(rawFrame(b))
	if err != nil {
		panic(err)
	}
	return mem.BufferSlice{mem.SliceBuffer(data.Materialize())}
}

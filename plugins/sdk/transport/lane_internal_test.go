package transport

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// serveTest serves lane and exchange handlers on an in-process connection and returns a client of it.
func serveTest(t *testing.T, desc *grpc.ServiceDesc, opts ...grpc.ServerOption) *Client {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	s := grpc.NewServer(append(ServerOptions(), opts...)...)
	s.RegisterService(desc, struct{}{})
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	conn, err := grpc.NewClient("passthrough:///test",
		append(DialOptions(),
			grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
			grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return NewClient(conn)
}

func okHandler(served *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		_, _ = io.WriteString(w, "ok "+r.URL.Path)
	})
}

func roundTrip(t *testing.T, c *Client, url string) (string, error) {
	t.Helper()
	resp, err := (&http.Client{Transport: c}).Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// A plugin that predates lanes answers Lane with Unimplemented: the request goes on an Exchange stream,
// with a JSON head as such a plugin reads, and so do the later ones, without asking again.
func TestPluginWithoutLanes(t *testing.T) {
	var laneTries, served atomic.Int64
	oldExchange := func(_ any, stream grpc.ServerStream) error {
		first := new(inFrame)
		if err := stream.RecvMsg(first); err != nil {
			return err
		}
		head, _, err := splitHead(first)
		if err != nil || head[0] != '{' {
			return status.Errorf(codes.InvalidArgument, "an old plugin reads JSON heads only")
		}
		var rh requestHead
		if err := json.Unmarshal(head, &rh); err != nil {
			return err
		}
		served.Add(1)
		js, _ := json.Marshal(&responseHead{Status: 200, Header: http.Header{"X-Old": {"yes"}}})
		msg := append([]byte{kindHead, 0, 0, 0, 0}, js...)
		binary.BigEndian.PutUint32(msg[1:5], uint32(len(js)))
		return stream.SendMsg(wrapperspb.Bytes(append(msg, "old "+rh.URL...)))
	}
	c := serveTest(t, &grpc.ServiceDesc{
		ServiceName: ServiceName,
		HandlerType: (*any)(nil),
		Streams:     []grpc.StreamDesc{{StreamName: "Exchange", ServerStreams: true, ClientStreams: true, Handler: oldExchange}},
	}, grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
		laneTries.Add(1)
		return status.Error(codes.Unimplemented, "unknown method")
	}))
	for i := 0; i < 3; i++ {
		got, err := roundTrip(t, c, "http://plugin/a")
		if err != nil || got != "old /a" {
			t.Fatalf("exchange %d with an old plugin: %q %v", i, got, err)
		}
	}
	if laneTries.Load() != 1 || served.Load() != 3 {
		t.Fatalf("%d lane attempts, %d exchanges served; want 1, 3", laneTries.Load(), served.Load())
	}
}

// An idle lane that the server ended between exchanges is replaced by a fresh one, and the request sent
// again: it never reached the plugin.
func TestIdleLaneEndedBetweenExchanges(t *testing.T) {
	var served atomic.Int64
	h := okHandler(&served)
	oneShot := func(_ any, stream grpc.ServerStream) error {
		head, inline, _, err := recvRequestHead(stream)
		if err != nil {
			return err
		}
		_, err = serveLaneExchange(stream, h, head, inline)
		return err // ends the lane cleanly after one exchange
	}
	c := serveTest(t, &grpc.ServiceDesc{
		ServiceName: ServiceName,
		HandlerType: (*any)(nil),
		Streams:     []grpc.StreamDesc{{StreamName: "Lane", ServerStreams: true, ClientStreams: true, Handler: oneShot}},
	})
	opened := lanesOpened.Load()
	for i := 0; i < 5; i++ {
		if got, err := roundTrip(t, c, "http://plugin/x"); err != nil || got != "ok /x" {
			t.Fatalf("exchange %d: %q %v", i, got, err)
		}
	}
	if served.Load() != 5 || lanesOpened.Load()-opened != 5 {
		t.Fatalf("%d served on %d lanes, want 5 on 5", served.Load(), lanesOpened.Load()-opened)
	}
}

// A lane that breaks after the server read the request is not retried: the request may have run.
func TestBrokenLaneIsNotRetried(t *testing.T) {
	var served, heads atomic.Int64
	h := okHandler(&served)
	breaks := func(_ any, stream grpc.ServerStream) error {
		for {
			head, inline, _, err := recvRequestHead(stream)
			if err != nil {
				return err
			}
			if heads.Add(1) == 2 {
				return status.Error(codes.Unavailable, "broke mid-exchange")
			}
			if _, err := serveLaneExchange(stream, h, head, inline); err != nil {
				return err
			}
		}
	}
	c := serveTest(t, &grpc.ServiceDesc{
		ServiceName: ServiceName,
		HandlerType: (*any)(nil),
		Streams:     []grpc.StreamDesc{{StreamName: "Lane", ServerStreams: true, ClientStreams: true, Handler: breaks}},
	})
	if got, err := roundTrip(t, c, "http://plugin/1"); err != nil || got != "ok /1" {
		t.Fatalf("first: %q %v", got, err)
	}
	if _, err := roundTrip(t, c, "http://plugin/2"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("on the broken lane: %v", err)
	}
	if heads.Load() != 2 {
		t.Fatalf("the server read %d heads, want 2: the failed request was sent again", heads.Load())
	}
	if got, err := roundTrip(t, c, "http://plugin/3"); err != nil || got != "ok /3" {
		t.Fatalf("after: %q %v", got, err)
	}
}

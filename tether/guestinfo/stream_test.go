package guestinfo

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"testing"

	"github.com/vice-engine/vice/tether/wire"
)

// serveFake answers the emulator's protocol from a map, as the emulator answers from extraConfig.
func serveFake(t *testing.T, conn net.Conn, kv map[string]string) {
	t.Helper()
	sc := bufio.NewScanner(conn)
	enc := json.NewEncoder(conn)
	for sc.Scan() {
		var req wire.GuestInfoRequest
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			_ = enc.Encode(wire.GuestInfoReply{Error: err.Error()})
			continue
		}
		switch req.Op {
		case "get":
			v, ok := kv[req.Key]
			_ = enc.Encode(wire.GuestInfoReply{Value: v, Found: ok})
		case "set":
			kv[req.Key] = req.Value
			_ = enc.Encode(wire.GuestInfoReply{Found: true})
		default:
			_ = enc.Encode(wire.GuestInfoReply{Error: "unknown op"})
		}
	}
}

func TestStream(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	kv := map[string]string{"guestinfo.a": "1"}
	done := make(chan struct{})
	go func() {
		defer close(done)
		serveFake(t, b, kv)
	}()
	s := NewStream(a)
	ctx := context.Background()
	if v, found, err := s.Get(ctx, "guestinfo.a"); err != nil || !found || v != "1" {
		t.Fatalf("get: %q %v %v", v, found, err)
	}
	if _, found, err := s.Get(ctx, "guestinfo.b"); err != nil || found {
		t.Fatalf("missing: %v %v", found, err)
	}
	if err := s.Set(ctx, "guestinfo.b", "two words"); err != nil {
		t.Fatal(err)
	}
	a.Close()
	<-done
	if kv["guestinfo.b"] != "two words" {
		t.Fatalf("set stored %q", kv["guestinfo.b"])
	}
}

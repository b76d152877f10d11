package guestinfo

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/vice-engine/vice/tether/wire"
)

// Stream is guestinfo over the hypervisor emulator's socket: one wire.GuestInfoRequest line out, one
// wire.GuestInfoReply line back, one exchange at a time.
type Stream struct {
	mu    sync.Mutex
	conn  io.ReadWriter
	reply *bufio.Reader
}

// NewStream speaks the emulator's protocol on conn.
func NewStream(conn io.ReadWriter) *Stream {
	return &Stream{conn: conn, reply: bufio.NewReader(conn)}
}

// NewEmulator is the emulator's guestinfo socket, inherited as descriptor wire.FDGuestInfo.
func NewEmulator() (*Stream, error) {
	f := os.NewFile(wire.FDGuestInfo, "guestinfo")
	if f == nil {
		return nil, fmt.Errorf("emulator guestinfo: no descriptor %d", wire.FDGuestInfo)
	}
	if _, err := f.Stat(); err != nil {
		return nil, fmt.Errorf("emulator guestinfo: descriptor %d: %w", wire.FDGuestInfo, err)
	}
	return NewStream(f), nil
}

func (s *Stream) exchange(ctx context.Context, req wire.GuestInfoRequest) (wire.GuestInfoReply, error) {
	var reply wire.GuestInfoReply
	if err := ctx.Err(); err != nil {
		return reply, err
	}
	b, err := json.Marshal(req)
	if err != nil {
		return reply, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.conn.Write(append(b, '\n')); err != nil {
		return reply, fmt.Errorf("guestinfo %s %s: %w", req.Op, req.Key, err)
	}
	line, err := s.reply.ReadBytes('\n')
	if err != nil {
		return reply, fmt.Errorf("guestinfo %s %s: %w", req.Op, req.Key, err)
	}
	if err := json.Unmarshal(line, &reply); err != nil {
		return reply, fmt.Errorf("guestinfo %s %s: %w", req.Op, req.Key, err)
	}
	if reply.Error != "" {
		return reply, fmt.Errorf("guestinfo %s %s: %s", req.Op, req.Key, reply.Error)
	}
	return reply, nil
}

// Get implements Client.
func (s *Stream) Get(ctx context.Context, key string) (string, bool, error) {
	r, err := s.exchange(ctx, wire.GuestInfoRequest{Op: "get", Key: key})
	return r.Value, r.Found, err
}

// Set implements Client.
func (s *Stream) Set(ctx context.Context, key, value string) error {
	_, err := s.exchange(ctx, wire.GuestInfoRequest{Op: "set", Key: key, Value: value})
	return err
}

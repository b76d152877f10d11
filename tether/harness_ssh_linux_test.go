package tether_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/vice-engine/vice/tether/wire"
)

// The VCH's side of the harness: the SSH client on the serial line and the emulator's guestinfo server.

// dial connects to the serial line as the VCH does and checks the container ID.
func (g *guest) dial() *ssh.Client {
	g.t.Helper()
	raw := g.dialRaw()
	client := ssh.NewClient(raw.conn, raw.chans, raw.reqs)
	g.t.Cleanup(func() { client.Close() })
	ok, id, err := client.SendRequest(wire.RequestContainerID, true, nil)
	must(g.t, err)
	if !ok || string(id) != g.cfg.ID {
		g.t.Fatalf("container id: ok=%v id=%q, want %q", ok, id, g.cfg.ID)
	}
	return client
}

// rawConn is an SSH client connection before ssh.NewClient takes its channels and requests.
type rawConn struct {
	conn  ssh.Conn
	chans <-chan ssh.NewChannel
	reqs  <-chan *ssh.Request
}

// dialRaw connects to the serial line as the VCH does.
func (g *guest) dialRaw() rawConn {
	g.t.Helper()
	nc, err := net.Dial("unix", g.sock)
	must(g.t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := wire.AwaitGuest(ctx, nc, 10*time.Second)
	must(g.t, err)
	c, chans, reqs, err := ssh.NewClientConn(conn, "serial", &ssh.ClientConfig{
		User: "vch", HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second})
	must(g.t, err)
	return rawConn{c, chans, reqs}
}

// attachment is an open attach channel with everything it received.
type attachment struct {
	ch             ssh.Channel
	mu             sync.Mutex
	stdout, stderr bytes.Buffer
	exit           chan int
	done           sync.WaitGroup
}

func attach(t *testing.T, c *ssh.Client) *attachment {
	t.Helper()
	ch, reqs, err := c.OpenChannel(wire.ChannelAttach, nil)
	must(t, err)
	return newAttachment(ch, reqs)
}

// newAttachment collects what an attach or session channel receives.
func newAttachment(ch ssh.Channel, reqs <-chan *ssh.Request) *attachment {
	a := &attachment{ch: ch, exit: make(chan int, 1)}
	a.done.Add(2)
	go func() { defer a.done.Done(); io.Copy(lockedWriter{&a.mu, &a.stdout}, ch) }()
	go func() { defer a.done.Done(); io.Copy(lockedWriter{&a.mu, &a.stderr}, ch.Stderr()) }()
	go func() {
		for req := range reqs {
			if req.Type == wire.RequestExitStatus {
				var msg struct{ Status uint32 }
				if ssh.Unmarshal(req.Payload, &msg) == nil {
					a.exit <- int(msg.Status)
				}
			}
		}
	}()
	return a
}

// wait returns the exit status once the channel has closed.
func (a *attachment) wait(t *testing.T) int {
	t.Helper()
	select {
	case code := <-a.exit:
		a.done.Wait()
		return code
	case <-time.After(guestWait):
		t.Fatalf("no exit-status on the attach channel")
		return -1
	}
}

func (a *attachment) output() (string, string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stdout.String(), a.stderr.String()
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// guestInfoServer is the emulator's guestinfo: an in-memory extraConfig answering GuestInfoRequest lines.
type guestInfoServer struct {
	mu sync.Mutex
	m  map[string]string
	// refuse fails the sets it returns true for, as a hypervisor that could not apply them.
	refuse func(key, value string) bool
}

func newGuestInfoServer(conn net.Conn, initial map[string]string) *guestInfoServer {
	s := &guestInfoServer{m: initial}
	go func() {
		r := bufio.NewScanner(conn)
		enc := json.NewEncoder(conn)
		for r.Scan() {
			var req wire.GuestInfoRequest
			var reply wire.GuestInfoReply
			switch err := json.Unmarshal(r.Bytes(), &req); {
			case err != nil:
				reply.Error = err.Error()
			case req.Op == "get":
				reply.Value, reply.Found = s.get(req.Key)
			case req.Op == "set":
				s.mu.Lock()
				if s.refuse != nil && s.refuse(req.Key, req.Value) {
					reply.Error = "cannot apply " + req.Key
				} else {
					s.m[req.Key] = req.Value
					reply.Found = true
				}
				s.mu.Unlock()
			default:
				reply.Error = "unknown op " + req.Op
			}
			if err := enc.Encode(reply); err != nil && !errors.Is(err, net.ErrClosed) {
				return
			}
		}
	}()
	return s
}

func (s *guestInfoServer) get(key string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[key]
	return v, ok
}

package tether

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/vice-engine/vice/tether/wire"
)

// TestSerialSessions runs the tether's SSH server on a serial port (a pty in raw mode: the tether's end is
// the slave, the VCH's line the master) as in a real VM. The VCH's line is up before the tether listens; a
// first VCH gets its session, then vanishes without a word, as a VCH that restarts does on a serial line;
// a second VCH on the same line gets a new session: its pokes end the stale one, and the tether offers again.
func TestSerialSessions(t *testing.T) {
	master, slave, err := openPTY() // the master stays non-blocking, so its reads take deadlines
	if err != nil {
		t.Fatal(err)
	}
	line := &ptyLine{File: master}
	port, err := openSerialPort(slave.Name(), os.O_RDWR)
	slave.Close()
	if err != nil {
		t.Fatal(err)
	}
	const id = "3f1c9a0b5d2e4f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8"
	srv, err := newSSHServer(slog.New(slog.DiscardHandler), id, nil, nil)
	if err != nil {
		t.Fatal(err)
	}

	// The VCH waits on the line before the tether has the port open.
	type result struct {
		s   *vchSession
		err error
	}
	first := make(chan result, 1)
	go func() {
		s, err := connectVCH(line)
		first <- result{s, err}
	}()
	time.Sleep(200 * time.Millisecond)

	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	l := newSerialListener(port)
	go func() { served <- srv.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		<-served
		port.Close()
		master.Close()
	})

	r := <-first
	if r.err != nil {
		t.Fatalf("first VCH: %v", r.err)
	}
	r.s.abandon()

	start := time.Now()
	second, err := connectVCH(line)
	if err != nil {
		t.Fatalf("second VCH: %v", err)
	}
	t.Logf("the second VCH has its session after %v", time.Since(start).Round(10*time.Millisecond))
	second.abandon()
}

// vchSession is the VCH's SSH session on the line; abandon drops it without a word to the tether.
type vchSession struct {
	conn    ssh.Conn
	session *testLineSession
}

// connectVCH does what the VCH's attach listener does on a line: it waits for the tether's offer, makes the
// SSH connection and asks the container's ID.
func connectVCH(line net.Conn) (*vchSession, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := wire.AwaitGuest(ctx, line, 10*time.Second)
	if err != nil {
		return nil, err
	}
	s := &testLineSession{Conn: c}
	conn, chans, reqs, err := ssh.NewClientConn(s, "serial", &ssh.ClientConfig{
		User: "vch", HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second})
	if err != nil {
		s.Close()
		return nil, err
	}
	go ssh.DiscardRequests(reqs)
	go func() {
		for nch := range chans {
			_ = nch.Reject(ssh.Prohibited, "")
		}
	}()
	ok, payload, err := conn.SendRequest(wire.RequestContainerID, true, nil)
	if err != nil || !ok || len(payload) == 0 {
		conn.Close()
		return nil, fmt.Errorf("container ID: %v %v %q", ok, err, payload)
	}
	return &vchSession{conn: conn, session: s}, nil
}

func (v *vchSession) abandon() { v.conn.Close() }

// testLineSession is a session's use of the line: closing it stops the session's reads and writes and leaves
// the line open, sending nothing.
type testLineSession struct {
	net.Conn
	mu     sync.Mutex
	closed bool
	active sync.WaitGroup
	once   sync.Once
}

func (s *testLineSession) use() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.active.Add(1)
	}
	return !s.closed
}

func (s *testLineSession) Read(p []byte) (int, error) {
	if !s.use() {
		return 0, net.ErrClosed
	}
	defer s.active.Done()
	return s.Conn.Read(p)
}

func (s *testLineSession) Write(p []byte) (int, error) {
	if !s.use() {
		return 0, net.ErrClosed
	}
	defer s.active.Done()
	return s.Conn.Write(p)
}

func (s *testLineSession) Close() error {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		_ = s.Conn.SetDeadline(time.Unix(1, 0))
		s.active.Wait()
		_ = s.Conn.SetDeadline(time.Time{})
	})
	return nil
}

// ptyLine is the pty's master as the VCH's network connection.
type ptyLine struct{ *os.File }

func (ptyLine) LocalAddr() net.Addr  { return serialAddr("vch") }
func (ptyLine) RemoteAddr() net.Addr { return serialAddr("vm") }

var _ io.ReadWriteCloser = ptyLine{}

package wire

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// uart stands for a VM's serial port behind a network backing: the VCH's connection is up from power-on,
// but what arrives for the guest before it opens the port is lost; what the guest (or its firmware) writes
// goes out at once.
type uart struct {
	vch    net.Conn // the VCH's end of the connection
	guest  net.Conn // the guest's end of the port
	open   atomic.Bool
	lostMu sync.Mutex
	lost   []byte
}

func newUART(t *testing.T) *uart {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	vm, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	vch, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	port, guest := net.Pipe()
	u := &uart{vch: vch, guest: guest}
	t.Cleanup(func() { vm.Close(); vch.Close(); port.Close(); guest.Close() })
	go func() { _, _ = io.Copy(vm, port) }()
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := vm.Read(buf)
			if n > 0 {
				if u.open.Load() {
					if _, werr := port.Write(buf[:n]); werr != nil {
						return
					}
				} else {
					u.lostMu.Lock()
					u.lost = append(u.lost, buf[:n]...)
					u.lostMu.Unlock()
				}
			}
			if err != nil {
				return
			}
		}
	}()
	return u
}

// TestSerialSync: the VCH's line is up long before the guest listens, and the guest's firmware writes on
// it first; the VCH sends nothing that matters until the guest offers a session, and each side's SSH begins
// with the other's first byte.
func TestSerialSync(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u := newUART(t)

	type result struct {
		c   net.Conn
		err error
	}
	vchSide := make(chan result, 1)
	go func() {
		c, err := AwaitGuest(ctx, u.vch, 10*time.Second)
		vchSide <- result{c, err}
	}()
	// The machine boots: its firmware writes on the port, nobody reads it yet.
	if _, err := io.WriteString(u.guest, "SeaBIOS (version 1.16)\r\nBooting from DVD/CD...\r\nvice-init: loading modules\r\n"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	select {
	case r := <-vchSide:
		t.Fatalf("the VCH went ahead before the guest offered a session: %v", r.err)
	default:
	}

	u.open.Store(true) // the tether opens the port
	guest, err := AwaitVCH(ctx, u.guest)
	if err != nil {
		t.Fatal(err)
	}
	// The tether's SSH begins at once; the VCH's starts once it has read the tether's banner.
	go func() { _, _ = io.WriteString(guest, "SSH-2.0-tether\r\n") }()
	r := <-vchSide
	if r.err != nil {
		t.Fatal(r.err)
	}
	// Both SSH version lines cross intact, nothing before them.
	line, err := bufio.NewReader(r.c).ReadString('\n')
	if err != nil || line != "SSH-2.0-tether\r\n" {
		t.Errorf("the VCH read %q (%v), want the tether's banner first", line, err)
	}
	go func() { _, _ = io.WriteString(r.c, "SSH-2.0-vch\r\n") }()
	line, err = bufio.NewReader(guest).ReadString('\n')
	if err != nil || line != "SSH-2.0-vch\r\n" {
		t.Errorf("the tether read %q (%v), want the VCH's banner first", line, err)
	}
	u.lostMu.Lock()
	lost := string(u.lost)
	u.lostMu.Unlock()
	if strings.Contains(lost, "SSH") || strings.Contains(lost, SerialGo) {
		t.Errorf("the VCH spoke before the port was open: %q was lost", lost)
	}
}

// TestSerialSyncLostAnswer: a guest that offered a session and never started SSH (the answer was lost, or the
// guest restarted) is waited for again on the same line, and its next offer is taken.
func TestSerialSyncLostAnswer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u := newUART(t)
	u.open.Store(true)
	vchSide := make(chan net.Conn, 1)
	go func() {
		c, err := AwaitGuest(ctx, u.vch, 500*time.Millisecond)
		if err != nil {
			t.Error(err)
		}
		vchSide <- c
	}()
	// An offer whose answer goes unread.
	if _, err := io.WriteString(u.guest, SerialReady); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len(SerialGo))
	if _, err := io.ReadFull(u.guest, buf); err != nil || string(buf) != SerialGo {
		t.Fatalf("answer %q %v", buf, err)
	}
	time.Sleep(time.Second) // past the wait for the banner
	guest, err := AwaitVCH(ctx, u.guest)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.WriteString(guest, "SSH-2.0-tether\r\n") }()
	c := <-vchSide
	if c == nil {
		t.FailNow()
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "SSH-2.0-tether\r\n" {
		t.Errorf("the VCH read %q (%v)", line, err)
	}
}

// TestSerialSyncEnds: either end's wait stops with its context.
func TestSerialSyncEnds(t *testing.T) {
	u := newUART(t)
	for name, await := range map[string]func(context.Context) error{
		"vch":   func(ctx context.Context) error { _, err := AwaitGuest(ctx, u.vch, time.Second); return err },
		"guest": func(ctx context.Context) error { _, err := AwaitVCH(ctx, u.guest); return err },
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := await(ctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: %v, want the context's end", name, err)
		}
	}
}

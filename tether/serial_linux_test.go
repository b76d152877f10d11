package tether

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/creack/pty"
)

// A pty stands for the VM's serial port: the tether's end is the slave, the VCH's the master.
func TestSerialListener(t *testing.T) {
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	// The platform opens the port by its path.
	port, err := openSerialPort(slave.Name(), os.O_RDWR)
	slave.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	l := newSerialListener(port)
	defer l.Close()

	c1, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	second := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			t.Error(err)
		}
		second <- c
	}()
	if _, err := master.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c1, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("read %q %v", buf, err)
	}
	select {
	case <-second:
		t.Fatal("a second session while the first is open")
	case <-time.After(100 * time.Millisecond):
	}

	// A read blocked on the line is woken when its session closes; the port serves the next session.
	blocked := make(chan error, 1)
	go func() {
		_, err := c1.Read(buf)
		blocked <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := c1.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-blocked:
		if err == nil {
			t.Error("the blocked read returned data")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("closing the session left its read blocked")
	}
	if _, err := c1.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("write after close: %v", err)
	}
	var c2 net.Conn
	select {
	case c2 = <-second:
	case <-time.After(5 * time.Second):
		t.Fatal("no second session")
	}
	if _, err := c2.Write([]byte("pong")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(master, buf); err != nil || string(buf) != "pong" {
		t.Fatalf("master read %q %v", buf, err)
	}
	c2.Close()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("accept after close: %v", err)
	}
}

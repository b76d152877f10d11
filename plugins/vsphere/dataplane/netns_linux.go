package dataplane

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// Namespace is the network namespace of the endpoint's NICs: one opened from a path, or the process's own.
type Namespace struct {
	f *os.File // nil: the process's own
}

// OpenNamespace opens the namespace at path; an empty path is the process's own namespace.
func OpenNamespace(path string) (*Namespace, error) {
	if path == "" {
		return &Namespace{}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("the NICs' network namespace: %w", err)
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil || st.Type != unix.NSFS_MAGIC {
		f.Close()
		return nil, fmt.Errorf("%s is not a network namespace", path)
	}
	return &Namespace{f: f}, nil
}

// Close closes the namespace's file.
func (n *Namespace) Close() error {
	if n.f == nil {
		return nil
	}
	return n.f.Close()
}

// Fd is the namespace's descriptor, or -1 for the process's own.
func (n *Namespace) Fd() int {
	if n.f == nil {
		return -1
	}
	return int(n.f.Fd())
}

// Do runs fn with the calling goroutine's thread in the namespace: sockets fn makes belong to it for good.
// fn runs on a thread of its own, which is ended rather than reused if it cannot return to its namespace.
func (n *Namespace) Do(fn func() error) error {
	if n.f == nil {
		return fn()
	}
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		host, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			ch <- err
			return
		}
		defer host.Close()
		if err := unix.Setns(int(n.f.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- fmt.Errorf("enter the NICs' network namespace: %w", err)
			return
		}
		err = fn()
		if unix.Setns(int(host.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		ch <- err
	}()
	return <-ch
}

// Dial connects to addr from the namespace.
func (n *Namespace) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := n.Do(func() error {
		var d net.Dialer
		var err error
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// ListenTCP listens on addr in the namespace.
func (n *Namespace) ListenTCP(addr string) (net.Listener, error) {
	var l net.Listener
	err := n.Do(func() error {
		var err error
		l, err = net.Listen("tcp4", addr)
		return err
	})
	return l, err
}

// ListenUDP listens on addr in the namespace.
func (n *Namespace) ListenUDP(addr string) (net.PacketConn, error) {
	var c net.PacketConn
	err := n.Do(func() error {
		var err error
		c, err = net.ListenPacket("udp4", addr)
		return err
	})
	return c, err
}

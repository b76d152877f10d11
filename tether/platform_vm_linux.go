package tether

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vice-engine/vice/tether/guestinfo"
	"github.com/vice-engine/vice/tether/wire"
)

// vmPlatform is a real containerVM: guestinfo through the VMware backdoor (or QEMU's fw_cfg and virtio
// port), the VCH line and the logs on serial ports in the order tether/wire gives. The ports are opened
// at once, while /dev is the machine's: the container's root gets a /dev of its own.
type vmPlatform struct {
	info      guestinfo.Client
	serial    *os.File
	outputLog *os.File
	debugLog  *os.File
}

func newVMPlatform() (*vmPlatform, error) {
	info, err := guestinfo.NewVM()
	if err != nil {
		return nil, err
	}
	p := &vmPlatform{info: info}
	for _, port := range []struct {
		f    **os.File
		path string
		flag int
	}{
		{&p.serial, wire.SerialDevice, os.O_RDWR},
		{&p.outputLog, wire.OutputLogDevice, os.O_WRONLY},
		{&p.debugLog, wire.DebugLogDevice, os.O_WRONLY},
	} {
		f, err := openSerialPort(port.path, port.flag)
		if err != nil {
			p.close()
			return nil, err
		}
		*port.f = f
	}
	return p, nil
}

func (p *vmPlatform) close() {
	for _, f := range []*os.File{p.serial, p.outputLog, p.debugLog} {
		if f != nil {
			f.Close()
		}
	}
}

func (p *vmPlatform) GuestInfo(ctx context.Context, key string) (string, bool, error) {
	return p.info.Get(ctx, key)
}

func (p *vmPlatform) SetGuestInfo(ctx context.Context, key, value string) error {
	return p.info.Set(ctx, key, value)
}

func (p *vmPlatform) Serial() (net.Listener, error) {
	return newSerialListener(p.serial), nil
}

func (p *vmPlatform) OutputLog() io.Writer { return p.outputLog }
func (p *vmPlatform) DebugLog() io.Writer  { return p.debugLog }

// PowerOff flushes the disks and halts the VM; vSphere records the power state and the VCH sees it.
func (p *vmPlatform) PowerOff() error {
	unix.Sync()
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
		return fmt.Errorf("power off: %w", err)
	}
	return nil
}

// openSerialPort opens a serial port in raw mode, so bytes pass untranslated (no CR/LF mapping, no echo).
// The descriptor stays non-blocking (no File.Fd, which would make it blocking), so deadlines wake reads.
func openSerialPort(path string, flag int) (*os.File, error) {
	f, err := os.OpenFile(path, flag|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("serial port: %w", err)
	}
	if err := control(f, makeRaw); err != nil {
		f.Close()
		return nil, fmt.Errorf("serial port %s: %w", path, err)
	}
	return f, nil
}

// makeRaw is cfmakeraw(3).
func makeRaw(fd int) error {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}

// serialListener hands out the serial port as one connection at a time: when the SSH session on it ends,
// the port serves the next one, as the emulator's listening socket accepts again.
type serialListener struct {
	port   *os.File
	free   chan struct{}
	closed chan struct{}
	once   sync.Once
}

func newSerialListener(port *os.File) *serialListener {
	l := &serialListener{port: port, free: make(chan struct{}, 1), closed: make(chan struct{})}
	l.free <- struct{}{}
	return l
}

func (l *serialListener) Accept() (net.Conn, error) {
	select {
	case <-l.free:
	case <-l.closed:
		return nil, net.ErrClosed
	}
	select {
	case <-l.closed: // both were ready
		l.free <- struct{}{}
		return nil, net.ErrClosed
	default:
	}
	_ = l.port.SetDeadline(time.Time{})
	return &serialConn{port: l.port, release: func() { l.free <- struct{}{} }}, nil
}

func (l *serialListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *serialListener) Addr() net.Addr { return serialAddr(l.port.Name()) }

// serialConn is one session's use of the serial port, dressed as a net.Conn for the SSH server. Closing
// it leaves the port open: reads and writes under way are woken, whatever the line still holds is
// discarded, and the port goes back to the listener.
type serialConn struct {
	port    *os.File
	mu      sync.Mutex
	closed  bool
	active  sync.WaitGroup
	release func()
}

func (c *serialConn) begin() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return net.ErrClosed
	}
	c.active.Add(1)
	return nil
}

func (c *serialConn) Read(b []byte) (int, error) {
	if err := c.begin(); err != nil {
		return 0, err
	}
	defer c.active.Done()
	return c.port.Read(b)
}

func (c *serialConn) Write(b []byte) (int, error) {
	if err := c.begin(); err != nil {
		return 0, err
	}
	defer c.active.Done()
	return c.port.Write(b)
}

func (c *serialConn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	_ = c.port.SetDeadline(time.Unix(1, 0)) // wakes what is blocked on the port
	c.active.Wait()
	_ = control(c.port, func(fd int) error { return unix.IoctlSetInt(fd, unix.TCFLSH, unix.TCIOFLUSH) })
	c.release()
	return nil
}

func (c *serialConn) SetDeadline(t time.Time) error      { return c.port.SetDeadline(t) }
func (c *serialConn) SetReadDeadline(t time.Time) error  { return c.port.SetReadDeadline(t) }
func (c *serialConn) SetWriteDeadline(t time.Time) error { return c.port.SetWriteDeadline(t) }
func (c *serialConn) LocalAddr() net.Addr                { return serialAddr(c.port.Name()) }
func (c *serialConn) RemoteAddr() net.Addr               { return serialAddr("vch") }

type serialAddr string

func (a serialAddr) Network() string { return "serial" }
func (a serialAddr) String() string  { return string(a) }

package tether

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/vice-engine/vice/tether/guestinfo"
	"github.com/vice-engine/vice/tether/wire"
)

// vmPlatform is a real containerVM: guestinfo through the VMware backdoor, the VCH line and the logs on
// serial ports in the order tether/wire gives.
type vmPlatform struct {
	info      *guestinfo.Backdoor
	outputLog *os.File
	debugLog  *os.File
}

func newVMPlatform() (*vmPlatform, error) {
	out, err := openSerialPort(wire.OutputLogDevice, os.O_WRONLY)
	if err != nil {
		return nil, err
	}
	dbg, err := openSerialPort(wire.DebugLogDevice, os.O_WRONLY)
	if err != nil {
		out.Close()
		return nil, err
	}
	return &vmPlatform{info: guestinfo.NewBackdoor(), outputLog: out, debugLog: dbg}, nil
}

func (p *vmPlatform) GuestInfo(ctx context.Context, key string) (string, bool, error) {
	return p.info.Get(ctx, key)
}

func (p *vmPlatform) SetGuestInfo(ctx context.Context, key, value string) error {
	return p.info.Set(ctx, key, value)
}

func (p *vmPlatform) Serial() (net.Listener, error) {
	return newSerialListener(wire.SerialDevice), nil
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
func openSerialPort(path string, flag int) (*os.File, error) {
	f, err := os.OpenFile(path, flag|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("serial port: %w", err)
	}
	if err := makeRaw(int(f.Fd())); err != nil {
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
// the port is reopened for the next one, as the emulator's listening socket accepts again.
type serialListener struct {
	path   string
	free   chan struct{}
	closed chan struct{}
	once   sync.Once
}

func newSerialListener(path string) *serialListener {
	l := &serialListener{path: path, free: make(chan struct{}, 1), closed: make(chan struct{})}
	l.free <- struct{}{}
	return l
}

func (l *serialListener) Accept() (net.Conn, error) {
	select {
	case <-l.free:
	case <-l.closed:
		return nil, net.ErrClosed
	}
	f, err := openSerialPort(l.path, os.O_RDWR)
	if err != nil {
		l.free <- struct{}{}
		return nil, err
	}
	return &serialConn{File: f, release: func() { l.free <- struct{}{} }}, nil
}

func (l *serialListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *serialListener) Addr() net.Addr { return serialAddr(l.path) }

// serialConn is an open serial port dressed as a net.Conn for the SSH server.
type serialConn struct {
	*os.File
	once    sync.Once
	release func()
}

func (c *serialConn) Close() error {
	err := c.File.Close()
	c.once.Do(c.release)
	return err
}

func (c *serialConn) LocalAddr() net.Addr  { return serialAddr(c.Name()) }
func (c *serialConn) RemoteAddr() net.Addr { return serialAddr("vch") }

type serialAddr string

func (a serialAddr) Network() string { return "serial" }
func (a serialAddr) String() string  { return string(a) }

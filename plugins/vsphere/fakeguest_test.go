package vsphere

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
	"golang.org/x/crypto/ssh"

	"github.com/vice-engine/vice/tether/wire"
)

// fakeGuest stands in for a containerVM's guest until the hypervisor emulator and the tether exist: it
// writes the guest's status into extraConfig through the simulator's API, as the emulator would for the
// tether, and dials the attach listener with a minimal SSH server speaking the wire conventions. It covers
// the VCH side only; the real tether is not exercised here.
type fakeGuest struct {
	t   *testing.T
	c   *vim25.Client
	ref types.ManagedObjectReference
	id  string

	mu       sync.Mutex
	boot     int
	signals  []string
	sizes    [][2]uint32 // cols, rows
	attaches []ssh.Channel
	conn     *ssh.ServerConn
	// onSignal runs for every signal the control channel receives (in its own goroutine).
	onSignal func(name string)
	// notify sends a status notice (wire.RequestStatus) on the line after each status write, as the tether does.
	notify bool
	// pending makes the boot tell of the process's start with a pending notice (pid 7) instead of writing
	// "running", as the tether does for a process that has not run for long yet.
	pending bool
}

func newFakeGuest(t *testing.T, c *vim25.Client, vm, id string) *fakeGuest {
	var ref types.ManagedObjectReference
	if !ref.FromString(vm) {
		t.Fatalf("bad VM reference %q", vm)
	}
	return &fakeGuest{t: t, c: c, ref: ref, id: id}
}

// bootWhenOn waits (polling: this is the test's stand-in for the hypervisor) for the VM to be powered on,
// then reports the process running for the current boot and connects the serial line to addr.
func (g *fakeGuest) bootWhenOn(ctx context.Context, addr string) <-chan error {
	errc := make(chan error, 1)
	go func() {
		for {
			var m mo.VirtualMachine
			if err := object.NewVirtualMachine(g.c, g.ref).Properties(ctx, g.ref, []string{"runtime.powerState", "config.extraConfig"}, &m); err != nil {
				errc <- err
				return
			}
			if m.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn {
				for _, ov := range m.Config.ExtraConfig {
					if o := ov.GetOptionValue(); o.Key == keyBoot {
						g.boot, _ = strconv.Atoi(o.Value.(string))
					}
				}
				break
			}
			select {
			case <-ctx.Done():
				errc <- ctx.Err()
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
		if err := g.dial(addr); err != nil {
			errc <- err
			return
		}
		if g.pending {
			b, _ := json.Marshal(wire.StatusNotice{State: wire.StateRunning, Boot: g.boot, Pending: true, Pid: 7,
				StartedAt: pendingStart})
			errc <- g.notice(b)
			return
		}
		errc <- g.setStatus(ctx, wire.GuestStatus{State: wire.StateRunning, Pid: 1, StartedAt: time.Now().UTC()})
	}()
	return errc
}

// pendingStart is the start time a pending notice of the fake guest gives.
var pendingStart = time.Date(2026, 12, 5, 1, 2, 3, 0, time.UTC)

// setStatus writes wire.KeyStatus for the current boot, as the tether does through guestinfo.
func (g *fakeGuest) setStatus(ctx context.Context, st wire.GuestStatus) error {
	st.Boot = g.boot
	data, _ := json.Marshal(st)
	task, err := object.NewVirtualMachine(g.c, g.ref).Reconfigure(ctx, types.VirtualMachineConfigSpec{
		ExtraConfig: []types.BaseOptionValue{&types.OptionValue{Key: wire.KeyStatus, Value: string(data)}},
	})
	if err != nil {
		return err
	}
	if err := task.Wait(ctx); err != nil {
		return err
	}
	if g.notify {
		b, _ := json.Marshal(wire.StatusNotice{State: st.State, Boot: st.Boot})
		return g.notice(b)
	}
	return nil
}

// notice sends a status notice with payload on the line, as the tether does once a status is written.
func (g *fakeGuest) notice(payload []byte) error {
	g.mu.Lock()
	conn := g.conn
	g.mu.Unlock()
	if conn == nil {
		return nil // no line yet: the tether's notice waits for one
	}
	_, _, err := conn.SendRequest(wire.RequestStatus, false, payload)
	return err
}

// dial connects to the attach listener and serves SSH on that connection, as the tether does on its line.
func (g *fakeGuest) dial(addr string) error {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	line, err := wire.AwaitVCH(ctx, nc)
	if err != nil {
		nc.Close()
		return err
	}
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := ssh.NewSignerFromKey(priv)
	cfg := &ssh.ServerConfig{NoClientAuth: true}
	cfg.AddHostKey(signer)
	conn, chans, reqs, err := ssh.NewServerConn(line, cfg)
	if err != nil {
		return err
	}
	g.mu.Lock()
	g.conn = conn
	g.mu.Unlock()
	g.t.Cleanup(func() { conn.Close() })
	go func() {
		for r := range reqs {
			_ = r.Reply(r.Type == wire.RequestContainerID, []byte(g.id))
		}
	}()
	go func() {
		for nch := range chans {
			switch nch.ChannelType() {
			case wire.ChannelAttach:
				ch, creqs, err := nch.Accept()
				if err == nil {
					go ssh.DiscardRequests(creqs)
					go g.serveAttach(ch)
				}
			case wire.ChannelControl:
				ch, creqs, err := nch.Accept()
				if err == nil {
					go g.serveControl(ch, creqs)
				}
			default:
				_ = nch.Reject(ssh.UnknownChannelType, "unknown")
			}
		}
	}()
	return nil
}

// serveAttach greets on both streams, then echoes stdin to stdout.
func (g *fakeGuest) serveAttach(ch ssh.Channel) {
	g.mu.Lock()
	g.attaches = append(g.attaches, ch)
	g.mu.Unlock()
	_, _ = ch.Write([]byte("hello\n"))
	_, _ = ch.Stderr().Write([]byte("oops\n"))
	_, _ = io.Copy(ch, ch)
}

func (g *fakeGuest) serveControl(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	for r := range reqs {
		switch r.Type {
		case wire.RequestSignal:
			var p struct{ Signal string }
			ok := ssh.Unmarshal(r.Payload, &p) == nil
			g.mu.Lock()
			g.signals = append(g.signals, p.Signal)
			on := g.onSignal
			g.mu.Unlock()
			_ = r.Reply(ok, nil)
			if on != nil {
				go on(p.Signal)
			}
		case wire.RequestWindowChange:
			var p struct{ Cols, Rows, W, H uint32 }
			ok := ssh.Unmarshal(r.Payload, &p) == nil
			g.mu.Lock()
			g.sizes = append(g.sizes, [2]uint32{p.Cols, p.Rows})
			g.mu.Unlock()
			_ = r.Reply(ok, nil)
		default:
			_ = r.Reply(false, nil)
		}
	}
}

// exit reports the process's end: the status in guestinfo, then exit-status on every attach channel.
func (g *fakeGuest) exit(ctx context.Context, code int) error {
	if err := g.setStatus(ctx, wire.GuestStatus{State: wire.StateExited, ExitCode: code, FinishedAt: time.Now().UTC()}); err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, ch := range g.attaches {
		_, _ = ch.SendRequest(wire.RequestExitStatus, false, ssh.Marshal(struct{ Status uint32 }{uint32(code)}))
		ch.Close()
	}
	return nil
}

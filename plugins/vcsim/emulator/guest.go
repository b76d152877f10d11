package emulator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/tether/wire"
)

// powerOffTimeout bounds the power-off the emulator asks for when a guest halts.
const powerOffTimeout = 30 * time.Second

// guest is one boot of a containerVM: from power-on to halt or kill, and the cleanup after.
type guest struct {
	e    *Emulator
	vm   types.ManagedObjectReference
	log  *slog.Logger
	prev *guest // the VM's previous boot, which must be cleaned up before this one uses the VM's files

	ctx     context.Context // ends when the guest halts or is stopped
	cancel  context.CancelCauseFunc
	stopped atomic.Bool // the VM is no longer on (or the emulator closes): no power-off is needed
	done    chan struct{}

	// The guest's cgroups, once booted, and whether its VM is suspended (pause.go).
	cgMu        sync.Mutex
	cg          *guestCgroup
	paused      bool
	cpus, memMB int64 // the size its cgroups bound it to

	// The guest's network namespace and vNICs, once booted (guest_net.go).
	netMu sync.Mutex
	net   *vmNet
	// nicsChanged is set when the VM's vNICs changed while the guest had no network yet (netMu).
	nicsChanged bool
}

func newGuest(e *Emulator, vm types.ManagedObjectReference, prev *guest) *guest {
	ctx, cancel := context.WithCancelCause(e.ctx)
	return &guest{
		e: e, vm: vm, prev: prev, ctx: ctx, cancel: cancel, done: make(chan struct{}),
		log: e.log.With("vmID", vm.Value),
	}
}

// stopping reports whether this boot is over or ending, so a new power-on needs a new guest.
func (g *guest) stopping() bool { return g.ctx.Err() != nil }

// stop kills the guest because the VM left the powered-on state.
func (g *guest) stop(why string) {
	if g.stopped.CompareAndSwap(false, true) {
		g.cancel(errors.New(why))
	}
}

// run boots the guest, waits for it to end and, when it ended by itself, powers the VM off as a halting
// guest would.
func (g *guest) run() {
	defer close(g.done)
	if g.prev != nil {
		<-g.prev.done
	}
	if g.ctx.Err() != nil {
		return
	}
	err := g.boot()
	switch {
	case errors.Is(err, errPlainVM):
		g.log.Debug("VM powered on; not a containerVM, left alone", "reason", err)
		return
	case g.stopped.Load() || g.e.ctx.Err() != nil:
		g.log.Info("guest stopped", "why", context.Cause(g.ctx), "err", err)
		return
	case err != nil:
		g.log.Error("guest failed; powering the VM off", "err", err)
	}
	g.powerOff()
}

// boot reads the VM's configuration, prepares and starts the guest, and returns when it has ended and
// everything it used is released.
func (g *guest) boot() error {
	sw := newStopwatch()
	vm, err := g.e.readVM(g.ctx, g.vm)
	if err != nil {
		return fmt.Errorf("read the VM's configuration: %w", err)
	}
	sw.lap("readVM")
	l, err := parseLayout(vm)
	if err != nil {
		return err
	}
	if l.appliance {
		return g.bootAppliance(l)
	}
	g.log = g.log.With("vm", l.name, "container", l.containerID)
	// The network namespace and its vNICs are made while the disks and devices are: neither needs the other.
	type netResult struct {
		vnet *vmNet
		err  error
		took time.Duration
	}
	var devices []types.BaseVirtualDevice
	if vm.Config != nil {
		devices = vm.Config.Hardware.Device
	}
	netDone := make(chan netResult, 1)
	go func() {
		began := time.Now()
		v, err := g.startNet(devices)
		netDone <- netResult{v, err, time.Since(began)}
	}()
	// So are the guest's cgroups (a cgroup made in each hierarchy: 0.5 ms, tens while the kernel is busy).
	type cgResult struct {
		cg   *guestCgroup
		took time.Duration
	}
	cgDone := make(chan cgResult, 1)
	go func() {
		began := time.Now()
		cg := g.makeCgroup(l)
		cgDone <- cgResult{cg, time.Since(began)}
	}()
	m, err := g.prepare(l, sw)
	cr := <-cgDone
	if err != nil {
		if cr.cg != nil {
			g.removeCgroup(cr.cg)
		}
		if nr := <-netDone; nr.err == nil {
			g.stopNet()
		}
		return err
	}
	defer m.release(g.log)
	// The VM's serial port connects as it powers on, as ESXi's does, long before the tether listens: the
	// guest's socket takes the connection now, and the tether accepts it when it serves the line, without
	// waiting for this dial then (the line is what an attached run waits for). It is hung up before the
	// guest's files are released.
	if l.serialURI != "" {
		sctx, hangUp := context.WithCancel(g.ctx)
		lineDone := make(chan struct{})
		go func() {
			defer close(lineDone)
			runSerial(sctx, g.log, l.serialURI, m.serialSock)
		}()
		defer func() {
			hangUp()
			<-lineDone
		}()
	}
	if cr.cg != nil {
		defer g.removeCgroup(cr.cg)
		m.spec.cgroup = cr.cg
		m.spec.env = append(m.spec.env, wire.CgroupEnv+"=1")
	}
	sw.lap("cgroupWait")
	sw.note("cgroup", cr.took)
	nr := <-netDone
	if nr.err != nil {
		return nr.err
	}
	defer g.stopNet()
	m.spec.netns = nr.vnet.ns
	sw.lap("networkWait")
	sw.note("network", nr.took)

	proc, err := startGuest(m.spec)
	m.closeGuestEnds() // the child has its copies; ours would keep the guestinfo socket from ending
	if err != nil {
		return fmt.Errorf("start the tether: %w", err)
	}
	sw.lap("start")
	g.e.net.refill() // the spare network namespace taken is made again now, not while the guest started
	sw.log(g.log, "boot steps")
	g.log.Info("guest booted", "pid", proc.Process.Pid, "root", m.spec.root, "layers", len(m.spec.lower))
	g.supervise(proc, m.info)
	return nil
}

// supervise serves the guest's guestinfo and runs each of devices until the guest ends,
// by itself or because the VM left the powered-on state, in which case it is killed.
func (g *guest) supervise(proc *exec.Cmd, info net.Conn, devices ...func()) {
	var wg sync.WaitGroup
	wg.Go(func() { g.serveGuestInfo(info) })
	for _, run := range devices {
		wg.Go(run)
	}

	exited := make(chan error, 1)
	go func() { exited <- proc.Wait() }()
	var werr error
	select {
	case werr = <-exited:
		g.cancel(errors.New("guest halted"))
	case <-g.ctx.Done():
		g.thawToKill() // a frozen process would not die until thawed
		_ = killGuest(proc)
		werr = <-exited
	}
	// PID 1 is gone, so is every process of its namespace: the guestinfo stream ends after what the guest
	// wrote last (its exit status), which is applied before the VM is powered off.
	wg.Wait()
	g.log.Info("guest ended", "exit", exitDescription(proc.ProcessState, werr))
}

// powerOff turns the VM off in the simulator after its guest halted. A VM that is off already is fine:
// someone else was quicker.
func (g *guest) powerOff() {
	ctx, cancel := context.WithTimeout(g.e.ctx, powerOffTimeout)
	defer cancel()
	err := g.e.runTask(ctx, func(c *vim25.Client) (*object.Task, error) {
		return object.NewVirtualMachine(c, g.vm).PowerOff(ctx)
	})
	switch {
	case err == nil:
		g.log.Info("VM powered off after its guest halted")
	case fault.Is(err, &types.InvalidPowerState{}):
		g.log.Debug("VM was already off")
	default:
		g.log.Error("power the VM off after its guest halted", "err", err)
	}
}

// exitDescription says how the tether ended, for the log.
func exitDescription(ps *os.ProcessState, err error) string {
	if ps == nil {
		if err != nil {
			return err.Error()
		}
		return "unknown"
	}
	return ps.String()
}

package vsphere

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/plugins/vsphere/vtask"
	"github.com/vice-engine/vice/swagger/gen/models"
	"github.com/vice-engine/vice/tether/wire"
)

// startTimeout bounds how long StartContainer waits for the guest to report its process: a containerVM
// boots in seconds, so a silent guest after this long is broken.
const startTimeout = 2 * time.Minute

// StartContainer counts a new boot, powers the VM on and waits for the guest's status of that boot. A process
// that failed to start is returned as an exited state with the guest's exit code and error.
func (b *Backend) StartContainer(ctx context.Context, id string) (*models.ContainerInfo, error) {
	unlock, err := b.ctr.locks.lock(ctx, id)
	if err != nil {
		return nil, err
	}
	defer unlock()
	// A container just created is what its create said (no read), until anything marks its VM.
	c, err := b.findContainerVM(ctx, id, b.readVMOrNewborn)
	if err != nil {
		return nil, err
	}
	if c.state().Running {
		return nil, fmt.Errorf("container %s is already running: %w", id, errdefs.ErrNotModified)
	}
	if c, err = b.settle(ctx, c); err != nil {
		return nil, fmt.Errorf("container %s: %w", id, err)
	}
	if err := b.checkWriters(ctx, c); err != nil {
		return nil, fmt.Errorf("container %s: %w", id, err)
	}
	boot := c.boot() + 1
	cfg, err := withBoot(c.extra[wire.KeyConfig], boot)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", id, err)
	}
	// The boot count goes into the tether's config too: the guest echoes it, which is how a status left by an
	// earlier boot is told apart. A size that waited for this start is applied, the last boot's tasks dropped.
	kv := map[string]string{keyBoot: itoa(boot), wire.KeyConfig: cfg}
	// Published ports are taken before the power-on, so a port in use fails the start as in Docker.
	ports, finishPorts, err := b.bindPorts(ctx, c)
	if err != nil {
		return nil, err // Docker's own message
	}
	started := false
	defer func() { finishPorts(started) }()
	if ports != "" || c.extra[keyPortsBound] != "" {
		kv[keyPortsBound] = ports
	}
	var spec types.VirtualMachineConfigSpec
	bootChanges(c, &spec, kv)
	spec.ExtraConfig = extraConfigChange(kv).ExtraConfig
	// Until the power-on ends, the counted boot reads as starting (withStart), not as a VM that went off
	// without its guest's word: a wait or an inspect in between must not see exit code 137.
	b.ctr.starting.Store(id, startMark{boot: boot})
	powered := false
	defer func() {
		if !powered {
			b.ctr.starting.Delete(id)
		}
	}()
	if err := b.reconfigure(ctx, c, spec); err != nil {
		return nil, fmt.Errorf("container %s: %w", id, err)
	}
	b.ctr.tasks.forgetContainer(id)
	vctx := changingOnly(ctx, c.ref)
	task, err := b.vmObject(c).PowerOn(vctx)
	if err == nil {
		_, err = vtask.Wait(vctx, task)
	}
	if err != nil {
		// Undo the count, so the container does not look like it ran and died.
		undo := extraConfigChange(map[string]string{keyBoot: itoa(boot - 1), wire.KeyConfig: c.extra[wire.KeyConfig]})
		_ = b.reconfigure(context.WithoutCancel(ctx), c, undo)
		return nil, fmt.Errorf("container %s: %w", id, classify(err, "power on "+c.vmName))
	}
	// The VM is on: its power state speaks for the boot in the reads that begin from now on. A read begun
	// before may have seen it off, and still reads as starting.
	powered = true
	b.ctr.starting.Store(id, startMark{boot: boot, ended: b.ctr.readSeq.Load()})
	b.publishContainer(c, "start", nil)
	wctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	// The process has started once the guest says so: by its status, or first by its notice (the status
	// follows only if the process runs a while).
	c, err = b.await(wctx, c.ref, func(c *containerVM) bool {
		gs := c.guestStatus()
		return !c.on() || (gs != nil && (gs.State == wire.StateRunning || gs.State == wire.StateExited)) ||
			(gs == nil && c.boot() == boot && b.processStarted(c))
	})
	if err != nil {
		return nil, fmt.Errorf("container %s: the guest did not report its process: %w", id, err)
	}
	b.noteExit(c, true) // a process that ended at once: "die" before the start returns
	started = true
	return b.info(c), nil
}

// haltWait bounds how long a start waits for the guest of an exited process to power its VM off.
const haltWait = 10 * time.Second

// settle returns c once its VM is off. A guest powers its VM off itself once it has reported its process's
// exit; powering it off here instead would race that power-off, which could then end the next boot. A guest
// that does not halt in haltWait is powered off.
func (b *Backend) settle(ctx context.Context, c *containerVM) (*containerVM, error) {
	if !c.on() {
		return c, nil
	}
	wctx, cancel := context.WithTimeout(ctx, haltWait)
	last, err := b.await(wctx, c.ref, func(c *containerVM) bool { return !c.on() })
	cancel()
	switch {
	case err == nil:
		return last, nil
	case ctx.Err() != nil || isGone(err):
		return nil, err
	}
	b.log.Warn("the guest did not power its VM off after its process exited; powering it off", "container", c.id())
	return b.powerOff(ctx, c)
}

// StopContainer signals the process (SIGTERM unless told otherwise), waits up to timeout for it to exit,
// then powers the VM off, as VIC did: the guest halts by itself once its process is gone, and a process
// that ignores the signal goes down with its VM.
func (b *Backend) StopContainer(ctx context.Context, id, signal string, timeout time.Duration) (*models.ContainerInfo, error) {
	unlock, err := b.ctr.locks.lock(ctx, id)
	if err != nil {
		return nil, err
	}
	defer unlock()
	c, err := b.containerVM(ctx, id)
	if err != nil {
		return nil, err
	}
	if !c.state().Running { // its VM may be on still, while the guest halts by itself
		return nil, fmt.Errorf("container %s is not running: %w", id, errdefs.ErrNotModified)
	}
	if c.paused() {
		// A suspended guest hears no signal: it goes down with its VM, as a paused Docker container that
		// ignores its pending stop signal is killed.
		if c, err = b.powerOff(ctx, c); err != nil {
			return nil, err
		}
		b.publishContainer(c, "stop", nil)
		return b.info(c), nil
	}
	if signal == "" {
		signal = cmp.Or(c.extra[keyStopSignal], "SIGTERM")
	}
	sig, err := parseSignal(signal)
	if err != nil {
		return nil, err
	}
	if err := b.signalGuest(ctx, id, sig.name); err != nil {
		b.log.Warn("could not signal the container; powering it off", "container", id, "signal", sig.name, "err", err)
	} else {
		b.publishContainer(c, "kill", map[string]string{"signal": itoa(sig.number)})
		wctx, cancel := ctx, context.CancelFunc(func() {})
		if timeout >= 0 {
			wctx, cancel = context.WithTimeout(ctx, timeout)
		}
		last, err := b.await(wctx, c.ref, func(c *containerVM) bool { return !c.state().Running })
		cancel()
		if ctx.Err() != nil || isGone(err) {
			return b.stoppedRemoved(c, fmt.Errorf("stop container %s: %w", id, err))
		}
		if last != nil { // nil when the timeout (0, say) ended the wait before its first read
			c = last
		}
	}
	var off *containerVM
	if c.state().Running {
		off, err = b.powerOff(ctx, c)
	} else {
		off, err = b.settle(ctx, c) // the process ended: its guest halts by itself
	}
	if err != nil {
		return b.stoppedRemoved(c, err)
	}
	c = off
	b.noteExit(c, true)
	b.publishContainer(c, "stop", nil)
	return b.info(c), nil
}

// stoppedRemoved answers a stop whose container this process removed meanwhile (err says its VM is gone):
// an auto-removal on its die event, a `docker rm -f` beside the stop. The container has stopped, with the
// state the removal kept, as dockerd's stop of a `--rm` container succeeds. Any other error stays one.
func (b *Backend) stoppedRemoved(c *containerVM, err error) (*models.ContainerInfo, error) {
	kept, ok := b.ctr.removed.Load(c.id())
	if !ok || !isGone(err) {
		return nil, err
	}
	st := kept.(*models.ContainerState)
	info := b.info(c)
	info.State, info.Ports = st, c.portsBoundIn(st)
	b.publishContainer(c, "stop", nil)
	return info, nil
}

// powerOff turns the VM off and, when the guest did not get to say how its process ended, records it as
// killed, so the state and the "die" event say what happened.
func (b *Backend) powerOff(ctx context.Context, c *containerVM) (*containerVM, error) {
	if c.on() {
		vctx := changingOnly(ctx, c.ref)
		task, err := b.vmObject(c).PowerOff(vctx)
		if err == nil {
			_, err = vtask.Wait(vctx, task)
		}
		// The guest may have halted between our read and our call: that is the outcome we wanted.
		if err != nil && !errdefs.Is(classify(err, ""), errdefs.ErrConflict) {
			return nil, classify(err, "power off "+c.vmName)
		}
	}
	c, err := b.readVM(ctx, c.ref)
	if err != nil {
		return nil, err
	}
	if gs := c.guestStatus(); c.boot() > 0 && (gs == nil || gs.State != wire.StateExited) {
		st := wire.GuestStatus{State: wire.StateExited, Boot: c.boot(), ExitCode: exitKilled,
			FinishedAt: time.Now().UTC()}
		if gs != nil {
			st.StartedAt = gs.StartedAt
		}
		data, _ := json.Marshal(st) // plain values always encode
		if err := b.reconfigure(ctx, c, extraConfigChange(map[string]string{wire.KeyStatus: string(data)})); err != nil {
			return nil, err
		}
		if c, err = b.readVM(ctx, c.ref); err != nil {
			return nil, err
		}
	}
	b.noteExit(c, true)
	return c, nil
}

// SignalContainer delivers signal to the main process through the tether. SIGKILL still works when the
// tether cannot be reached: the VM is powered off.
func (b *Backend) SignalContainer(ctx context.Context, id, signal string) error {
	sig, err := parseSignal(signal)
	if err != nil {
		return err
	}
	c, err := b.containerVM(ctx, id)
	if err != nil {
		return err
	}
	if !c.state().Running {
		return fmt.Errorf("container %s is not running: %w", id, errdefs.ErrConflict)
	}
	if c.paused() {
		if sig.name != "KILL" {
			return fmt.Errorf("container %s is paused: unpause it to deliver SIG%s: %w", id, sig.name, errdefs.ErrConflict)
		}
		if _, err := b.powerOff(ctx, c); err != nil {
			return err
		}
		b.publishContainer(c, "kill", map[string]string{"signal": itoa(sig.number)})
		return nil
	}
	if err := b.signalGuest(ctx, id, sig.name); err != nil {
		if sig.name != "KILL" {
			return fmt.Errorf("signal container %s: %w", id, err)
		}
		b.log.Warn("the tether did not take SIGKILL; powering the VM off", "container", id, "err", err)
		if _, err := b.powerOff(ctx, c); err != nil {
			return err
		}
	}
	b.publishContainer(c, "kill", map[string]string{"signal": itoa(sig.number)})
	return nil
}

// WaitContainer blocks until condition holds: "not-running" (at once when it is not), "next-exit" (the end of
// the current run, or of the next one when not running) or "removed". A container removed meanwhile ends
// every wait, with its last state; so does one this process removed a moment before the wait arrived, as
// the caller found it before (Docker's wait is registered when the container is found).
func (b *Backend) WaitContainer(ctx context.Context, id, condition string) (*models.ContainerState, error) {
	if !slices.Contains([]string{"", "not-running", "next-exit", "removed"}, condition) {
		return nil, fmt.Errorf("wait condition %q (want not-running, next-exit or removed): %w", condition, errdefs.ErrInvalid)
	}
	// A container this process removed a moment ago (its VM unregistered: the reference is forgotten then)
	// ended with the state it kept: no need to look for it through the whole pool. A create of the same
	// ID forgets that state.
	if st, ok := b.ctr.removed.Load(id); ok && containerIDPattern.MatchString(id) {
		if _, known := b.ctr.refs.Load(id); !known {
			return st.(*models.ContainerState), nil
		}
	}
	// The condition counts from the first read of the wait. For a container whose VM this process knows,
	// that is await's own first read; otherwise the container is looked for first.
	var first *containerVM
	from := 0
	done := func(c *containerVM) bool {
		if first == nil {
			if first = c; c.id() != id {
				return true // no longer this container's VM: look for the container
			}
			if from = c.boot(); !c.state().Running {
				from++ // this run is over: "next-exit" waits for the next one's end
			}
		}
		switch condition {
		case "", "not-running":
			return !c.state().Running
		case "next-exit":
			return !c.state().Running && c.boot() >= from && c.guestStatus() != nil
		}
		return false // "removed"
	}
	var last *containerVM
	err := errdefs.ErrNotFound
	if ref, known := b.ctr.refs.Load(id); known && containerIDPattern.MatchString(id) {
		last, err = b.await(ctx, ref.(types.ManagedObjectReference), done)
		if first != nil && first.id() != id {
			first, err = nil, errdefs.ErrNotFound
		}
	}
	if first == nil && isGone(err) {
		c, cerr := b.containerVM(ctx, id)
		if cerr != nil {
			if st, ok := b.ctr.removed.Load(id); ok && isGone(cerr) {
				return st.(*models.ContainerState), nil
			}
			return nil, cerr
		}
		done(c)
		last, err = b.await(ctx, c.ref, done)
	}
	if isGone(err) {
		if st, ok := b.ctr.removed.Load(id); ok {
			return st.(*models.ContainerState), nil
		}
		if last == nil {
			last = first
		}
		return last.state(), nil
	}
	if err != nil {
		return nil, err
	}
	// The watch publishes "die" when it sees the exit, which may be after this read did: the waiter must not
	// hear of the exit before the event stream does (noteExit publishes once per boot).
	b.noteExit(last, true)
	return last.state(), nil
}

// withBoot sets the boot count in the tether's config, keeping every other field as the core wrote it.
func withBoot(config string, boot int) (string, error) {
	fields := map[string]json.RawMessage{}
	if err := json.Unmarshal([]byte(config), &fields); err != nil {
		return "", fmt.Errorf("stored container config: %v: %w", err, errdefs.ErrSystem)
	}
	fields["boot"] = json.RawMessage(itoa(boot))
	data, err := json.Marshal(fields)
	if err != nil {
		return "", fmt.Errorf("encode container config: %v: %w", err, errdefs.ErrSystem)
	}
	return string(data), nil
}

package vsphere

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"strings"
	"time"

	"github.com/vmware/govmomi/vim25/types"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/plugins/vsphere/events"
	"github.com/vice-engine/vice/plugins/vsphere/vtask"
	"github.com/vice-engine/vice/swagger/gen/models"
	"github.com/vice-engine/vice/tether/wire"
)

// EventTypeContainer is the type of the container events the backend publishes, with Docker's actions.
const EventTypeContainer = "container"

// AnnotationImage is the annotation the core keeps the container's image reference in; events carry it as
// Docker's "image" attribute.
const AnnotationImage = "image"

// RemoveContainer takes the VM out of the inventory and deletes its folder (the container's disk, logs). A
// running container needs force, and is then powered off first.
//
// The VM is unregistered rather than destroyed: Destroy deletes every disk the VM has, so the volumes had to
// be detached first, and the folder was left to delete anyway; an unregistered VM's files are all in its
// folder but the volumes' and the image's layer disks, which live elsewhere and stay. Unregistering is
// synchronous (Destroy is a task; govmomi's simulator runs the disk deletion inside it as a subtask it polls
// every 10 ms). The cost is the order: were the endpoint to stop between the two steps, the folder would stay
// behind without a VM (it is logged), never a VM without its files.
func (b *Backend) RemoveContainer(ctx context.Context, id string, force bool) error {
	// A probe of the VM says whether its last full read (often the one of the guest's exit) still holds; not
	// a kept one: a guest that has just exited may not have been heard of yet.
	c, err := b.findContainerVM(ctx, id, b.probeVM)
	if err != nil {
		return err
	}
	if c.on() {
		if !force && c.state().Running {
			return fmt.Errorf("container %s is running: stop it before removing it, or force the removal: %w",
				id, errdefs.ErrConflict)
		}
		if c, err = b.powerOffToRemove(ctx, c); err != nil {
			return fmt.Errorf("remove container %s: %w", id, err)
		}
	}
	folder := c.folder()
	if !vmFolderDeletable(folder, b.cfg.VCHName) {
		return fmt.Errorf("remove container %s: its VM's files are in %q, not a folder of its own: %w",
			id, c.vmx, errdefs.ErrSystem)
	}
	b.ctr.removed.Store(id, c.state())
	time.AfterFunc(removedStateKept, func() { b.ctr.removed.Delete(id) })
	// The followed logs get the rest of output.log while it is still there.
	b.ctr.logs.drain(ctx, id, func(ctx context.Context, offset int64) ([]byte, error) {
		return b.readRange(ctx, path.Join(folder, outputLog), offset)
	})
	if err := b.vmObject(c).Unregister(changingOnly(ctx, c.ref)); err != nil {
		b.ctr.removed.Delete(id) // still there: its waits go on
		return fmt.Errorf("remove container %s: %w", id, classify(err, "unregister "+c.vmName))
	}
	b.ctr.probes.gone(c.ref, b.ctr.readSeq.Load())
	// The container is gone from here on; its files go without regard for the caller's patience.
	if err := b.deleteFile(context.WithoutCancel(ctx), folder); err != nil && !isGone(err) {
		b.log.Warn("a removed containerVM's folder stays on the datastore: delete it by hand", "container", id,
			"vm", c.vmName, "folder", b.where.datastore.Path(folder), "err", err)
	}
	b.ctr.attach.drop(id)
	b.log.Info("removed containerVM", "container", id, "vm", c.vmName)
	b.ctr.refs.Delete(id) // the VM is gone; keep the hint map from growing with removed containers
	b.ctr.tasks.forgetContainer(id)
	b.ctr.starting.Delete(id)
	b.publishContainer(c, "destroy", nil)
	return nil
}

// powerOffToRemove powers off the VM of a container that is to be removed. When the guest has reported its
// process's exit for this boot (it halts by itself, and an `rm -f` or a `run --rm` often comes first), the
// read that found it so stays true after the power-off but for the power state, which a removal does not
// use: no read follows. Otherwise the VM is read again (the guest may have reported the exit meanwhile) and,
// as powerOff does, the process is recorded as killed; but only in what the removal keeps and publishes: the
// VM is about to go, and were it to stay, a VM off without its guest's exit reads as killed anyway.
func (b *Backend) powerOffToRemove(ctx context.Context, c *containerVM) (*containerVM, error) {
	gs := c.guestStatus()
	exited := !c.paused() && gs != nil && gs.State == wire.StateExited
	vctx := changingOnly(ctx, c.ref)
	task, err := b.vmObject(c).PowerOff(vctx)
	if err == nil {
		_, err = vtask.Wait(vctx, task)
	}
	// The guest may have halted between our read and our call: that is the outcome we wanted.
	if err != nil && !errdefs.Is(classify(err, ""), errdefs.ErrConflict) {
		return nil, classify(err, "power off "+c.vmName)
	}
	if !exited {
		if c, err = b.probeVM(ctx, c.ref); err != nil {
			return nil, err
		}
		if gs := c.guestStatus(); c.boot() > 0 && (gs == nil || gs.State != wire.StateExited) {
			c = c.killed(gs, time.Now())
		}
	}
	b.noteExit(c, true) // "die" before "destroy"
	return c, nil
}

// killed is a copy of c, powered off, whose guest status of this boot says the process was killed (gs is
// what the guest had said of the boot, or nil).
func (c *containerVM) killed(gs *wire.GuestStatus, at time.Time) *containerVM {
	st := wire.GuestStatus{State: wire.StateExited, Boot: c.boot(), ExitCode: exitKilled, FinishedAt: at.UTC()}
	if gs != nil {
		st.StartedAt = gs.StartedAt
	}
	data, _ := json.Marshal(st) // plain values always encode
	k := c.clone()
	k.power, k.poweringOn, k.seq = types.VirtualMachinePowerStatePoweredOff, false, 0
	k.extra[wire.KeyStatus] = string(data)
	return k
}

// vmFolderDeletable says whether folder, a containerVM's folder relative to the datastore root, is one the
// removal may delete with everything in it: a folder of its own at the root, never the root or the VCH's.
func vmFolderDeletable(folder, vchFolder string) bool {
	return folder != "" && folder != "." && folder != "/" && !strings.Contains(folder, "/") && folder != ".." &&
		folder != vchFolder
}

// RenameContainer renames the container and its VM ("<name>-<short id>"). The VM's folder keeps its name:
// vSphere does not move files on a rename, and the files are found through the VM.
func (b *Backend) RenameContainer(ctx context.Context, id, name string) (*models.ContainerInfo, error) {
	name = strings.TrimPrefix(name, "/")
	if name == "" || strings.ContainsAny(name, "/[]\\%") {
		return nil, fmt.Errorf("invalid container name %q: %w", name, errdefs.ErrInvalid)
	}
	b.ctr.createMu.Lock()
	defer b.ctr.createMu.Unlock()
	all, err := b.containerVMs(ctx)
	if err != nil {
		return nil, err
	}
	var c *containerVM
	for _, o := range all {
		if o.id() == id {
			c = o
		}
	}
	if err := b.nameFree(all, "", name, id); err != nil {
		return nil, err
	}
	if c == nil {
		return nil, fmt.Errorf("no such container: %s: %w", id, errdefs.ErrNotFound)
	}
	old := c.name()
	if old == name {
		return b.info(c), nil
	}
	// Two long names can cut to the same VM name; vSphere refuses a rename to the name a VM has.
	if vmName := vmNameOf(name, id); vmName != c.vmName {
		vctx := changingOnly(ctx, c.ref)
		task, err := b.vmObject(c).Rename(vctx, vmName)
		if err == nil {
			_, err = vtask.Wait(vctx, task)
		}
		if err != nil {
			return nil, fmt.Errorf("rename container %s: %w", id, classify(err, "rename "+c.vmName))
		}
	}
	if err := b.reconfigure(ctx, c, extraConfigChange(map[string]string{keyName: name})); err != nil {
		return nil, fmt.Errorf("rename container %s: %w", id, err)
	}
	if c, err = b.readVM(ctx, c.ref); err != nil {
		return nil, err
	}
	b.publishContainer(c, "rename", map[string]string{"oldName": "/" + old})
	return b.info(c), nil
}

// SetAnnotations replaces the container's annotations.
func (b *Backend) SetAnnotations(ctx context.Context, id string, annotations map[string]string) (*models.ContainerInfo, error) {
	c, err := b.containerVM(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := b.reconfigure(ctx, c, extraConfigChange(map[string]string{keyAnnotations: encodeAnnotations(annotations)})); err != nil {
		return nil, fmt.Errorf("container %s: %w", id, err)
	}
	if c, err = b.readVM(ctx, c.ref); err != nil {
		return nil, err
	}
	return b.info(c), nil
}

// publishContainer publishes a container event with Docker's attributes (name, image) and extra ones.
func (b *Backend) publishContainer(c *containerVM, action string, extra map[string]string) {
	attrs := map[string]string{"name": c.name()}
	if img := decodeMap(c.extra[keyAnnotations])[AnnotationImage]; img != "" {
		attrs["image"] = img
	}
	maps.Copy(attrs, extra)
	b.bus.Publish(events.New(EventTypeContainer, action, c.id(), attrs))
}

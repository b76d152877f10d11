package vsphere

import (
	"context"
	"fmt"
	"maps"
	"path"
	"strings"
	"time"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/plugins/vsphere/events"
	"github.com/vice-engine/vice/plugins/vsphere/vtask"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// EventTypeContainer is the type of the container events the backend publishes, with Docker's actions.
const EventTypeContainer = "container"

// AnnotationImage is the annotation the core keeps the container's image reference in; events carry it as
// Docker's "image" attribute.
const AnnotationImage = "image"

// RemoveContainer destroys the VM with its files (the container's disk, logs). A running container needs
// force, and is then powered off first.
func (b *Backend) RemoveContainer(ctx context.Context, id string, force bool) error {
	c, err := b.containerVM(ctx, id)
	if err != nil {
		return err
	}
	if c.on() {
		if !force && c.state().Running {
			return fmt.Errorf("container %s is running: stop it before removing it, or force the removal: %w",
				id, errdefs.ErrConflict)
		}
		if c, err = b.powerOff(ctx, c); err != nil {
			return fmt.Errorf("remove container %s: %w", id, err)
		}
	}
	if err := b.detachVolumes(ctx, c); err != nil {
		return fmt.Errorf("remove container %s: %w", id, err)
	}
	b.ctr.removed.Store(id, c.state())
	time.AfterFunc(removedStateKept, func() { b.ctr.removed.Delete(id) })
	// The followed logs get the rest of output.log while it is still there.
	b.ctr.logs.drain(ctx, id, func(ctx context.Context, offset int64) ([]byte, error) {
		return b.readRange(ctx, path.Join(c.folder(), outputLog), offset)
	})
	task, err := b.vmObject(c).Destroy(ctx)
	if err == nil {
		_, err = vtask.Wait(ctx, task)
	}
	if err != nil {
		b.ctr.removed.Delete(id) // still there: its waits go on
		return fmt.Errorf("remove container %s: %w", id, classify(err, "destroy "+c.vmName))
	}
	// Destroy removes the files the VM knows; the folder itself (and the disk's contents directory on the
	// simulator) would stay behind.
	if err := b.deleteFile(context.WithoutCancel(ctx), c.folder()); err != nil && !isGone(err) {
		b.log.Warn("could not remove a containerVM's folder", "container", id, "folder", c.folder(), "err", err)
	}
	b.ctr.attach.drop(id)
	b.log.Info("removed containerVM", "container", id, "vm", c.vmName)
	b.ctr.refs.Delete(id) // the VM is gone; keep the hint map from growing with removed containers
	b.ctr.tasks.forgetContainer(id)
	b.publishContainer(c, "destroy", nil)
	return nil
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
		task, err := b.vmObject(c).Rename(ctx, vmName)
		if err == nil {
			_, err = vtask.Wait(ctx, task)
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

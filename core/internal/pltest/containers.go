package pltest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
	"github.com/vice-engine/vice/tether/wire"
)

var (
	_ sdk.ContainerStore = (*Backend)(nil)
	_ sdk.Interaction    = (*Backend)(nil)
)

// container is one fake containerVM. Its process is simulated by run (see process.go).
type container struct {
	spec    *models.ContainerSpec
	cfg     wire.ContainerConfig
	created time.Time
	state   models.ContainerState
	status  string
	boot    int64
	logs    []wire.LogRecord
	proc    *process
	removed bool
	size    [2]int64 // the last resize: height, width
}

func (b *Backend) containers() map[string]*container {
	if b.ctrs == nil {
		b.ctrs = map[string]*container{}
	}
	return b.ctrs
}

// info is the port layer's description of c; b.mu is held.
func (c *container) info() *models.ContainerInfo {
	id, name := c.spec.ID, c.spec.Name
	st := c.state
	status := c.status
	st.Status = &status
	st.Boot = c.boot
	ann := map[string]string{}
	for k, v := range c.spec.Annotations {
		ann[k] = v
	}
	return &models.ContainerInfo{ID: id, Name: name, VMName: *name + "-" + (*id)[:12], Layer: c.spec.Layer,
		Config: *c.spec.Config, Cpus: c.spec.Cpus, MemoryMB: c.spec.MemoryMB, State: &st, Annotations: ann,
		Created: c.created.Format(time.RFC3339Nano)}
}

// publishLocked emits a container event with Docker's attributes, as the vsphere backend does.
func (b *Backend) publishLocked(c *container, action string, extra map[string]string) {
	attrs := map[string]string{"name": *c.spec.Name}
	if img := c.spec.Annotations["image"]; img != "" {
		attrs["image"] = img
	}
	for k, v := range extra {
		attrs[k] = v
	}
	ev := Event("container", action, *c.spec.ID, time.Now().UnixNano(), attrs)
	for ch, types := range b.subs {
		if len(types) > 0 && !contains(types, "container") {
			continue
		}
		select {
		case ch <- ev:
		default:
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (b *Backend) lookupLocked(id string) (*container, error) {
	c, ok := b.containers()[id]
	if !ok {
		return nil, fmt.Errorf("container %s: %w", id, errdefs.ErrNotFound)
	}
	return c, nil
}

// CreateContainer records a created container; its spec's config must be a wire.ContainerConfig.
func (b *Backend) CreateContainer(_ context.Context, spec *models.ContainerSpec) (*models.ContainerInfo, error) {
	var cfg wire.ContainerConfig
	if spec.Config == nil || json.Unmarshal([]byte(*spec.Config), &cfg) != nil {
		return nil, fmt.Errorf("container config: %w", errdefs.ErrInvalid)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.containers() {
		if *c.spec.ID == *spec.ID || *c.spec.Name == *spec.Name {
			return nil, fmt.Errorf("container %s: name or ID in use: %w", *spec.Name, errdefs.ErrConflict)
		}
	}
	c := &container{spec: spec, cfg: cfg, created: time.Now().UTC(), status: "created"}
	b.containers()[*spec.ID] = c
	b.Creates++
	b.publishLocked(c, "create", nil)
	return c.info(), nil
}

// ListContainers returns every container, oldest first.
func (b *Backend) ListContainers(context.Context) ([]*models.ContainerInfo, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var all []*container
	for _, c := range b.containers() {
		all = append(all, c)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].created.Before(all[j].created) })
	out := make([]*models.ContainerInfo, len(all))
	for i, c := range all {
		out[i] = c.info()
	}
	return out, nil
}

// GetContainer returns one container.
func (b *Backend) GetContainer(_ context.Context, id string) (*models.ContainerInfo, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, err := b.lookupLocked(id)
	if err != nil {
		return nil, err
	}
	return c.info(), nil
}

// RemoveContainer forgets a container; a running one needs force (it is killed first).
func (b *Backend) RemoveContainer(_ context.Context, id string, force bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, err := b.lookupLocked(id)
	if err != nil {
		return err
	}
	if c.state.Running {
		if !force {
			return fmt.Errorf("container %s is running: %w", id, errdefs.ErrConflict)
		}
		b.exitLocked(c, 137, "")
	}
	c.removed = true
	delete(b.containers(), id)
	b.publishLocked(c, "destroy", nil)
	b.cond.Broadcast()
	return nil
}

// RenameContainer renames a container; a name in use is a conflict.
func (b *Backend) RenameContainer(_ context.Context, id, name string) (*models.ContainerInfo, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, err := b.lookupLocked(id)
	if err != nil {
		return nil, err
	}
	for _, o := range b.containers() {
		if *o.spec.Name == name && o != c {
			return nil, fmt.Errorf("name %s in use: %w", name, errdefs.ErrConflict)
		}
	}
	old := *c.spec.Name
	c.spec.Name = &name
	b.publishLocked(c, "rename", map[string]string{"oldName": "/" + old})
	return c.info(), nil
}

// SetAnnotations replaces a container's annotations.
func (b *Backend) SetAnnotations(_ context.Context, id string, annotations map[string]string) (*models.ContainerInfo, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, err := b.lookupLocked(id)
	if err != nil {
		return nil, err
	}
	c.spec.Annotations = annotations
	return c.info(), nil
}

// WaitContainer waits as the vsphere backend does; a removed container ends every wait with its last state.
func (b *Backend) WaitContainer(ctx context.Context, id, condition string) (*models.ContainerState, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, err := b.lookupLocked(id)
	if err != nil {
		return nil, err
	}
	var done func() bool
	switch condition {
	case "", "not-running":
		done = func() bool { return !c.state.Running }
	case "next-exit":
		from := c.boot
		if !c.state.Running {
			from++
		}
		done = func() bool { return !c.state.Running && c.boot >= from }
	case "removed":
		done = func() bool { return false }
	default:
		return nil, fmt.Errorf("wait condition %q: %w", condition, errdefs.ErrInvalid)
	}
	stop := context.AfterFunc(ctx, func() { b.mu.Lock(); b.cond.Broadcast(); b.mu.Unlock() })
	defer stop()
	for !done() && !c.removed {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b.cond.Wait()
	}
	return c.info().State, nil
}

// ContainerLogs streams the recorded output as NDJSON; with Follow it goes on until the process exits.
func (b *Backend) ContainerLogs(ctx context.Context, id string, o sdk.LogOptions) (io.ReadCloser, error) {
	b.mu.Lock()
	c, err := b.lookupLocked(id)
	b.mu.Unlock()
	if err != nil {
		return nil, err
	}
	keep := func(r wire.LogRecord) bool {
		return (o.Since.IsZero() || !r.Time.Before(o.Since)) && (o.Until.IsZero() || r.Time.Before(o.Until))
	}
	pr, pw := io.Pipe()
	go func() {
		defer pw.Close()
		enc := json.NewEncoder(pw)
		stop := context.AfterFunc(ctx, func() { b.mu.Lock(); b.cond.Broadcast(); b.mu.Unlock() })
		defer stop()
		b.mu.Lock()
		var batch []wire.LogRecord
		for _, r := range c.logs {
			if keep(r) {
				batch = append(batch, r)
			}
		}
		if o.Tail >= 0 && int64(len(batch)) > o.Tail {
			batch = batch[len(batch)-int(o.Tail):]
		}
		next := len(c.logs)
		for {
			following := o.Follow && c.state.Running && !c.removed && ctx.Err() == nil
			b.mu.Unlock()
			for _, r := range batch {
				if enc.Encode(r) != nil {
					return
				}
			}
			if !following {
				return
			}
			b.mu.Lock()
			for next == len(c.logs) && c.state.Running && !c.removed && ctx.Err() == nil {
				b.cond.Wait()
			}
			batch = nil
			for ; next < len(c.logs); next++ {
				if keep(c.logs[next]) {
					batch = append(batch, c.logs[next])
				}
			}
		}
	}()
	return pr, nil
}

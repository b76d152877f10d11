package vsphere

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
)

// containerRuntime is the backend's in-process state for containers: locks and the live connections to
// guests. What describes a container lives in vSphere.
type containerRuntime struct {
	createMu sync.Mutex // names and addresses are checked and taken (create, rename, connect) one at a time
	// creating holds the containers whose create has taken its name and addresses (under createMu) and is
	// still making the disk and the VM (without it), by ID: their names and endpoints are taken as if their
	// VMs were there, so creates run side by side and still never share a name or an address.
	creating map[string]*containerVMLayout
	locks    keyedLocks // a container's start and stop do not interleave
	watch    vmWatch
	attach   *attachListener
	// refs maps container IDs to their VMs' references, learnt from listings and creates. It is only a hint
	// for finding one VM without reading the whole pool: the VM is always read afresh and checked.
	refs sync.Map
	// reads are the last full reads of the pool's VMs, which a listing reuses for the VMs whose
	// configuration has not changed since (vm_reads.go).
	reads vmReads
	// probes is the pool's last probe, answered again while nothing can have changed (vm_probes.go).
	probes poolProbes
	// folders maps container IDs to their VMs' folders on the datastore, learnt from full reads: a VM's
	// folder keeps its first name for the VM's life, and a container's ID is never given to another, so an
	// entry is never wrong while the container exists; a lookup that finds nothing there checks that.
	folders sync.Map
	// removed holds the final state of containers this process removed lately (ID to *models.ContainerState),
	// for the waits that see them go: the inventory no longer has it, and their last read may predate the
	// power-off.
	removed sync.Map
	// tasks is what this process knows of the containers' tasks (tasks.go).
	tasks taskTable
	// logs are the logs being followed, which a removal reads to the end for them (logs_followers.go).
	logs logFollowers
	// starting maps the ID of a container this process started to a startMark: the boot it counted, from
	// the reconfigure that counts the boot, and once its power-on has ended, the readSeq then. In that window
	// the VM is off with no status of the new boot, which alone would read as a process that died with its
	// VM (exitKilled); and so does a read that began in it and answers after it.
	starting sync.Map
	// started are the tethers' notices that a boot's process has started, before its status is written.
	started startedNotices
	// readSeq counts the reads of a containerVM begun (containerVM.seq).
	readSeq atomic.Uint64
	// vmFolder is the datacenter's VM folder, where containerVMs are made (containers_create.go).
	vmFolder atomic.Pointer[object.Folder]
}

// startMark is a start of this process (containers.starting): the boot it counted, and the readSeq when its
// power-on ended (0 while it goes on).
type startMark struct {
	boot  int
	ended uint64
}

// withStart marks c when this process was powering its VM on for its current boot at any moment of the read
// c comes from (c.seq, which must be set): a read sent before the power-on ended may answer after it, with the
// VM still off.
func (b *Backend) withStart(c *containerVM) *containerVM {
	if v, ok := b.ctr.starting.Load(c.id()); ok && c.boot() > 0 {
		if m := v.(startMark); m.boot == c.boot() && (m.ended == 0 || c.seq <= m.ended) {
			c.poweringOn = true
		}
	}
	return c
}

// removedStateKept is how long a removed container's final state stays for its waits.
const removedStateKept = time.Minute

// keyedLocks is a mutex per key whose waits end with their context.
type keyedLocks struct {
	mu   sync.Mutex
	held map[string]chan struct{}
}

func (k *keyedLocks) lock(ctx context.Context, key string) (func(), error) {
	for {
		k.mu.Lock()
		if k.held == nil {
			k.held = map[string]chan struct{}{}
		}
		ch, busy := k.held[key]
		if !busy {
			ch = make(chan struct{})
			k.held[key] = ch
			k.mu.Unlock()
			return func() {
				k.mu.Lock()
				delete(k.held, key)
				k.mu.Unlock()
				close(ch)
			}, nil
		}
		k.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, classify(ctx.Err(), "wait for another operation on container "+key)
		}
	}
}

// startContainers brings up what containers need in this process: the bootstrap ISO on the datastore, the
// attach listener and the inventory watch.
func (b *Backend) startContainers(ctx context.Context) error {
	if err := b.uploadBootstrapISO(ctx); err != nil {
		return err
	}
	a, err := listenAttach(b.cfg.AttachListen, b.cfg.AttachAdvertise, b.log)
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.onSessionExit = b.onSessionExit
	a.mu.Unlock()
	b.ctr.attach = a
	b.startWatch()
	return nil
}

// stopContainers stops the watch and the listener; the containers themselves keep running.
func (b *Backend) stopContainers() {
	b.stopWatch()
	if b.ctr.attach != nil {
		b.ctr.attach.close()
	}
}

func (b *Backend) collector() *property.Collector { return property.DefaultCollector(b.sess.client) }

// rfc3339 formats t as the port layer's times; the zero time is "".
func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

package vsphere

import (
	"context"
	"sync"
	"sync/atomic"
)

// logFollowers are the followed logs of each container. A container's removal reads what its followers have
// not read yet of output.log, before the VM's files are destroyed, and hands it to them, as dockerd's log
// readers drain the file when the container goes. Without it a client that follows the logs, waits for the
// exit and removes the container (the Docker SDK for Python's containers.run(remove=True)) could see the
// file vanish before its follower's next poll. The removal does not wait for the followers: a client may
// read its stream only after the removal returned.
type logFollowers struct {
	mu   sync.Mutex
	byID map[string]*followGroup
}

// followGroup is the followers of one container.
type followGroup struct {
	members map[*follower]struct{}
	// removed is closed once final holds output.log from offset base to its end, read by the removal.
	removed chan struct{}
	base    int64
	final   []byte
}

// follower is one followed log.
type follower struct {
	fs     *logFollowers
	id     string
	g      *followGroup
	offset atomic.Int64 // how far this follower has read output.log
}

// join registers a follower of container id whose reads start at offset 0.
func (fs *logFollowers) join(id string) *follower {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.byID == nil {
		fs.byID = map[string]*followGroup{}
	}
	g := fs.byID[id]
	if g == nil {
		g = &followGroup{members: map[*follower]struct{}{}, removed: make(chan struct{})}
		fs.byID[id] = g
	}
	f := &follower{fs: fs, id: id, g: g}
	g.members[f] = struct{}{}
	return f
}

// leave ends the registration.
func (f *follower) leave() {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	delete(f.g.members, f)
	if len(f.g.members) == 0 && f.fs.byID[f.id] == f.g {
		delete(f.fs.byID, f.id)
	}
}

// readTo records that the follower has read output.log up to offset.
func (f *follower) readTo(offset int64) { f.offset.Store(offset) }

// removal is closed when the container's removal has read the rest of its log (final).
func (f *follower) removal() <-chan struct{} { return f.g.removed }

// final is what the removal read of output.log past offset, and whether the container is being removed.
func (f *follower) final(offset int64) ([]byte, bool) {
	select {
	case <-f.g.removed:
	default:
		return nil, false
	}
	if at := offset - f.g.base; at >= 0 && at < int64(len(f.g.final)) {
		return f.g.final[at:], true
	}
	return nil, true
}

// drain reads, with read, what container id's followers have not read yet of its log and hands it to them.
// The VM is off: nothing more will be written. A follower that joins later forms a new group.
func (fs *logFollowers) drain(ctx context.Context, id string, read func(ctx context.Context, offset int64) ([]byte, error)) {
	fs.mu.Lock()
	g := fs.byID[id]
	delete(fs.byID, id)
	base := int64(-1)
	if g != nil {
		for f := range g.members {
			if o := f.offset.Load(); base < 0 || o < base {
				base = o
			}
		}
	}
	fs.mu.Unlock()
	if g == nil {
		return
	}
	if base >= 0 {
		g.base = base
		g.final, _ = read(ctx, base) // a failed read leaves the followers with what they had
	}
	close(g.removed)
}

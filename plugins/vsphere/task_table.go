package vsphere

import (
	"sync"

	"github.com/vice-engine/vice/swagger/gen/models"
	"github.com/vice-engine/vice/tether/wire"
)

// keptEndedTasks bounds the table of ended tasks; the oldest are forgotten first.
const keptEndedTasks = 4096

// taskTable is what this process knows of tasks beyond their records: which it started, how the ended
// ones ended (their records are dropped from extraConfig once they ended), and who waits for which. It is a
// cache: the records and the tethers are the truth, and a restarted endpoint asks them.
type taskTable struct {
	mu      sync.Mutex
	started map[string]string     // task ID -> container ID
	created map[string]*endedTask // tasks created here, by ID: their container and spec (status unused)
	done    map[string]*endedTask
	order   []string // ended task IDs, oldest first
	waiters map[string]map[chan struct{}]struct{}
}

// endedTask is a task's end as its tether reported it.
type endedTask struct {
	container     string
	spec          *models.TaskSpec
	status        wire.SessionStatus
	recordDropped bool
}

func (t *taskTable) init() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done == nil {
		t.started, t.done, t.waiters = map[string]string{}, map[string]*endedTask{}, map[string]map[chan struct{}]struct{}{}
		t.created = map[string]*endedTask{}
	}
}

// noteCreated remembers a task created here, whose record may not have reached extraConfig yet.
func (t *taskTable) noteCreated(container string, spec *models.TaskSpec) {
	t.init()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.created[*spec.ID] = &endedTask{container: container, spec: spec}
}

// createdHere is a task created here: its container and spec.
func (t *taskTable) createdHere(id string) (container string, spec *models.TaskSpec, ok bool) {
	t.init()
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.created[id]
	if !ok {
		return "", nil, false
	}
	return e.container, e.spec, true
}

func (t *taskTable) markStarted(container, id string) {
	t.init()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.started[id] = container
}

func (t *taskTable) wasStarted(id string) bool {
	t.init()
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.started[id]
	return ok
}

// known says whether id names a task this process created or has seen end.
func (t *taskTable) known(id string) bool {
	_, _, created := t.createdHere(id)
	_, ended := t.ended(id)
	return created || ended
}

func (t *taskTable) ended(id string) (endedTask, bool) {
	t.init()
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.done[id]
	if !ok {
		return endedTask{}, false
	}
	return *e, true
}

// noteEnded records a task's end and wakes its waiters; first says whether it was news.
func (t *taskTable) noteEnded(container string, spec *models.TaskSpec, st wire.SessionStatus) (first bool) {
	t.init()
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.done[st.ID]; ok {
		if e.spec == nil {
			e.spec = spec
		}
		return false
	}
	if c, ok := t.created[st.ID]; ok {
		spec = c.spec
		delete(t.created, st.ID)
	}
	t.done[st.ID] = &endedTask{container: container, spec: spec, status: st}
	t.order = append(t.order, st.ID)
	for len(t.order) > keptEndedTasks {
		delete(t.done, t.order[0])
		delete(t.started, t.order[0])
		t.order = t.order[1:]
	}
	for ch := range t.waiters[st.ID] {
		close(ch)
	}
	delete(t.waiters, st.ID)
	return true
}

// endedRecords lists the ended tasks of container c whose records are still in its extraConfig.
func (t *taskTable) endedRecords(container string, c *containerVM) []string {
	t.init()
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for _, id := range t.order {
		e := t.done[id]
		if _, recorded := c.extra[wire.SessionKey(id)]; e.container == container && !e.recordDropped && recorded {
			out = append(out, id)
		}
	}
	return out
}

// recordsDropped notes that these tasks' records are gone.
func (t *taskTable) recordsDropped(ids []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, id := range ids {
		if e, ok := t.done[id]; ok {
			e.recordDropped = true
		}
	}
}

// subscribe returns a channel closed when the task is seen ending, and the function that gives it up.
func (t *taskTable) subscribe(id string) (<-chan struct{}, func()) {
	t.init()
	t.mu.Lock()
	defer t.mu.Unlock()
	ch := make(chan struct{})
	if t.waiters[id] == nil {
		t.waiters[id] = map[chan struct{}]struct{}{}
	}
	t.waiters[id][ch] = struct{}{}
	return ch, func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		if w, ok := t.waiters[id]; ok {
			delete(w, ch)
			if len(w) == 0 {
				delete(t.waiters, id)
			}
		}
	}
}

// forgetContainer drops what the table holds of a container's tasks (it was removed, or boots afresh).
func (t *taskTable) forgetContainer(container string) {
	t.init()
	t.mu.Lock()
	defer t.mu.Unlock()
	kept := t.order[:0]
	for _, id := range t.order {
		if t.done[id].container == container {
			delete(t.done, id)
			delete(t.started, id)
			continue
		}
		kept = append(kept, id)
	}
	t.order = kept
	for id, c := range t.started {
		if c == container {
			delete(t.started, id)
		}
	}
	for id, c := range t.created {
		if c.container == container {
			delete(t.created, id)
		}
	}
}

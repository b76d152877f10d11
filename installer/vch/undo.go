package vch

import "context"

// undo is the list of what an operation made, to remove in reverse order when it fails ("no orphans").
type undo struct {
	steps []undoStep
}

type undoStep struct {
	what string
	fn   func(context.Context) error
}

func (u *undo) push(what string, fn func(context.Context) error) {
	u.steps = append(u.steps, undoStep{what: what, fn: fn})
}

// run removes everything, newest first, logging what it could not remove.
func (u *undo) run(log Progress) {
	if len(u.steps) == 0 {
		return
	}
	ctx, cancel := cleanupContext()
	defer cancel()
	log.Infof("Cleaning up after the failed operation")
	for i := len(u.steps) - 1; i >= 0; i-- {
		st := u.steps[i]
		log.Infof("  Removing %s", st.what)
		if err := st.fn(ctx); err != nil {
			log.Errorf("  Could not remove %s: %v; remove it by hand", st.what, err)
		}
	}
	u.steps = nil
}

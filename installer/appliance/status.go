package appliance

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/vice-engine/vice/installer/vchwire"
	"github.com/vice-engine/vice/tether/guestinfo"
)

// GuestInfo is how the appliance reads its config and writes its status.
type GuestInfo = guestinfo.Client

// Service names in ApplianceStatus.Services.
const (
	ServiceEngine = "vice-engine"
	ServicePortal = "admin-portal"
	ServiceSSH    = "sshd"
)

// Service states.
const (
	ServiceRunning    = "running"
	ServiceStarting   = "starting"
	ServiceRestarting = "restarting"
	ServiceFailed     = "failed"
	ServiceStopped    = "stopped"
)

// statusWriteTimeout bounds one write of the status key.
const statusWriteTimeout = 30 * time.Second

// reporter holds the appliance's status and writes it to guestinfo whenever it changes. Writes carry the
// latest state, one at a time, so a slow write never lets an older state overwrite a newer one; a failed
// write is retried by the next update or Flush.
type reporter struct {
	gi  GuestInfo
	log *slog.Logger
	now func() time.Time
	// redact hides secrets in the messages written (an engine's error may quote what it was given).
	redact func(string) string

	mu sync.Mutex
	st vchwire.ApplianceStatus

	wmu     sync.Mutex
	written string // the last status written, without its time
}

func newReporter(gi GuestInfo, log *slog.Logger) *reporter {
	return &reporter{gi: gi, log: log, now: time.Now}
}

// Update changes the status and writes it when that changed it.
func (r *reporter) Update(ctx context.Context, change func(*vchwire.ApplianceStatus)) {
	r.mu.Lock()
	change(&r.st)
	r.mu.Unlock()
	r.Flush(ctx)
}

// Service records one service's state, adding it on first use.
func (r *reporter) Service(ctx context.Context, s vchwire.ServiceStatus) {
	r.Update(ctx, func(st *vchwire.ApplianceStatus) {
		for i := range st.Services {
			if st.Services[i].Name == s.Name {
				st.Services[i] = s
				return
			}
		}
		st.Services = append(st.Services, s)
	})
}

// Get is a copy of the status.
func (r *reporter) Get() vchwire.ApplianceStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.st
	st.Services = slices.Clone(r.st.Services)
	return st
}

// Shown is the status as it may be shown: in guestinfo, on the portal.
func (r *reporter) Shown() vchwire.ApplianceStatus {
	st := r.Get()
	if r.redact != nil {
		st.Error = r.redact(st.Error)
		for i := range st.Services {
			st.Services[i].Error = r.redact(st.Services[i].Error)
		}
	}
	return st
}

// Flush writes the status unless guestinfo has it already.
func (r *reporter) Flush(ctx context.Context) {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	st := r.Shown()
	st.Updated = time.Time{}
	key, err := json.Marshal(st)
	if err != nil || string(key) == r.written {
		return
	}
	st.Updated = r.now().UTC()
	r.mu.Lock()
	r.st.Updated = st.Updated
	r.mu.Unlock()
	b, err := json.Marshal(st)
	if err != nil {
		return
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), statusWriteTimeout)
	defer cancel()
	if err := r.gi.Set(wctx, vchwire.KeyApplianceStatus, string(b)); err != nil {
		r.log.Warn("write the status to guestinfo", "err", err)
		return
	}
	r.written = string(key)
	r.log.Debug("status", "state", st.State, "error", st.Error)
}

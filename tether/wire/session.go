package wire

import "time"

// Exec sessions (DESIGN §5) are more processes of a running container, started by its tether in the
// container's namespaces and cgroup. The VCH records a session in the VM's config under SessionKey(id) (a
// non-persistent key, as VIC's @non-persistent ones: the backend drops every session key at the VM's next
// power transition) and opens a ChannelSession whose payload is the session's config (JSON SessionConfig),
// so starting waits on no guestinfo read, or its ID alone, and the tether then reads the config from
// guestinfo. The tether starts the session's process and accepts the channel, which then carries the
// session's streams as an attach channel does (data is stdin and stdout, extended data stderr, CloseWrite
// closes stdin), ending with "exit-status". Closing the channel earlier detaches: the process runs on.
const (
	// SessionPrefix is where session configs are kept, one key per session.
	SessionPrefix = ConfigPrefix + "sessions/"

	// ChannelSession starts a session (payload: the JSON SessionConfig, or the session ID). The tether
	// rejects it with one of the Reject* reasons.
	ChannelSession = "session@vice"

	// Global requests the VCH sends to the tether; every reply's payload is JSON.
	//
	// RequestSessionStatus: payload the session ID; reply a SessionStatus, or false for a session the tether
	// has never seen (the reply then carries no payload).
	RequestSessionStatus = "session-status@vice"
	// RequestSessionSignal: payload a SessionSignal; reply true once delivered, false with a ReplyError.
	RequestSessionSignal = "session-signal@vice"
	// RequestSessionResize: payload a SessionResize; reply true (a session without a tty ignores it).
	RequestSessionResize = "session-window-change@vice"
	// RequestTop: payload a TopRequest; reply a ProcessTable, or false with a ReplyError for arguments the
	// tether's ps does not take.
	RequestTop = "top@vice"
	// RequestStats: no payload; reply a Stats sample.
	RequestStats = "stats@vice"

	// RequestSessionExit is the tether's global request to the VCH (no reply wanted) when a session ends:
	// payload its final SessionStatus. It goes on every connection open at the time, before the session's
	// channel gets its exit status; a VCH that was away asks with RequestSessionStatus.
	RequestSessionExit = "session-exit@vice"
)

// SSH rejection reasons (RFC 4254 §5.1) the tether gives a ChannelSession, and what they mean here.
const (
	// RejectStartFailed: the process could not be started; the message says why (SessionStatus has the exit
	// code, 126 or 127, and the same message).
	RejectStartFailed = 2 // SSH_OPEN_CONNECT_FAILED
	// RejectStarted: the session was started before.
	RejectStarted = 1 // SSH_OPEN_ADMINISTRATIVELY_PROHIBITED
	// RejectUnknown: no config for the session in guestinfo.
	RejectUnknown = 4 // SSH_OPEN_RESOURCE_SHORTAGE
)

// SessionKey is the guestinfo key of session id's config.
func SessionKey(id string) string { return SessionPrefix + id }

// SessionConfig is one session's process, complete: the VCH has merged the container's env, user and
// working directory into it.
type SessionConfig struct {
	ID         string   `json:"id"`
	Path       string   `json:"path"`
	Args       []string `json:"args,omitempty"`
	Env        []string `json:"env,omitempty"`
	WorkingDir string   `json:"workingDir,omitempty"`
	User       string   `json:"user,omitempty"`
	Tty        bool     `json:"tty,omitempty"`
	OpenStdin  bool     `json:"openStdin,omitempty"`
	Privileged bool     `json:"privileged,omitempty"`
	// Rows and Cols size the tty before the process starts (0: the tether's default).
	Rows uint16 `json:"rows,omitempty"`
	Cols uint16 `json:"cols,omitempty"`
}

// Session states in SessionStatus.State: started or not yet (the tether has read its config), running,
// exited.
const (
	SessionCreated = "created"
	SessionRunning = "running"
	SessionExited  = "exited"
)

// SessionStatus is the tether's view of one session.
type SessionStatus struct {
	ID         string    `json:"id"`
	State      string    `json:"state"`
	Pid        int       `json:"pid,omitempty"`
	StartedAt  time.Time `json:"startedAt,omitzero"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
	ExitCode   int       `json:"exitCode"`
	// Error says why the process could not be started.
	Error string `json:"error,omitempty"`
}

// SessionSignal is RequestSessionSignal's payload (JSON): a signal name (TERM, SIGTERM) or number.
type SessionSignal struct {
	ID     string `json:"id"`
	Signal string `json:"signal"`
}

// SessionResize is RequestSessionResize's payload (JSON).
type SessionResize struct {
	ID   string `json:"id"`
	Rows uint16 `json:"rows"`
	Cols uint16 `json:"cols"`
}

// ReplyError is the payload of a failed request's reply.
type ReplyError struct {
	Error string `json:"error"`
}

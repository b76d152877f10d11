package wire

import "time"

// The serial line carries one SSH connection, the tether being the server and the VCH the client, once the
// two have synchronised (serialsync.go). The VCH accepts the containerVMs' connections (the serial port's
// network backing dials out to it), so one listener serves every container. Authentication is "none": the
// line is private to the VCH.
const (
	// RequestContainerID is a global request the VCH sends first; the reply's payload is the container ID as
	// raw bytes (no SSH string length prefix).
	RequestContainerID = "vice-container-id@vice"

	// RequestKeepAlive is a global request the tether sends now and then, wanting a reply (any reply, a
	// refusal too): a VCH that does not answer is gone, and the tether ends its session. No payload.
	RequestKeepAlive = "keepalive@vice"

	// RequestStatus is a global request the tether sends (no reply wanted) once a status write to
	// guestinfo (KeyStatus) has completed, so that vSphere holds it already: payload a JSON StatusNotice. It
	// goes on every connection open at the time, and the last one again on each new connection. It only
	// tells the VCH to read the VM now rather than when its own watch of the inventory sees the change:
	// guestinfo stays the only record, and a notice that is lost changes nothing. One notice comes before
	// its write: the process's start (StatusNotice.Pending), whose "running" is written only once the
	// process has run for a while; a powered-on VM without a status of its boot reads as running meanwhile.
	RequestStatus = "status@vice"

	// ChannelAttach opens a view of the main process's streams. Channel data from the VCH is stdin;
	// channel data to the VCH is stdout (and, with a tty, everything); extended data of type
	// ExtendedStderr is stderr. Several attach channels may be open at once: output goes to all of them,
	// input from any. A CloseWrite from the VCH closes the process's stdin when the config says StdinOnce.
	ChannelAttach = "attach@vice"

	// ChannelControl carries no data: the VCH sends "signal" and "window-change" requests on it, and the
	// tether answers each with a reply (false when it could not be applied).
	ChannelControl = "control@vice"

	// ExtendedStderr is SSH's extended data type 1 (SSH_EXTENDED_DATA_STDERR).
	ExtendedStderr = 1

	// Channel requests. "window-change" and "signal" use RFC 4254's payloads; the tether sends
	// "exit-status" (RFC 4254) on every attach channel when the process exits, then closes them.
	RequestWindowChange = "window-change"
	RequestSignal       = "signal"
	RequestExitStatus   = "exit-status"
)

// StatusNotice is RequestStatus's payload: which status the tether has just written (GuestStatus's State and
// Boot).
type StatusNotice struct {
	State string `json:"state"`
	Boot  int    `json:"boot"`
	// Pending says the status is not in guestinfo yet: the process has just started (State is
	// StateRunning), and Pid and StartedAt are what its "running" status will say. The tether writes that
	// status once the process has run for a while, or only its exit if that comes first.
	Pending   bool      `json:"pending,omitempty"`
	Pid       int       `json:"pid,omitempty"`
	StartedAt time.Time `json:"startedAt,omitzero"`
}

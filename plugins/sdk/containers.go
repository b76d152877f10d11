package sdk

import (
	"context"
	"io"
	"time"

	"github.com/vice-engine/vice/swagger/gen/models"
)

// Containers manages containerVMs. Their state lives in vSphere (the VM's extraConfig and power state), so a
// restarted backend lists the same containers. Every method takes the full 64-hex container ID; a malformed
// one is errdefs.ErrInvalid, an unknown one errdefs.ErrNotFound.
type Containers interface {
	// CreateContainer creates a powered-off containerVM from spec; an ID or name in use is
	// errdefs.ErrConflict, a spec the backend cannot honour errdefs.ErrInvalid (or errdefs.ErrNotImplemented
	// for a capability it lacks, such as mounts or endpoints).
	CreateContainer(ctx context.Context, spec *models.ContainerSpec) (*models.ContainerInfo, error)
	// ListContainers returns the containers that pass filter, oldest first.
	ListContainers(ctx context.Context, filter ListFilter) ([]*models.ContainerInfo, error)
	// GetContainer returns one container.
	GetContainer(ctx context.Context, id string) (*models.ContainerInfo, error)
	// StartContainer powers the VM on and returns once the guest reports the process running or failed to
	// start (the failure is in the returned state, with Docker's exit codes 126/127). A running container is
	// errdefs.ErrNotModified.
	StartContainer(ctx context.Context, id string) (*models.ContainerInfo, error)
	// StopContainer sends signal (the spec's stop signal when empty), waits up to timeout (for ever when
	// negative) for the process to exit, then powers the VM off. A container not running is
	// errdefs.ErrNotModified.
	StopContainer(ctx context.Context, id, signal string, timeout time.Duration) (*models.ContainerInfo, error)
	// SignalContainer delivers signal (a name such as SIGHUP or HUP, or a number) to the main process; a
	// container not running is errdefs.ErrConflict, an unknown signal errdefs.ErrInvalid.
	SignalContainer(ctx context.Context, id, signal string) error
	// WaitContainer blocks until condition ("not-running", "next-exit", "removed"; "" is not-running) holds
	// and returns the state then; it has no timeout of its own.
	WaitContainer(ctx context.Context, id, condition string) (*models.ContainerState, error)
	// RemoveContainer destroys the VM and its disk; a running one is errdefs.ErrConflict unless force.
	RemoveContainer(ctx context.Context, id string, force bool) error
	// RenameContainer renames the container and its VM; a name in use is errdefs.ErrConflict.
	RenameContainer(ctx context.Context, id, name string) (*models.ContainerInfo, error)
	// SetAnnotations replaces the core's records kept with the container.
	SetAnnotations(ctx context.Context, id string, annotations map[string]string) (*models.ContainerInfo, error)
	// ContainerLogs streams the main process's output as newline-delimited models.LogRecord JSON, oldest
	// first; with opts.Follow the stream goes on until the process exits or ctx ends.
	ContainerLogs(ctx context.Context, id string, opts LogOptions) (io.ReadCloser, error)
}

// ListFilter selects containers. Values of one field are alternatives; fields must all match; an empty field
// matches everything.
type ListFilter struct {
	Names    []string // exact names
	IDs      []string // ID prefixes
	Statuses []string // created, running, exited
}

// LogOptions select log records. Zero times mean unbounded; Tail < 0 means all.
type LogOptions struct {
	Follow bool
	Since  time.Time
	Until  time.Time
	Tail   int64
}

// Interaction attaches clients to a container's main process.
type Interaction interface {
	// AttachContainer opens the process's streams. A container that is not running is errdefs.ErrConflict.
	AttachContainer(ctx context.Context, id string, opts AttachOptions) (Stream, error)
	// ResizeContainer changes the size of the process's tty; a container not running is errdefs.ErrConflict.
	ResizeContainer(ctx context.Context, id string, height, width int64) error
}

// AttachOptions say which of the process's streams an attach joins.
type AttachOptions struct {
	Stdin, Stdout, Stderr bool
}

// Stream is an attach to a process. Reads are its output as frames (WriteFrame's format; with a tty all on
// StreamStdout) and end with io.EOF once the process has exited and its output is drained. Writes are its
// stdin (dropped when the attach did not ask for stdin). CloseWrite is the end of the client's input, taken
// as dockerd takes it after the bytes written before it reached the process: with StdinOnce and no tty it
// closes the process's stdin and the output goes on; otherwise the attach ends (reads see io.EOF) and stdin
// stays open for another; without stdin it is ignored. Close ends the attach at once and leaves stdin open.
type Stream interface {
	io.ReadWriteCloser
	CloseWrite() error
}

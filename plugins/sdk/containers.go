package sdk

import (
	"context"
	"io"
	"time"

	"github.com/vice-engine/vice/swagger/gen/models"
)

// ContainerStore manages containerVMs. Their state lives in vSphere (the VM's extraConfig and power state),
// so a restarted backend lists the same containers.
type ContainerStore interface {
	// CreateContainer creates a powered-off containerVM; an ID or name in use is errdefs.ErrConflict.
	CreateContainer(ctx context.Context, spec *models.ContainerSpec) (*models.ContainerInfo, error)
	ListContainers(ctx context.Context) ([]*models.ContainerInfo, error)
	// GetContainer returns one container or errdefs.ErrNotFound.
	GetContainer(ctx context.Context, id string) (*models.ContainerInfo, error)
	// StartContainer powers the VM on and returns once the guest reports the process running or failed
	// to start (the failure is in the returned state, with Docker's exit codes 126/127).
	StartContainer(ctx context.Context, id string) (*models.ContainerInfo, error)
	// StopContainer sends signal (the container's stop signal when empty), waits up to timeout (for ever
	// when negative) for the process to exit, then powers the VM off.
	StopContainer(ctx context.Context, id, signal string, timeout time.Duration) (*models.ContainerInfo, error)
	// SignalContainer delivers a signal to the main process; a container not running is errdefs.ErrConflict.
	SignalContainer(ctx context.Context, id, signal string) error
	// WaitContainer blocks until condition ("not-running", "next-exit", "removed") holds.
	WaitContainer(ctx context.Context, id, condition string) (*models.ContainerState, error)
	// RemoveContainer destroys the VM and its disk; a running one needs force.
	RemoveContainer(ctx context.Context, id string, force bool) error
	// RenameContainer renames the container and its VM; a name in use is errdefs.ErrConflict.
	RenameContainer(ctx context.Context, id, name string) (*models.ContainerInfo, error)
	// SetAnnotations replaces the core's records kept with the container.
	SetAnnotations(ctx context.Context, id string, annotations map[string]string) (*models.ContainerInfo, error)
	// ContainerLogs streams output.log records as newline-delimited wire.LogRecord JSON.
	ContainerLogs(ctx context.Context, id string, opts LogOptions) (io.ReadCloser, error)
}

// LogOptions select log records. Zero times mean unbounded; Tail < 0 means all.
type LogOptions struct {
	Follow bool
	Since  time.Time
	Until  time.Time
	Tail   int64
}

// Interaction attaches clients to a container's streams.
type Interaction interface {
	// Attach checks that id can be attached to and returns the attachment, which the sdk then serves on
	// the upgraded exchange. Errors returned here reach the client as ordinary error responses.
	Attach(ctx context.Context, id string, opts AttachOptions) (Attachment, error)
	// Resize changes the tty size of the main process.
	Resize(ctx context.Context, id string, height, width int64) error
}

// AttachOptions say which streams to attach and the detach key sequence (raw bytes; nil: none).
type AttachOptions struct {
	Stdin, Stdout, Stderr bool
	DetachKeys            []byte
}

// Attachment is an attach session ready to run.
type Attachment interface {
	// Serve copies between conn and the container until the process exits, the client detaches or goes
	// away, or ctx ends. Output is Docker's raw stream with a tty, else its multiplexed stream.
	Serve(ctx context.Context, conn Conn) error
}

// Conn is the upgraded exchange: reads are the client's stdin (io.EOF when it half-closes), writes its output.
type Conn interface {
	io.ReadWriteCloser
}

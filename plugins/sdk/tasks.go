package sdk

import (
	"context"

	"github.com/vice-engine/vice/swagger/gen/models"
)

// Tasks runs exec sessions: more processes in a running container, in its namespaces and cgroup, each with
// its own user, env, working directory and tty. A backend records a task with the containerVM (a
// non-persistent record, gone with its next power-off), so a task that runs outlives the endpoint that
// started it. Every method takes the full 64-hex container and task IDs; a malformed one is
// errdefs.ErrInvalid, an unknown container or task errdefs.ErrNotFound.
type Tasks interface {
	// CreateTask records a task, not started yet. A container that is not running, or is paused, is
	// errdefs.ErrConflict, and so is a task ID in use.
	CreateTask(ctx context.Context, containerID string, spec *models.TaskSpec) (*models.TaskInfo, error)
	// GetTask returns the task's spec and state.
	GetTask(ctx context.Context, containerID, taskID string) (*models.TaskInfo, error)
	// StartTask starts the task's process and returns its streams, framed as an attach's (opts say which;
	// stdin only when the task opened stdin). Closing the stream before the process exits leaves it
	// running. A process that cannot be started is errdefs.ErrInvalid with the reason (GetTask then has
	// its exit code, 126 or 127); a task started before, or a container no longer running or paused, is
	// errdefs.ErrConflict.
	StartTask(ctx context.Context, containerID, taskID string, opts AttachOptions) (Stream, error)
	// ResizeTask changes the size of the task's tty; a task without one, or not running, ignores it.
	ResizeTask(ctx context.Context, containerID, taskID string, height, width int64) error
	// SignalTask delivers signal (a name or a number) to the task's process; a task not running is
	// errdefs.ErrConflict, an unknown signal errdefs.ErrInvalid.
	SignalTask(ctx context.Context, containerID, taskID, signal string) error
	// WaitTask blocks until the task's process has exited (or its container has ended) and returns its
	// state then.
	WaitTask(ctx context.Context, containerID, taskID string) (*models.TaskState, error)
}

// RunningContainers acts on containers while they run: it freezes and resumes them, resizes them, and
// reads their process tables and resource usage from their guests. Container IDs are as for Containers.
type RunningContainers interface {
	// PauseContainer freezes a running container (its containerVM is suspended). A container that is not
	// running, or is paused already, is errdefs.ErrConflict.
	PauseContainer(ctx context.Context, id string) (*models.ContainerInfo, error)
	// UnpauseContainer resumes a paused container; one that is not paused is errdefs.ErrConflict.
	UnpauseContainer(ctx context.Context, id string) (*models.ContainerInfo, error)
	// UpdateResources changes the containerVM's size (zero fields left as they are): what a running VM
	// cannot take hot waits for its next start, said in the warnings. Values out of the backend's bounds
	// are errdefs.ErrInvalid.
	UpdateResources(ctx context.Context, id string, r *models.Resources) (*models.ResourcesUpdate, error)
	// TopContainer lists a running container's processes as ps prints them for psArgs (nil is "-ef");
	// arguments the guest's ps does not take are errdefs.ErrInvalid, a container not running or paused
	// errdefs.ErrConflict.
	TopContainer(ctx context.Context, id string, psArgs []string) (*models.ProcessList, error)
	// ContainerStats takes one sample of the container's usage; a container not running or paused gives a
	// sample with its limits only (Read empty).
	ContainerStats(ctx context.Context, id string) (*models.ContainerStats, error)
}

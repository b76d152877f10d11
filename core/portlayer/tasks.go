package portlayer

import (
	"context"
	"net/url"
	"strconv"
	"strings"

	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/swagger/gen/client/containers"
	"github.com/vice-engine/vice/swagger/gen/client/tasks"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// CreateTask records an exec session with the running container; it is started by StartTask.
func (c *Client) CreateTask(ctx context.Context, containerID string, spec *models.TaskSpec) (*models.TaskInfo, error) {
	ok, err := c.api.Tasks.CreateTaskContext(ctx, tasks.NewCreateTaskParamsWithTimeout(0).WithID(containerID).WithSpec(spec))
	if err != nil {
		return nil, classify("create task", err)
	}
	return ok.Payload, nil
}

// GetTask returns the task's spec and state.
func (c *Client) GetTask(ctx context.Context, containerID, taskID string) (*models.TaskInfo, error) {
	ok, err := c.api.Tasks.GetTaskContext(ctx, tasks.NewGetTaskParams().WithID(containerID).WithTask(taskID))
	if err != nil {
		return nil, classify("get task", err)
	}
	return ok.Payload, nil
}

// StartTask starts the task's process and upgrades an exchange to its streams, as AttachContainer does.
func (c *Client) StartTask(ctx context.Context, containerID, taskID string, o sdk.AttachOptions) (sdk.Stream, error) {
	q := url.Values{}
	q.Set("stdin", strconv.FormatBool(o.Stdin))
	q.Set("stdout", strconv.FormatBool(o.Stdout))
	q.Set("stderr", strconv.FormatBool(o.Stderr))
	return c.upgrade(ctx, "start task", "/containers/"+url.PathEscape(containerID)+"/tasks/"+url.PathEscape(taskID)+"/start", q)
}

// ResizeTask changes the size of the task's tty.
func (c *Client) ResizeTask(ctx context.Context, containerID, taskID string, height, width int64) error {
	p := tasks.NewResizeTaskParams().WithID(containerID).WithTask(taskID).WithHeight(height).WithWidth(width)
	_, err := c.api.Tasks.ResizeTaskContext(ctx, p)
	return classify("resize task", err)
}

// SignalTask delivers a signal to the task's process.
func (c *Client) SignalTask(ctx context.Context, containerID, taskID, signal string) error {
	p := tasks.NewSignalTaskParams().WithID(containerID).WithTask(taskID).WithSignal(signal)
	_, err := c.api.Tasks.SignalTaskContext(ctx, p)
	return classify("signal task", err)
}

// WaitTask blocks until the task's process has exited; it has no timeout of its own.
func (c *Client) WaitTask(ctx context.Context, containerID, taskID string) (*models.TaskState, error) {
	ok, err := c.api.Tasks.WaitTaskContext(ctx, tasks.NewWaitTaskParamsWithTimeout(0).WithID(containerID).WithTask(taskID))
	if err != nil {
		return nil, classify("wait task", err)
	}
	return ok.Payload, nil
}

// PauseContainer freezes a running container.
func (c *Client) PauseContainer(ctx context.Context, id string) (*models.ContainerInfo, error) {
	ok, err := c.api.Containers.PauseContainerContext(ctx, containers.NewPauseContainerParamsWithTimeout(0).WithID(id))
	if err != nil {
		return nil, classify("pause container", err)
	}
	return ok.Payload, nil
}

// UnpauseContainer resumes a paused container.
func (c *Client) UnpauseContainer(ctx context.Context, id string) (*models.ContainerInfo, error) {
	ok, err := c.api.Containers.UnpauseContainerContext(ctx, containers.NewUnpauseContainerParamsWithTimeout(0).WithID(id))
	if err != nil {
		return nil, classify("unpause container", err)
	}
	return ok.Payload, nil
}

// UpdateResources changes the containerVM's size, now or at its next start.
func (c *Client) UpdateResources(ctx context.Context, id string, r *models.Resources) (*models.ResourcesUpdate, error) {
	p := containers.NewUpdateResourcesParamsWithTimeout(0).WithID(id).WithResources(r)
	ok, err := c.api.Containers.UpdateResourcesContext(ctx, p)
	if err != nil {
		return nil, classify("update resources", err)
	}
	return ok.Payload, nil
}

// TopContainer lists the container's processes as ps prints them for psArgs.
func (c *Client) TopContainer(ctx context.Context, id string, psArgs []string) (*models.ProcessList, error) {
	p := containers.NewTopContainerParams().WithID(id)
	if len(psArgs) > 0 {
		p.SetPsArgs(ptr(strings.Join(psArgs, " ")))
	}
	ok, err := c.api.Containers.TopContainerContext(ctx, p)
	if err != nil {
		return nil, classify("top", err)
	}
	return ok.Payload, nil
}

// ContainerStats takes one sample of the container's resource usage.
func (c *Client) ContainerStats(ctx context.Context, id string) (*models.ContainerStats, error) {
	ok, err := c.api.Containers.GetContainerStatsContext(ctx, containers.NewGetContainerStatsParams().WithID(id))
	if err != nil {
		return nil, classify("stats", err)
	}
	return ok.Payload, nil
}

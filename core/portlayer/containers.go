package portlayer

import (
	"context"
	"time"

	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/swagger/gen/client/containers"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// ListContainers returns the containerVMs of the VCH that pass filter, as the inventory describes them.
func (c *Client) ListContainers(ctx context.Context, filter sdk.ListFilter) ([]*models.ContainerInfo, error) {
	p := containers.NewListContainersParamsWithTimeout(0).WithName(filter.Names).WithID(filter.IDs).WithStatus(filter.Statuses)
	ok, err := c.api.Containers.ListContainersContext(ctx, p)
	if err != nil {
		return nil, classify("list containers", err)
	}
	return ok.Payload, nil
}

// CreateContainer creates a powered-off containerVM from spec; an ID or name in use is errdefs.ErrConflict.
func (c *Client) CreateContainer(ctx context.Context, spec *models.ContainerSpec) (*models.ContainerInfo, error) {
	ok, err := c.api.Containers.CreateContainerContext(ctx, containers.NewCreateContainerParamsWithTimeout(0).WithSpec(spec))
	if err != nil {
		return nil, classify("create container", err)
	}
	return ok.Payload, nil
}

// GetContainer returns one container by its full ID; a missing one is errdefs.ErrNotFound.
func (c *Client) GetContainer(ctx context.Context, id string) (*models.ContainerInfo, error) {
	ok, err := c.api.Containers.GetContainerContext(ctx, containers.NewGetContainerParams().WithID(id))
	if err != nil {
		return nil, classify("get container", err)
	}
	return ok.Payload, nil
}

// StartContainer powers the containerVM on and returns once the guest reports the process running or
// failed to start (then the state is exited, with the guest's exit code and error).
func (c *Client) StartContainer(ctx context.Context, id string) (*models.ContainerInfo, error) {
	ok, err := c.api.Containers.StartContainerContext(ctx, containers.NewStartContainerParamsWithTimeout(0).WithID(id))
	if err != nil {
		return nil, classify("start container", err)
	}
	return ok.Payload, nil
}

// StopContainer sends signal (the container's stop signal when empty), waits up to timeout (for ever when
// negative) for the process to exit, then powers the containerVM off. A container not running is
// errdefs.ErrNotModified.
func (c *Client) StopContainer(ctx context.Context, id, signal string, timeout time.Duration) (*models.ContainerInfo, error) {
	p := containers.NewStopContainerParamsWithTimeout(0).WithID(id)
	if signal != "" {
		p.SetSignal(&signal)
	}
	secs := int64(-1)
	if timeout >= 0 {
		secs = int64(timeout / time.Second)
	}
	p.SetTimeout(&secs)
	ok, err := c.api.Containers.StopContainerContext(ctx, p)
	if err != nil {
		return nil, classify("stop container", err)
	}
	return ok.Payload, nil
}

// SignalContainer delivers signal (a name or a number) to the main process; a container not running is
// errdefs.ErrConflict.
func (c *Client) SignalContainer(ctx context.Context, id, signal string) error {
	_, err := c.api.Containers.SignalContainerContext(ctx, containers.NewSignalContainerParams().WithID(id).WithSignal(signal))
	return classify("signal container", err)
}

// WaitContainer blocks until condition ("not-running", "next-exit", "removed"; "" is not-running) holds and
// returns the state then. It has no timeout: cancel ctx to give up.
func (c *Client) WaitContainer(ctx context.Context, id, condition string) (*models.ContainerState, error) {
	p := containers.NewWaitContainerParamsWithTimeout(0).WithID(id)
	if condition != "" {
		p.SetCondition(&condition)
	}
	ok, err := c.api.Containers.WaitContainerContext(ctx, p)
	if err != nil {
		return nil, classify("wait container", err)
	}
	return ok.Payload, nil
}

// RemoveContainer destroys the containerVM and its disk; a running one only with force.
func (c *Client) RemoveContainer(ctx context.Context, id string, force bool) error {
	p := containers.NewRemoveContainerParamsWithTimeout(0).WithID(id)
	if force {
		p.SetForce(&force)
	}
	_, err := c.api.Containers.RemoveContainerContext(ctx, p)
	return classify("remove container", err)
}

// RenameContainer renames the container and its containerVM; a name in use is errdefs.ErrConflict.
func (c *Client) RenameContainer(ctx context.Context, id, name string) (*models.ContainerInfo, error) {
	ok, err := c.api.Containers.RenameContainerContext(ctx, containers.NewRenameContainerParams().WithID(id).WithName(name))
	if err != nil {
		return nil, classify("rename container", err)
	}
	return ok.Payload, nil
}

// SetAnnotations replaces the core's records kept with the container.
func (c *Client) SetAnnotations(ctx context.Context, id string, annotations map[string]string) (*models.ContainerInfo, error) {
	p := containers.NewSetAnnotationsParams().WithID(id).WithAnnotations(annotations)
	ok, err := c.api.Containers.SetAnnotationsContext(ctx, p)
	if err != nil {
		return nil, classify("set annotations", err)
	}
	return ok.Payload, nil
}

package sdk

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-openapi/runtime"
	"github.com/go-openapi/runtime/middleware"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
	"github.com/vice-engine/vice/swagger/gen/restapi/operations"
	"github.com/vice-engine/vice/swagger/gen/restapi/operations/containers"
	"github.com/vice-engine/vice/swagger/gen/restapi/operations/tasks"
)

func wireTasks(api *operations.PortlayerAPI, b Backend) {
	ts, ok := b.(Tasks)
	if !ok {
		ts = noTasks{name: b.Name()}
	}
	api.TasksCreateTaskHandler = tasks.CreateTaskHandlerFunc(func(p tasks.CreateTaskParams) middleware.Responder {
		ti, err := ts.CreateTask(p.HTTPRequest.Context(), p.ID, p.Spec)
		if err != nil {
			return errorResponder(err)
		}
		return tasks.NewCreateTaskCreated().WithPayload(ti)
	})
	api.TasksGetTaskHandler = tasks.GetTaskHandlerFunc(func(p tasks.GetTaskParams) middleware.Responder {
		ti, err := ts.GetTask(p.HTTPRequest.Context(), p.ID, p.Task)
		if err != nil {
			return errorResponder(err)
		}
		return tasks.NewGetTaskOK().WithPayload(ti)
	})
	api.TasksStartTaskHandler = tasks.StartTaskHandlerFunc(func(p tasks.StartTaskParams) middleware.Responder {
		opts := AttachOptions{Stdin: isTrue(p.Stdin), Stdout: isTrue(p.Stdout), Stderr: isTrue(p.Stderr)}
		ctx := p.HTTPRequest.Context()
		st, err := ts.StartTask(ctx, p.ID, p.Task, opts)
		if err != nil {
			return errorResponder(err)
		}
		return middleware.ResponderFunc(func(w http.ResponseWriter, _ runtime.Producer) {
			conn, _, err := Upgrade(w)
			if err != nil {
				st.Close()
				WriteError(w, err)
				return
			}
			serveStream(ctx, conn, st)
		})
	})
	api.TasksResizeTaskHandler = tasks.ResizeTaskHandlerFunc(func(p tasks.ResizeTaskParams) middleware.Responder {
		if err := ts.ResizeTask(p.HTTPRequest.Context(), p.ID, p.Task, p.Height, p.Width); err != nil {
			return errorResponder(err)
		}
		return tasks.NewResizeTaskNoContent()
	})
	api.TasksSignalTaskHandler = tasks.SignalTaskHandlerFunc(func(p tasks.SignalTaskParams) middleware.Responder {
		if err := ts.SignalTask(p.HTTPRequest.Context(), p.ID, p.Task, p.Signal); err != nil {
			return errorResponder(err)
		}
		return tasks.NewSignalTaskNoContent()
	})
	api.TasksWaitTaskHandler = tasks.WaitTaskHandlerFunc(func(p tasks.WaitTaskParams) middleware.Responder {
		st, err := ts.WaitTask(p.HTTPRequest.Context(), p.ID, p.Task)
		if err != nil {
			return errorResponder(err)
		}
		return tasks.NewWaitTaskOK().WithPayload(st)
	})
}

func wireRunning(api *operations.PortlayerAPI, b Backend) {
	rc, ok := b.(RunningContainers)
	if !ok {
		rc = noRunning{name: b.Name()}
	}
	api.ContainersPauseContainerHandler = containers.PauseContainerHandlerFunc(func(p containers.PauseContainerParams) middleware.Responder {
		i, err := rc.PauseContainer(p.HTTPRequest.Context(), p.ID)
		if err != nil {
			return errorResponder(err)
		}
		return containers.NewPauseContainerOK().WithPayload(i)
	})
	api.ContainersUnpauseContainerHandler = containers.UnpauseContainerHandlerFunc(func(p containers.UnpauseContainerParams) middleware.Responder {
		i, err := rc.UnpauseContainer(p.HTTPRequest.Context(), p.ID)
		if err != nil {
			return errorResponder(err)
		}
		return containers.NewUnpauseContainerOK().WithPayload(i)
	})
	api.ContainersUpdateResourcesHandler = containers.UpdateResourcesHandlerFunc(func(p containers.UpdateResourcesParams) middleware.Responder {
		u, err := rc.UpdateResources(p.HTTPRequest.Context(), p.ID, p.Resources)
		if err != nil {
			return errorResponder(err)
		}
		return containers.NewUpdateResourcesOK().WithPayload(u)
	})
	api.ContainersTopContainerHandler = containers.TopContainerHandlerFunc(func(p containers.TopContainerParams) middleware.Responder {
		var args []string
		if p.PsArgs != nil {
			args = strings.Fields(*p.PsArgs)
		}
		pl, err := rc.TopContainer(p.HTTPRequest.Context(), p.ID, args)
		if err != nil {
			return errorResponder(err)
		}
		return containers.NewTopContainerOK().WithPayload(pl)
	})
	api.ContainersGetContainerStatsHandler = containers.GetContainerStatsHandlerFunc(func(p containers.GetContainerStatsParams) middleware.Responder {
		st, err := rc.ContainerStats(p.HTTPRequest.Context(), p.ID)
		if err != nil {
			return errorResponder(err)
		}
		return containers.NewGetContainerStatsOK().WithPayload(st)
	})
}

type noTasks struct{ name string }

func (n noTasks) err() error {
	return fmt.Errorf("tasks (exec) on backend %s: %w", n.name, errdefs.ErrNotImplemented)
}
func (n noTasks) CreateTask(context.Context, string, *models.TaskSpec) (*models.TaskInfo, error) {
	return nil, n.err()
}
func (n noTasks) GetTask(context.Context, string, string) (*models.TaskInfo, error) {
	return nil, n.err()
}
func (n noTasks) StartTask(context.Context, string, string, AttachOptions) (Stream, error) {
	return nil, n.err()
}
func (n noTasks) ResizeTask(context.Context, string, string, int64, int64) error { return n.err() }
func (n noTasks) SignalTask(context.Context, string, string, string) error       { return n.err() }
func (n noTasks) WaitTask(context.Context, string, string) (*models.TaskState, error) {
	return nil, n.err()
}

type noRunning struct{ name string }

func (n noRunning) err(what string) error {
	return fmt.Errorf("%s on backend %s: %w", what, n.name, errdefs.ErrNotImplemented)
}
func (n noRunning) PauseContainer(context.Context, string) (*models.ContainerInfo, error) {
	return nil, n.err("pause")
}
func (n noRunning) UnpauseContainer(context.Context, string) (*models.ContainerInfo, error) {
	return nil, n.err("unpause")
}
func (n noRunning) UpdateResources(context.Context, string, *models.Resources) (*models.ResourcesUpdate, error) {
	return nil, n.err("resources update")
}
func (n noRunning) TopContainer(context.Context, string, []string) (*models.ProcessList, error) {
	return nil, n.err("top")
}
func (n noRunning) ContainerStats(context.Context, string) (*models.ContainerStats, error) {
	return nil, n.err("stats")
}

package sdk

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/go-openapi/runtime"
	"github.com/go-openapi/runtime/middleware"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
	"github.com/vice-engine/vice/swagger/gen/restapi/operations"
	"github.com/vice-engine/vice/swagger/gen/restapi/operations/containers"
	"github.com/vice-engine/vice/swagger/gen/restapi/operations/interaction"
)

func wireContainers(api *operations.PortlayerAPI, b Backend) {
	cs, ok := b.(Containers)
	if !ok {
		cs = noContainers{name: b.Name()}
	}
	listed := &listedSpecs{}
	info := func(i *models.ContainerInfo, err error) (*models.ContainerInfo, middleware.Responder) {
		if err != nil {
			return nil, errorResponder(err)
		}
		return i, nil
	}
	api.ContainersListContainersHandler = containers.ListContainersHandlerFunc(func(p containers.ListContainersParams) middleware.Responder {
		list, err := cs.ListContainers(p.HTTPRequest.Context(), ListFilter{Names: p.Name, IDs: p.ID, Statuses: p.Status})
		if err != nil {
			return errorResponder(err)
		}
		if list == nil {
			list = []*models.ContainerInfo{}
		}
		return listed.responder(list, p.KnownSpec)
	})
	api.ContainersCreateContainerHandler = containers.CreateContainerHandlerFunc(func(p containers.CreateContainerParams) middleware.Responder {
		i, r := info(cs.CreateContainer(p.HTTPRequest.Context(), p.Spec))
		if r != nil {
			return r
		}
		return containers.NewCreateContainerCreated().WithPayload(i)
	})
	api.ContainersGetContainerHandler = containers.GetContainerHandlerFunc(func(p containers.GetContainerParams) middleware.Responder {
		i, r := info(cs.GetContainer(p.HTTPRequest.Context(), p.ID))
		if r != nil {
			return r
		}
		return containers.NewGetContainerOK().WithPayload(i)
	})
	api.ContainersStartContainerHandler = containers.StartContainerHandlerFunc(func(p containers.StartContainerParams) middleware.Responder {
		i, r := info(cs.StartContainer(p.HTTPRequest.Context(), p.ID))
		if r != nil {
			return r
		}
		return containers.NewStartContainerOK().WithPayload(i)
	})
	api.ContainersStopContainerHandler = containers.StopContainerHandlerFunc(func(p containers.StopContainerParams) middleware.Responder {
		signal, timeout := "", time.Duration(-1)
		if p.Signal != nil {
			signal = *p.Signal
		}
		if p.Timeout != nil && *p.Timeout >= 0 {
			timeout = time.Duration(*p.Timeout) * time.Second
		}
		i, r := info(cs.StopContainer(p.HTTPRequest.Context(), p.ID, signal, timeout))
		if r != nil {
			return r
		}
		return containers.NewStopContainerOK().WithPayload(i)
	})
	api.ContainersSignalContainerHandler = containers.SignalContainerHandlerFunc(func(p containers.SignalContainerParams) middleware.Responder {
		if err := cs.SignalContainer(p.HTTPRequest.Context(), p.ID, p.Signal); err != nil {
			return errorResponder(err)
		}
		return containers.NewSignalContainerNoContent()
	})
	api.ContainersWaitContainerHandler = containers.WaitContainerHandlerFunc(func(p containers.WaitContainerParams) middleware.Responder {
		st, err := cs.WaitContainer(p.HTTPRequest.Context(), p.ID, *p.Condition)
		if err != nil {
			return errorResponder(err)
		}
		return containers.NewWaitContainerOK().WithPayload(st)
	})
	api.ContainersRemoveContainerHandler = containers.RemoveContainerHandlerFunc(func(p containers.RemoveContainerParams) middleware.Responder {
		if err := cs.RemoveContainer(p.HTTPRequest.Context(), p.ID, p.Force != nil && *p.Force); err != nil {
			return errorResponder(err)
		}
		return containers.NewRemoveContainerNoContent()
	})
	api.ContainersRenameContainerHandler = containers.RenameContainerHandlerFunc(func(p containers.RenameContainerParams) middleware.Responder {
		i, r := info(cs.RenameContainer(p.HTTPRequest.Context(), p.ID, p.Name))
		if r != nil {
			return r
		}
		return containers.NewRenameContainerOK().WithPayload(i)
	})
	api.ContainersSetAnnotationsHandler = containers.SetAnnotationsHandlerFunc(func(p containers.SetAnnotationsParams) middleware.Responder {
		i, r := info(cs.SetAnnotations(p.HTTPRequest.Context(), p.ID, p.Annotations))
		if r != nil {
			return r
		}
		return containers.NewSetAnnotationsOK().WithPayload(i)
	})
	api.ContainersGetContainerLogsHandler = containers.GetContainerLogsHandlerFunc(func(p containers.GetContainerLogsParams) middleware.Responder {
		opts := LogOptions{Follow: p.Follow != nil && *p.Follow, Tail: -1}
		if p.Since != nil && *p.Since > 0 {
			opts.Since = time.Unix(0, *p.Since)
		}
		if p.Until != nil && *p.Until > 0 {
			opts.Until = time.Unix(0, *p.Until)
		}
		if p.Tail != nil {
			opts.Tail = *p.Tail
		}
		rc, err := cs.ContainerLogs(p.HTTPRequest.Context(), p.ID, opts)
		if err != nil {
			return errorResponder(err)
		}
		return middleware.ResponderFunc(func(w http.ResponseWriter, _ runtime.Producer) {
			defer rc.Close()
			w.Header().Set("Content-Type", "application/x-ndjson")
			w.WriteHeader(http.StatusOK)
			if !opts.Follow {
				// The log as it is now: the transport sends a short one with its head in one message.
				_, _ = io.Copy(w, rc)
				return
			}
			flush(w)
			copyFlushing(w, rc)
		})
	})
	wireInteraction(api, b)
}

// copyFlushing copies a stream, flushing after every read so followers see records as they come.
func copyFlushing(w http.ResponseWriter, r io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			flush(w)
		}
		if err != nil {
			return
		}
	}
}

func wireInteraction(api *operations.PortlayerAPI, b Backend) {
	ia, ok := b.(Interaction)
	if !ok {
		ia = noInteraction{name: b.Name()}
	}
	api.InteractionAttachContainerHandler = interaction.AttachContainerHandlerFunc(func(p interaction.AttachContainerParams) middleware.Responder {
		opts := AttachOptions{Stdin: isTrue(p.Stdin), Stdout: isTrue(p.Stdout), Stderr: isTrue(p.Stderr)}
		ctx := p.HTTPRequest.Context()
		st, err := ia.AttachContainer(ctx, p.ID, opts)
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
	api.InteractionResizeContainerHandler = interaction.ResizeContainerHandlerFunc(func(p interaction.ResizeContainerParams) middleware.Responder {
		if err := ia.ResizeContainer(p.HTTPRequest.Context(), p.ID, p.Height, p.Width); err != nil {
			return errorResponder(err)
		}
		return interaction.NewResizeContainerNoContent()
	})
}

// serveStream splices an upgraded exchange with a process's stream until the output ends (the process
// exited), the client goes away, or ctx ends. The client's half-close (io.EOF) closes the process's stdin;
// any other end of its input only ends the attach.
func serveStream(ctx context.Context, conn io.ReadWriteCloser, st Stream) {
	defer conn.Close()
	defer st.Close()
	go func() {
		if _, err := io.Copy(st, conn); err == nil {
			_ = st.CloseWrite()
			return
		}
		st.Close()
	}()
	stop := context.AfterFunc(ctx, func() { st.Close() })
	defer stop()
	_, _ = io.Copy(conn, st)
}

func isTrue(b *bool) bool { return b != nil && *b }

type noContainers struct{ name string }

func (n noContainers) err() error {
	return fmt.Errorf("containers of backend %s: %w", n.name, errdefs.ErrNotImplemented)
}
func (n noContainers) CreateContainer(context.Context, *models.ContainerSpec) (*models.ContainerInfo, error) {
	return nil, n.err()
}
func (n noContainers) ListContainers(context.Context, ListFilter) ([]*models.ContainerInfo, error) {
	return nil, n.err()
}
func (n noContainers) GetContainer(context.Context, string) (*models.ContainerInfo, error) {
	return nil, n.err()
}
func (n noContainers) StartContainer(context.Context, string) (*models.ContainerInfo, error) {
	return nil, n.err()
}
func (n noContainers) StopContainer(context.Context, string, string, time.Duration) (*models.ContainerInfo, error) {
	return nil, n.err()
}
func (n noContainers) SignalContainer(context.Context, string, string) error { return n.err() }
func (n noContainers) WaitContainer(context.Context, string, string) (*models.ContainerState, error) {
	return nil, n.err()
}
func (n noContainers) RemoveContainer(context.Context, string, bool) error { return n.err() }
func (n noContainers) RenameContainer(context.Context, string, string) (*models.ContainerInfo, error) {
	return nil, n.err()
}
func (n noContainers) SetAnnotations(context.Context, string, map[string]string) (*models.ContainerInfo, error) {
	return nil, n.err()
}
func (n noContainers) ContainerLogs(context.Context, string, LogOptions) (io.ReadCloser, error) {
	return nil, n.err()
}

type noInteraction struct{ name string }

func (n noInteraction) AttachContainer(context.Context, string, AttachOptions) (Stream, error) {
	return nil, fmt.Errorf("attach on backend %s: %w", n.name, errdefs.ErrNotImplemented)
}
func (n noInteraction) ResizeContainer(context.Context, string, int64, int64) error {
	return fmt.Errorf("resize on backend %s: %w", n.name, errdefs.ErrNotImplemented)
}

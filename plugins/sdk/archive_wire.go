package sdk

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/go-openapi/runtime"
	"github.com/go-openapi/runtime/middleware"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
	"github.com/vice-engine/vice/swagger/gen/restapi/operations"
	"github.com/vice-engine/vice/swagger/gen/restapi/operations/archive"
)

func wireArchive(api *operations.PortlayerAPI, b Backend) {
	ar, ok := b.(Archive)
	if !ok {
		ar = noArchive{name: b.Name()}
	}
	api.ArchiveStatPathHandler = archive.StatPathHandlerFunc(func(p archive.StatPathParams) middleware.Responder {
		st, err := ar.StatPath(p.HTTPRequest.Context(), p.ID, p.Path)
		if err != nil {
			return errorResponder(err)
		}
		return archive.NewStatPathOK().WithPayload(st)
	})
	api.ArchiveReadArchiveHandler = archive.ReadArchiveHandlerFunc(func(p archive.ReadArchiveParams) middleware.Responder {
		return tarResponder(ar.ReadArchive(p.HTTPRequest.Context(), p.ID, p.Path))
	})
	api.ArchiveWriteArchiveHandler = archive.WriteArchiveHandlerFunc(func(p archive.WriteArchiveParams) middleware.Responder {
		defer p.Archive.Close()
		opts := WriteArchiveOptions{NoOverwriteDirNonDir: isTrue(p.NoOverwriteDirNonDir), CopyUIDGID: isTrue(p.CopyUIDGID)}
		if err := ar.WriteArchive(p.HTTPRequest.Context(), p.ID, p.Path, opts, p.Archive); err != nil {
			return errorResponder(err)
		}
		return archive.NewWriteArchiveNoContent()
	})
	api.ArchiveGetContainerChangesHandler = archive.GetContainerChangesHandlerFunc(func(p archive.GetContainerChangesParams) middleware.Responder {
		list, err := ar.ContainerChanges(p.HTTPRequest.Context(), p.ID)
		if err != nil {
			return errorResponder(err)
		}
		if list == nil {
			list = []*models.FileChange{}
		}
		return archive.NewGetContainerChangesOK().WithPayload(list)
	})
	api.ArchiveReadContainerDiffHandler = archive.ReadContainerDiffHandlerFunc(func(p archive.ReadContainerDiffParams) middleware.Responder {
		return tarResponder(ar.ReadContainerDiff(p.HTTPRequest.Context(), p.ID))
	})
	api.ArchiveExportContainerHandler = archive.ExportContainerHandlerFunc(func(p archive.ExportContainerParams) middleware.Responder {
		return tarResponder(ar.ExportContainer(p.HTTPRequest.Context(), p.ID))
	})
	du, ok := b.(DiskUsage)
	if !ok {
		du = noDiskUsage{name: b.Name()}
	}
	api.ArchiveGetContainerUsageHandler = archive.GetContainerUsageHandlerFunc(func(p archive.GetContainerUsageParams) middleware.Responder {
		u, err := du.ContainerUsage(p.HTTPRequest.Context(), p.ID)
		if err != nil {
			return errorResponder(err)
		}
		return archive.NewGetContainerUsageOK().WithPayload(u)
	})
}

// tarResponder streams a tar, or answers the error that kept it from starting. A failure mid-stream can only
// cut the stream short: the client sees a truncated tar.
func tarResponder(rc io.ReadCloser, err error) middleware.Responder {
	if err != nil {
		return errorResponder(err)
	}
	return middleware.ResponderFunc(func(w http.ResponseWriter, _ runtime.Producer) {
		defer rc.Close()
		w.Header().Set("Content-Type", "application/x-tar")
		w.WriteHeader(http.StatusOK)
		_, _ = io.Copy(w, rc)
	})
}

type noArchive struct{ name string }

func (n noArchive) err() error {
	return fmt.Errorf("archive of backend %s: %w", n.name, errdefs.ErrNotImplemented)
}
func (n noArchive) StatPath(context.Context, string, string) (*models.PathStat, error) {
	return nil, n.err()
}
func (n noArchive) ReadArchive(context.Context, string, string) (io.ReadCloser, error) {
	return nil, n.err()
}
func (n noArchive) WriteArchive(context.Context, string, string, WriteArchiveOptions, io.Reader) error {
	return n.err()
}
func (n noArchive) ContainerChanges(context.Context, string) ([]*models.FileChange, error) {
	return nil, n.err()
}
func (n noArchive) ReadContainerDiff(context.Context, string) (io.ReadCloser, error) {
	return nil, n.err()
}
func (n noArchive) ExportContainer(context.Context, string) (io.ReadCloser, error) {
	return nil, n.err()
}

type noDiskUsage struct{ name string }

func (n noDiskUsage) ContainerUsage(context.Context, string) (*models.ContainerUsage, error) {
	return nil, fmt.Errorf("disk usage of backend %s: %w", n.name, errdefs.ErrNotImplemented)
}

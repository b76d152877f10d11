package portlayer

import (
	"context"
	"io"
	"net/http"

	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/swagger/gen/client/archive"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// StatPath describes what is at path in the container's filesystem; a missing path is errdefs.ErrNotFound.
func (c *Client) StatPath(ctx context.Context, id, path string) (*models.PathStat, error) {
	ok, err := c.api.Archive.StatPathContext(ctx, archive.NewStatPathParams().WithID(id).WithPath(path))
	if err != nil {
		return nil, classify("stat path", err)
	}
	return ok.Payload, nil
}

// ReadArchive streams a tar of what is at path in the container's filesystem. It returns once the port layer
// has answered; closing the reader (or cancelling ctx) ends the stream.
func (c *Client) ReadArchive(ctx context.Context, id, path string) (io.ReadCloser, error) {
	answered := make(chan int, 1)
	hc := &http.Client{Transport: headerSignal{rt: c.rt, status: answered}}
	params := archive.NewReadArchiveParamsWithTimeout(0).WithID(id).WithPath(path).WithHTTPClient(hc)
	return openStream(ctx, "read archive", answered, func(ctx context.Context, w io.Writer) error {
		_, err := c.api.Archive.ReadArchiveContext(ctx, params, w)
		return err
	})
}

// WriteArchive extracts the tar read from r into the directory path of the container's filesystem. The
// request has no timeout: cancel ctx to stop it.
func (c *Client) WriteArchive(ctx context.Context, id, path string, opts sdk.WriteArchiveOptions, r io.Reader) error {
	p := archive.NewWriteArchiveParamsWithTimeout(0).WithID(id).WithPath(path).WithArchive(io.NopCloser(r))
	if opts.NoOverwriteDirNonDir {
		p.SetNoOverwriteDirNonDir(&opts.NoOverwriteDirNonDir)
	}
	if opts.CopyUIDGID {
		p.SetCopyUIDGID(&opts.CopyUIDGID)
	}
	_, err := c.api.Archive.WriteArchiveContext(ctx, p)
	return classify("write archive", err)
}

// ContainerChanges lists the changes of the container's filesystem against its image.
func (c *Client) ContainerChanges(ctx context.Context, id string) ([]*models.FileChange, error) {
	ok, err := c.api.Archive.GetContainerChangesContext(ctx, archive.NewGetContainerChangesParams().WithID(id))
	if err != nil {
		return nil, classify("container changes", err)
	}
	return ok.Payload, nil
}

// ContainerUsage measures the space the container's own writes take on its disk.
func (c *Client) ContainerUsage(ctx context.Context, id string) (*models.ContainerUsage, error) {
	ok, err := c.api.Archive.GetContainerUsageContext(ctx, archive.NewGetContainerUsageParams().WithID(id))
	if err != nil {
		return nil, classify("container usage", err)
	}
	return ok.Payload, nil
}

// ReadContainerDiff streams the container's changes as an uncompressed layer diff.
func (c *Client) ReadContainerDiff(ctx context.Context, id string) (io.ReadCloser, error) {
	answered := make(chan int, 1)
	hc := &http.Client{Transport: headerSignal{rt: c.rt, status: answered}}
	params := archive.NewReadContainerDiffParamsWithTimeout(0).WithID(id).WithHTTPClient(hc)
	return openStream(ctx, "read container diff", answered, func(ctx context.Context, w io.Writer) error {
		_, err := c.api.Archive.ReadContainerDiffContext(ctx, params, w)
		return err
	})
}

// ExportContainer streams the container's whole root filesystem as a tar.
func (c *Client) ExportContainer(ctx context.Context, id string) (io.ReadCloser, error) {
	answered := make(chan int, 1)
	hc := &http.Client{Transport: headerSignal{rt: c.rt, status: answered}}
	params := archive.NewExportContainerParamsWithTimeout(0).WithID(id).WithHTTPClient(hc)
	return openStream(ctx, "export container", answered, func(ctx context.Context, w io.Writer) error {
		_, err := c.api.Archive.ExportContainerContext(ctx, params, w)
		return err
	})
}

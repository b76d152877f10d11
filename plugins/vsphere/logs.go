package vsphere

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path"
	"time"

	"github.com/vmware/govmomi/vim25/soap"

	"github.com/vice-engine/vice/plugins/sdk"
)

// followInterval is how often a followed log is read again from where the last read ended. The datastore
// has no change notification for files, so following is polling, with HTTP ranges to read only what is new.
const followInterval = 200 * time.Millisecond

// ContainerLogs streams output.log from the datastore: the records selected by opts, unchanged, one per line.
func (b *Backend) ContainerLogs(ctx context.Context, id string, opts sdk.LogOptions) (io.ReadCloser, error) {
	if !opts.Follow {
		if folder, ok := b.ctr.folders.Load(id); ok {
			return b.logsIn(ctx, id, folder.(string), opts)
		}
	}
	c, err := b.describedContainerVM(ctx, id)
	if err != nil {
		return nil, err
	}
	rel := path.Join(c.folder(), outputLog)
	var fl *follower
	if opts.Follow {
		fl = b.ctr.logs.join(id) // before the first read: a removal from now on reads the rest for us
	}
	data, err := b.readRange(ctx, rel, 0)
	if err != nil {
		if fl != nil {
			fl.leave()
		}
		return nil, fmt.Errorf("logs of container %s: %w", id, err)
	}
	return b.streamLogs(ctx, c, rel, data, opts, fl), nil
}

// logsIn reads the log of container id from its VM's folder, known from an earlier read, without reading
// the VM: the log is all a non-following read needs. A log that is there says the container's folder is
// (a removal deletes it); a missing one (a container that never ran) is told apart from a container that is
// gone by reading the VM then.
func (b *Backend) logsIn(ctx context.Context, id, folder string, opts sdk.LogOptions) (io.ReadCloser, error) {
	rel := path.Join(folder, outputLog)
	data, exists, err := b.readFileRange(ctx, rel, 0)
	if err != nil {
		return nil, fmt.Errorf("logs of container %s: %w", id, err)
	}
	if !exists {
		if _, err := b.describedContainerVM(ctx, id); err != nil {
			return nil, err
		}
	}
	return b.streamLogs(ctx, nil, rel, data, opts, nil), nil
}

// streamLogs streams the records of data (output.log from its start) that opts select, then, when
// following (fl is the follower joined for it), what is appended to rel while c runs.
func (b *Backend) streamLogs(ctx context.Context, c *containerVM, rel string, data []byte, opts sdk.LogOptions,
	fl *follower) io.ReadCloser {
	if !opts.Follow {
		// The log as it is: selected here, with no goroutine to hand it over.
		return io.NopCloser(bytes.NewReader(sdk.SelectLog(data, opts)))
	}
	lines, rest := sdk.LogLines(data, opts.Tail)
	pr, pw := io.Pipe()
	go func() {
		f := sdk.LogFilter{Opts: opts}
		offset := int64(len(data))
		if !f.Write(pw, lines) || f.Done {
			if fl != nil {
				fl.leave()
			}
			pw.Close()
			return
		}
		pw.CloseWithError(b.followLog(ctx, c, rel, offset, rest, &f, pw, fl))
	}()
	return pr
}

// followLog reads what is appended to rel until the container stops running and the file is drained, the
// reader goes away, until is passed, or ctx ends. A container removed meanwhile ends it with what its
// removal read of the file (logFollowers).
func (b *Backend) followLog(ctx context.Context, c *containerVM, rel string, offset int64, partial []byte,
	f *sdk.LogFilter, w io.Writer, fl *follower) error {
	defer fl.leave()
	ticker := time.NewTicker(followInterval)
	defer ticker.Stop()
	for {
		fl.readTo(offset)
		// The state is read before the file, so output written before the container stopped is read too.
		cur, err := b.readVM(ctx, c.ref)
		stopped := isGone(err) || (err == nil && !cur.state().Running)
		if err != nil && !stopped {
			return err
		}
		data, err := b.readRange(ctx, rel, offset)
		if err != nil && !isGone(err) {
			return err
		}
		offset += int64(len(data))
		if rest, removed := fl.final(offset); removed {
			data, stopped = append(data, rest...), true
			offset += int64(len(rest))
		}
		lines, rest := sdk.LogLines(append(partial, data...), -1)
		partial = rest
		if !f.Write(w, lines) || f.Done || stopped {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		case <-fl.removal():
		}
	}
}

// readRange reads rel from offset to its end; a file that does not exist (the container never ran) is empty.
func (b *Backend) readRange(ctx context.Context, rel string, offset int64) ([]byte, error) {
	data, _, err := b.readFileRange(ctx, rel, offset)
	return data, err
}

// readFileRange is readRange that also says whether the file exists.
func (b *Backend) readFileRange(ctx context.Context, rel string, offset int64) (data []byte, exists bool, err error) {
	ds := b.where.datastore
	if l := b.layers.local.Load(); l != nil {
		// The datastore's files are on this machine (the simulator's): read the file where it is.
		return l.readFileRange(ds.Path(rel), offset)
	}
	return b.downloadRange(ctx, rel, offset)
}

// downloadRange is readFileRange through the datastore's HTTP API.
func (b *Backend) downloadRange(ctx context.Context, rel string, offset int64) (data []byte, exists bool, err error) {
	ds := b.where.datastore
	u, ticket, err := ds.ServiceTicket(ctx, rel, http.MethodGet)
	if err != nil {
		return nil, false, classify(err, "read "+ds.Path(rel))
	}
	dl := &soap.Download{Method: http.MethodGet, Ticket: ticket}
	if offset > 0 {
		dl.Headers = map[string]string{"Range": fmt.Sprintf("bytes=%d-", offset)}
	}
	res, err := b.sess.client.DownloadRequest(ctx, u, dl)
	if err != nil {
		return nil, false, classify(err, "read "+ds.Path(rel))
	}
	defer res.Body.Close()
	switch res.StatusCode {
	case http.StatusNotFound:
		return nil, false, nil
	case http.StatusRequestedRangeNotSatisfiable: // nothing past offset
		return nil, true, nil
	case http.StatusOK:
		// A server that ignores ranges sends it all: skip what was read before.
		if _, err := io.CopyN(io.Discard, res.Body, offset); err != nil {
			return nil, true, nil // the file is shorter than before: it was replaced, nothing new to say
		}
	case http.StatusPartialContent:
	default:
		return nil, false, fmt.Errorf("read %s: %s: %w", ds.Path(rel), res.Status, httpStatusClass(res.StatusCode))
	}
	data, err = io.ReadAll(res.Body)
	if err != nil {
		return nil, false, classify(err, "read "+ds.Path(rel))
	}
	return data, true, nil
}

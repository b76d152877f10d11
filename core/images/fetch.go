package images

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/vice-engine/vice/core/imagec"
	"github.com/vice-engine/vice/core/portlayer"
	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// layerJob is one layer of a pull.
type layerJob struct {
	layer  imagec.Layer
	chain  string
	parent string
	short  string // the 12 hex of the blob digest that progress lines are keyed by
	info   *models.LayerInfo
	fl     *flight   // the flight this pull owns, or waits on
	owner  bool      // set before the writes start, never changed
	prev   *layerJob // the parent's job; nil for a base layer

	// An owned layer's write: started is closed once it holds a download slot (or gave up), done once it
	// ended, with info or err.
	started  chan struct{}
	done     chan struct{}
	err      error
	finished bool // its flight is finished (fetchLayers' goroutine only)
}

// fetchLayers makes sure every layer of img is in the layer store: layers there already are skipped, layers
// another pull is writing are waited for, the rest stream from the registry straight into the port layer.
// Nothing is spooled: the blob's digest is checked as it streams, and a blob that does not match breaks the
// upload before its end, so the backend never commits it. The layers stream at once, as many as the download
// slots allow: the backend unpacks a child while its parent is still being written, and commits them parent
// first.
func (s *Service) fetchLayers(ctx context.Context, img *imagec.Image, out ProgressFunc) ([]LayerRecord, error) {
	existing, err := s.pl.ListLayers(ctx)
	if err != nil {
		return nil, fmt.Errorf("list layers: %w", err)
	}
	have := make(map[string]*models.LayerInfo, len(existing))
	for _, l := range existing {
		have[*l.ID] = l
	}

	jobs := make([]*layerJob, len(img.Layers))
	var prev *layerJob
	for i, l := range img.Layers {
		j := &layerJob{layer: l, chain: chainID(parentChain(prev), l.DiffID.String()), short: l.Digest.Hex[:12], prev: prev}
		j.parent = parentChain(prev)
		prev, jobs[i] = j, j
		if j.info = have[j.chain]; j.info != nil {
			out(status(j.short, "Already exists"))
			continue
		}
		j.fl, j.owner = s.flights.claim(j.chain)
		out(Message{ID: j.short, Status: "Pulling fs layer", Detail: zeroProgress()})
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		rootErr error // the first write to fail; the others may only have been stopped because of it
	)
	for _, j := range jobs {
		if !j.owner {
			continue
		}
		j.started, j.done = make(chan struct{}), make(chan struct{})
		wg.Go(func() {
			defer close(j.done)
			j.info, j.err = s.writeOwned(ctx, img, j, out)
			if j.err != nil {
				mu.Lock()
				if rootErr == nil {
					rootErr = j.err
				}
				mu.Unlock()
				cancel() // the layers after it cannot be committed
			}
		})
	}

	records := make([]LayerRecord, len(jobs))
	for i, j := range jobs {
		if err := s.settle(ctx, j, out); err != nil {
			cancel()
			wg.Wait()
			mu.Lock()
			if rootErr != nil && !errors.Is(rootErr, context.Canceled) {
				err = rootErr
			}
			mu.Unlock()
			s.dropAbove(ctx, jobs[i:])
			for _, rest := range jobs[i:] {
				if rest.owner && !rest.finished {
					s.flights.finish(rest.chain, rest.fl, nil, err)
					rest.finished = true
				}
			}
			return nil, err
		}
		records[i] = LayerRecord{ChainID: j.chain, DiffID: j.layer.DiffID.String(), Size: layerSize(j.info),
			Digest: j.layer.Digest.String()}
	}
	wg.Wait()
	return records, nil
}

// dropAbove removes, children first, what this pull left of a chain from its failed layer jobs[0] up: the
// layers above it that the backend committed all the same (it commits a child as soon as its parent is, and
// a cancelled upload may have been committed before the cancel), and the failed layer when one of them kept
// it from being removed. Their chain IDs hang on a layer that failed: they are no image's. This pull owns
// them: no other pull or load of this store writes a layer this one claimed.
func (s *Service) dropAbove(ctx context.Context, jobs []*layerJob) {
	ctx = context.WithoutCancel(ctx)
	for k := len(jobs) - 1; k >= 0; k-- {
		if j := jobs[k]; j.owner {
			if err := s.pl.RemoveLayer(ctx, j.chain); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
				s.log.Warn("could not remove a layer of a failed pull", "layer", j.short, "err", err)
			}
		}
	}
}

func parentChain(j *layerJob) string {
	if j == nil {
		return ""
	}
	return j.chain
}

// settle waits for one layer to be complete in the layer store, written by this pull or another.
func (s *Service) settle(ctx context.Context, j *layerJob, out ProgressFunc) error {
	switch {
	case !j.owner && j.fl == nil:
		return nil // there already
	case !j.owner:
		info, err := j.fl.wait(ctx)
		if err != nil {
			return fmt.Errorf("layer %s (written by another pull): %w", j.short, err)
		}
		j.info = info
		out(status(j.short, "Already exists"))
		return nil
	}
	<-j.done
	s.flights.finish(j.chain, j.fl, j.info, j.err)
	j.finished = true
	if j.err != nil {
		return j.err
	}
	out(status(j.short, "Pull complete"))
	return nil
}

// writeOwned writes a layer this pull owns, once its parent is under way: a parent this pull writes must
// have had its download slot first (so the slots go to each pull's layers in order, and a pull's oldest
// unfinished layer is never left waiting for a slot its children hold), and one another pull writes must be
// complete. A download slot is held while the blob downloads; the backend's commit needs none.
func (s *Service) writeOwned(ctx context.Context, img *imagec.Image, j *layerJob, out ProgressFunc) (*models.LayerInfo, error) {
	started := false
	defer func() {
		if !started {
			close(j.started)
		}
	}()
	if p := j.prev; p != nil {
		switch {
		case p.owner:
			select {
			case <-p.started:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		case p.fl != nil:
			if _, err := p.fl.wait(ctx); err != nil {
				return nil, fmt.Errorf("layer %s (written by another pull): %w", p.short, err)
			}
		}
	}
	release, err := s.downloadSlot(ctx, j, out)
	if err != nil {
		return nil, err
	}
	started = true
	close(j.started)
	info, err := s.pullLayer(ctx, img, j, out, release)
	// A backend waits for a parent it is writing, but this write may have reached it before the parent's
	// did (or it may not wait at all): once the parent is complete, the layer is written again.
	if p := j.prev; errors.Is(err, errParentMissing) && p != nil && p.owner {
		select {
		case <-p.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if p.err == nil {
			s.log.Debug("layer written again after its parent", "layer", j.short)
			if release, err = s.downloadSlot(ctx, j, out); err != nil {
				return nil, err
			}
			info, err = s.pullLayer(ctx, img, j, out, release)
		}
	}
	return info, err
}

// downloadSlot waits for one of the concurrent download slots and returns the function that frees it (once,
// however often it is called).
func (s *Service) downloadSlot(ctx context.Context, j *layerJob, out ProgressFunc) (func(), error) {
	select {
	case s.slots <- struct{}{}:
	default:
		out(status(j.short, "Waiting"))
		select {
		case s.slots <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return sync.OnceFunc(func() { <-s.slots }), nil
}

// fetchLayer has the port layer download the layer's blob itself (FetchLayer), so that its bytes do not pass
// through the engine: the plugin checks the blob's size and digest as it reads, and this side checks the diff
// ID of what was written, as for a streamed blob. It says whether it settled the layer. It did not when the
// port layer has no FetchLayer, when the blob's request could not be resolved, or when the plugin's download
// failed before any byte (a registry the plugin cannot reach, a token it may not use): nothing was written
// then, and the blob streams through here as before.
func (s *Service) fetchLayer(ctx context.Context, img *imagec.Image, j *layerJob, out ProgressFunc, release func()) (*models.LayerInfo, bool, error) {
	src, err := img.Source(ctx, j.layer)
	if err != nil {
		if ctx.Err() != nil {
			return nil, true, ctx.Err()
		}
		s.log.Debug("the layer's blob request could not be resolved; the blob streams through the engine", "layer", j.short, "err", err)
		return nil, false, nil
	}
	host := blobHost(src.URL)
	if at, ok := s.unreachable.Load(host); ok && time.Since(at.(time.Time)) < unreachableFor {
		return nil, false, nil
	}
	header := make(map[string]string, len(src.Header))
	for k, v := range src.Header {
		if len(v) > 0 {
			header[k] = strings.Join(v, ", ")
		}
	}
	cas := make([]string, len(src.CAs))
	for i, pem := range src.CAs {
		cas[i] = string(pem)
	}
	digest, size := j.layer.Digest.String(), j.layer.Size
	source := &models.LayerSource{URL: &src.URL, Header: header, Digest: &digest, Size: &size, Parent: j.parent,
		Insecure: src.Insecure, Ca: cas}
	progress := newProgressReader(nil, j.short, "Downloading", j.layer.Size, out)
	var seen int64
	downloaded := false
	info, err := s.pl.FetchLayer(ctx, j.chain, source, func(ev *models.LayerFetchEvent) {
		if ev.Downloaded > seen || ev.Done && !downloaded {
			var end error
			if ev.Done {
				end = io.EOF // the last report of the bar
			}
			progress.advance(int(ev.Downloaded-seen), end)
			seen = max(seen, ev.Downloaded)
		}
		if ev.Done && !downloaded {
			downloaded = true
			release()
			out(status(j.short, "Verifying Checksum"))
			out(status(j.short, "Download complete"))
			out(progressMessage(j.short, "Extracting", seen, seen, progress.start))
		}
	})
	var fe *portlayer.FetchError
	switch {
	case errors.Is(err, portlayer.ErrFetchUnsupported):
		if !s.noFetch.Swap(true) {
			s.log.Info("the port layer does not download layers; blobs stream through the engine", "err", err)
		}
		return nil, false, nil
	case errors.As(err, &fe) && fe.Download && fe.Downloaded == 0 && ctx.Err() == nil:
		if errors.Is(fe.Err, errdefs.ErrUnavailable) {
			// The plugin could not reach the registry the engine reached: not for this layer alone.
			s.unreachable.Store(host, time.Now())
			s.log.Warn("the plugin could not download from the registry; its blobs stream through the engine for a while",
				"registry", host, "for", unreachableFor, "err", err)
		} else {
			s.log.Debug("the port layer could not download the blob; it streams through the engine", "layer", j.short, "err", err)
		}
		return nil, false, nil
	case errors.As(err, &fe) && fe.Download && errors.Is(fe.Err, errdefs.ErrInvalid):
		return nil, true, fmt.Errorf("layer %s: the blob does not match its digest %s: %w", j.short, digest, fe.Err)
	case errors.As(err, &fe) && fe.Download:
		return nil, true, fmt.Errorf("layer %s: download: %w", j.short, fe.Err)
	}
	info, err = s.written(ctx, j.chain, j.layer.DiffID.String(), info, err, nil)
	return info, true, err
}

// unreachableFor is how long the blobs of a registry the plugin could not reach stream through the engine.
const unreachableFor = 10 * time.Minute

// blobHost is the host (and port) of a blob's URL, which the memory of unreachable registries is kept by.
func blobHost(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Host
	}
	return raw
}

// pullLayer writes one layer from its blob: fetched by the port layer when it can (fetchLayer), else
// streamed from the registry into the port layer. Streaming, the registry client checks the blob's digest as
// it reads and fails the last read when it does not match; that failure (or any other failure of the
// download) breaks the upload off before its end, so the backend discards what it wrote. The download slot
// is freed (release) when the blob has been read.
func (s *Service) pullLayer(ctx context.Context, img *imagec.Image, j *layerJob, out ProgressFunc, release func()) (*models.LayerInfo, error) {
	defer release()
	if !s.noFetch.Load() {
		if info, settled, err := s.fetchLayer(ctx, img, j, out, release); settled {
			return info, err
		}
	}
	rc, err := img.Open(ctx, j.layer)
	if err != nil {
		return nil, err
	}
	blob := &blobReader{r: rc, body: rc, short: j.short, want: j.layer.Size, digest: j.layer.Digest.String(), out: out,
		progress: newProgressReader(nil, j.short, "Downloading", j.layer.Size, out), ended: release}
	defer blob.stop()
	// Small: reads as large as the buffer (the transport's) bypass it; it is here for the sniff.
	br := bufio.NewReaderSize(blob, 4096)
	compression, err := sdk.SniffCompression(br)
	if err != nil {
		if berr := blob.failure(); berr != nil {
			return nil, berr
		}
		return nil, err
	}
	src := &uploadSource{r: br}
	info, err := s.writeLayer(ctx, j.chain, j.parent, j.layer.DiffID.String(), compression, src, func() error {
		// The backend may answer before reading the blob to its end (a tar's trailing padding): the digest
		// check needs all of it.
		rest := src.detach()
		if _, err := io.Copy(io.Discard, rest); err != nil {
			return err
		}
		return blob.failure()
	})
	if err != nil {
		// The transport may still be reading the blob for the upload that failed: end that read.
		blob.stop()
	}
	if berr := blob.failure(); berr != nil {
		// The upload broke off because the download did; that is the error to report.
		return nil, berr
	}
	return info, err
}

// blobReader reads a layer blob from the registry, reporting the download's progress, and remembers the
// download's own failure (which the upload only sees as a broken stream). At the end of a blob whose digest
// and size are right it reports the download complete and the extraction under way.
type blobReader struct {
	r        io.Reader
	body     io.Closer
	short    string
	digest   string
	want     int64
	n        int64
	out      ProgressFunc
	progress *progressReader
	done     bool
	ended    func() // called once the blob is read, or failed

	// Read runs in the transport's goroutine; the pull's reads err and stops the reading.
	mu      sync.Mutex
	err     error
	stopped bool
}

func (b *blobReader) Read(p []byte) (int, error) {
	if err := b.failure(); err != nil {
		return 0, err
	}
	if b.done {
		return 0, io.EOF
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	b.progress.advance(n, err)
	if err != nil {
		b.ended()
	}
	switch {
	case err == io.EOF:
		b.out(status(b.short, "Verifying Checksum"))
		if b.want > 0 && b.n != b.want {
			return n, b.fail(fmt.Errorf("layer %s: %d bytes, the manifest says %s has %d: %w", b.short, b.n, b.digest, b.want, errdefs.ErrInvalid))
		}
		b.done = true
		b.out(status(b.short, "Download complete"))
		b.out(progressMessage(b.short, "Extracting", b.n, b.n, b.progress.start))
	case err != nil:
		return n, b.fail(downloadError(b.short, b.digest, b.n, b.want, err))
	}
	return n, err
}

// fail records the download's failure, unless the pull stopped the download itself.
func (b *blobReader) fail(err error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err == nil && !b.stopped {
		b.err = err
	}
	return err
}

// failure is the download's own failure, if it had one.
func (b *blobReader) failure() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// stop closes the download; the failure of a read it cuts short is not the download's.
func (b *blobReader) stop() {
	b.mu.Lock()
	b.stopped = true
	b.mu.Unlock()
	b.body.Close()
}

// downloadError classes a failed read of a blob: a cancelled pull keeps its class; a blob read to its end
// whose digest does not match is invalid; anything else is the registry being unavailable.
func downloadError(short, digest string, n, want int64, err error) error {
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return err
	case (want > 0 && n == want) || strings.Contains(err.Error(), "error verifying"):
		return fmt.Errorf("layer %s: the blob does not match its digest %s: %v: %w", short, digest, err, errdefs.ErrInvalid)
	}
	return fmt.Errorf("layer %s: download: %v: %w", short, err, errdefs.ErrUnavailable)
}

// uploadSource is the body of a layer upload. The transport may go on reading a request body after the
// response came; detach stops that and hands the rest of the stream to the caller alone.
type uploadSource struct {
	mu       sync.Mutex
	r        io.Reader
	detached bool
}

var errDetached = errors.New("upload body detached")

func (u *uploadSource) Read(p []byte) (int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.detached {
		return 0, errDetached
	}
	return u.r.Read(p)
}

func (u *uploadSource) detach() io.Reader {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.detached = true
	return u.r
}

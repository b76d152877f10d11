package portlayer

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
	"github.com/vice-engine/vice/swagger/gen/client"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// Descriptions of containers are kept (GetContainerShared) for as long as nothing can have changed them,
// which the backend's change clock says (GET /changes, sdk.ChangeReporter):
//   - an answer is kept only when the backend's clock stood still while it made it (its stamp's start and
//     end are equal) and that is the clock's value as this client knows it, from the stream and from the
//     stamps of every answer;
//   - it is answered again while the stream is open and shows the clock at that value, while this client
//     has sent nothing that changes things since it asked (changing, below), and for at most keptFor.
//
// What this client learns by other ways than the clock counts as a change too: the end of a request that
// changes things (a wait's answer is the container's exit), an event, the end of a followed log. So an
// answer a client has seen is in every later description; the one lag is the stream's, for changes the
// backend learned by itself and nobody here has heard of (a container exiting that nobody waits for), and
// the backend's own lag for what no watch reports.

// keptFor bounds the age of a kept description.
const keptFor = time.Second

// keptMax bounds the descriptions kept; past it the memo starts again empty.
const keptMax = 256

// streamIdle is how long the stream of the clock stays open without a description asked for.
const streamIdle = 30 * time.Second

// unsupportedFor is how long a backend that said it has no change clock is believed: a plugin may be
// upgraded and restarted.
const unsupportedFor = time.Minute

// changeView is what the client knows of its backend's change clock, with the descriptions kept.
type changeView struct {
	rt     http.RoundTripper // the transport without the tracking
	ctx    context.Context   // ends the stream for good (Client.Close)
	cancel context.CancelFunc

	local atomic.Uint64 // moved by this client's own changes (changing)

	mu          sync.Mutex
	epoch       string    // of the stream's last line; "" while no stream is open
	known       uint64    // the highest value of the clock seen in this epoch
	streaming   bool      // a stream goroutine runs
	unsupported time.Time // when the backend said it has no change clock
	used        time.Time
	kept        map[string]keptInfo
}

// keptInfo is a description kept, with the clock (and this client's own count of changes) it stands for.
type keptInfo struct {
	info  *models.ContainerInfo
	seq   uint64
	local uint64
	at    time.Time
}

// lookup is the kept description of id, if it still stands.
func (v *changeView) lookup(id string) (*models.ContainerInfo, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.used = time.Now()
	v.ensureStreamLocked()
	k, ok := v.kept[id]
	if !ok || v.epoch == "" || k.seq != v.known || k.local != v.local.Load() || time.Since(k.at) > keptFor {
		return nil, false
	}
	return k.info, true
}

// keep keeps info, the answer stamped stamp to a request sent when this client's count of changes was local.
func (v *changeView) keep(id string, info *models.ContainerInfo, stamp sdk.Stamp, local uint64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.observeLocked(stamp)
	if v.epoch == "" || stamp.Epoch != v.epoch || stamp.Start != stamp.End || stamp.End != v.known ||
		v.local.Load() != local {
		delete(v.kept, id)
		return
	}
	if v.kept == nil || len(v.kept) >= keptMax {
		v.kept = map[string]keptInfo{}
	}
	v.kept[id] = keptInfo{info: info, seq: stamp.End, local: local, at: time.Now()}
}

// observeLocked takes in a stamp of an answer. Called with v.mu held.
func (v *changeView) observeLocked(s sdk.Stamp) {
	if s.Epoch == v.epoch && s.End > v.known {
		v.known = s.End
	}
}

// changing counts a change of this client's: the kept descriptions no longer stand.
func (v *changeView) changing() { v.local.Add(1) }

// ensureStreamLocked opens the stream of the clock unless it is open or the backend has none. Called with
// v.mu held.
func (v *changeView) ensureStreamLocked() {
	if v.streaming || time.Since(v.unsupported) < unsupportedFor || v.ctx.Err() != nil {
		return
	}
	v.streaming = true
	go v.follow()
}

// follow reads the stream of the clock, opening it again after it breaks, until it has gone unused for
// streamIdle or the backend has no clock.
func (v *changeView) follow() {
	const firstBackoff = 100 * time.Millisecond
	backoff := firstBackoff
	for {
		read, err := v.followOnce()
		if read {
			backoff = firstBackoff
		}
		v.mu.Lock()
		v.epoch, v.kept = "", nil
		idle := time.Since(v.used) > streamIdle
		// A plugin of before the clock has no such route (not found).
		unsupported := errdefs.Is(err, errdefs.ErrNotImplemented) || errdefs.Is(err, errdefs.ErrNotFound)
		if unsupported {
			v.unsupported = time.Now()
		}
		if idle || unsupported || v.ctx.Err() != nil {
			v.streaming = false
			v.mu.Unlock()
			return
		}
		v.mu.Unlock()
		select {
		case <-v.ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// followOnce reads one stream of the clock until it breaks or goes unused for streamIdle; read says whether
// it had a line.
func (v *changeView) followOnce() (read bool, err error) {
	ctx, cancel := context.WithCancel(v.ctx)
	defer cancel()
	u := url.URL{Scheme: "http", Host: Host, Path: client.DefaultBasePath + "/changes"}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Accept", NDJSONMime)
	resp, err := v.rt.RoundTrip(req)
	if err != nil {
		return false, classify("changes", &url.Error{Op: "Get", URL: u.String(), Err: err})
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, responseError("changes", resp)
	}
	idle := time.AfterFunc(streamIdle, func() { v.closeIfIdle(ctx, cancel) })
	defer idle.Stop()
	dec := json.NewDecoder(resp.Body)
	for {
		var ch models.Changes
		if err := dec.Decode(&ch); err != nil {
			return read, err
		}
		if ch.Epoch == nil || ch.Seq == nil || *ch.Epoch == "" {
			return read, errdefs.ErrUnavailable
		}
		read = true
		v.mu.Lock()
		if *ch.Epoch != v.epoch {
			v.epoch, v.known, v.kept = *ch.Epoch, 0, nil
		}
		v.known = max(v.known, *ch.Seq)
		v.mu.Unlock()
	}
}

// closeIfIdle ends the stream of ctx (cancel) when no description was asked for in streamIdle; it looks
// again later, until the stream has ended.
func (v *changeView) closeIfIdle(ctx context.Context, cancel context.CancelFunc) {
	if ctx.Err() != nil {
		return
	}
	v.mu.Lock()
	left := streamIdle - time.Since(v.used)
	v.mu.Unlock()
	if left <= 0 {
		cancel()
		return
	}
	time.AfterFunc(left, func() { v.closeIfIdle(ctx, cancel) })
}

// newChangeView is the view of the backend behind rt, with nothing known yet.
func newChangeView(rt http.RoundTripper) *changeView {
	ctx, cancel := context.WithCancel(context.Background())
	return &changeView{rt: rt, ctx: ctx, cancel: cancel}
}

// close ends the stream of the clock for good; descriptions are no longer kept.
func (v *changeView) close() { v.cancel() }

// tracking is the client's transport: it takes in the stamps of the answers and counts this client's changes.
type tracking struct {
	rt   http.RoundTripper
	view *changeView
}

func (t tracking) RoundTrip(req *http.Request) (*http.Response, error) {
	changes := req.Method != http.MethodGet && req.Method != http.MethodHead
	if changes {
		t.view.changing()
	}
	resp, err := t.rt.RoundTrip(req)
	if err != nil {
		if changes {
			t.view.changing()
		}
		return nil, err
	}
	if s, ok := sdk.ParseStamp(resp.Header.Get(sdk.ChangesHeader)); ok {
		t.view.mu.Lock()
		t.view.observeLocked(s)
		t.view.mu.Unlock()
	}
	every := tellsOfChanges(req)
	switch {
	case resp.StatusCode == http.StatusSwitchingProtocols:
		// The answer says the exchange began (an exec's process started); its stream (attach, exec) ends
		// with its process.
		t.view.changing()
		if rwc, ok := resp.Body.(io.ReadWriteCloser); ok {
			resp.Body = &changingStream{ReadWriteCloser: rwc, view: t.view}
		}
	case changes || every:
		// The answer, and the end of its stream, may tell of a change (a wait's of the exit).
		t.view.changing()
		resp.Body = &changingBody{ReadCloser: resp.Body, view: t.view, every: every}
	}
	return resp, nil
}

// tellsOfChanges says whether a GET's stream tells of changes as they happen: events, a followed log.
func tellsOfChanges(req *http.Request) bool {
	return strings.HasSuffix(req.URL.Path, "/events") || req.URL.Query().Get("follow") == "true"
}

// changingBody counts a change at the end of an answer that may tell of one, and at every read of a stream
// that tells of changes as they happen (every).
type changingBody struct {
	io.ReadCloser
	view  *changeView
	every bool
}

func (b *changingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if b.every || err != nil {
		b.view.changing()
	}
	return n, err
}

func (b *changingBody) Close() error {
	b.view.changing()
	return b.ReadCloser.Close()
}

// changingStream is changingBody for an upgraded exchange: a change is counted when it ends.
type changingStream struct {
	io.ReadWriteCloser
	view *changeView
}

func (s *changingStream) Read(p []byte) (int, error) {
	n, err := s.ReadWriteCloser.Read(p)
	if err != nil {
		s.view.changing()
	}
	return n, err
}

func (s *changingStream) Close() error {
	s.view.changing()
	return s.ReadWriteCloser.Close()
}

func (s *changingStream) CloseWrite() error {
	if cw, ok := s.ReadWriteCloser.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

package backendtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vice-engine/vice/plugins/sdk"
	"github.com/vice-engine/vice/swagger/gen/client"
	"github.com/vice-engine/vice/swagger/gen/models"
)

// Output streams, as the attach stream numbers them.
const (
	stdout = int(sdk.StreamStdout)
	stderr = int(sdk.StreamStderr)
)

// expectWait bounds how long a test waits for output, a state, a stream's end or one call. It is a safety net,
// not a measure: a loaded machine (CI runs packages in parallel) boots guests many times slower than an
// idle one, and the backend's own start waits up to two minutes for its guest.
const expectWait = 2 * time.Minute

// attachOpts are the attach request's parameters.
type attachOpts struct {
	stdin, stdout, stderr bool
}

// attachment is one upgraded attach exchange through the plugin transport. Its output is decoded as it
// arrives into one buffer per stream; ended closes when the backend ends the stream.
type attachment struct {
	id   string
	conn io.ReadWriteCloser

	mu    sync.Mutex
	out   map[int]*bytes.Buffer
	err   error // how the output ended
	ended chan struct{}
}

// attach upgrades an exchange to the container's streams. The generated client cannot hold a 101 open, so
// the request goes through the transport's RoundTripper as core's port-layer client sends it.
func (s *suite) attach(t *testing.T, id string, tty bool, o attachOpts) *attachment {
	t.Helper()
	resp, err := s.attachRequest(t, id, o)
	if err != nil {
		t.Fatalf("attach to %s: %v", id, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		defer resp.Body.Close()
		t.Fatalf("attach to %s: %s", id, responseText(resp))
	}
	conn, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		resp.Body.Close()
		t.Fatalf("attach to %s: the transport's upgraded body is %T, not read-write", id, resp.Body)
	}
	a := &attachment{id: id, conn: conn, out: map[int]*bytes.Buffer{stdout: {}, stderr: {}}, ended: make(chan struct{})}
	go func() {
		err := readOutput(conn, tty, func(stream int, p []byte) error {
			a.mu.Lock()
			defer a.mu.Unlock()
			b, ok := a.out[stream]
			if !ok {
				return fmt.Errorf("output on unknown stream %d", stream)
			}
			b.Write(p)
			return nil
		})
		a.mu.Lock()
		a.err = err
		a.mu.Unlock()
		close(a.ended)
	}()
	t.Cleanup(func() { conn.Close() })
	return a
}

// attachRequest sends the attach request and returns the response, upgraded or not.
func (s *suite) attachRequest(t *testing.T, id string, o attachOpts) (*http.Response, error) {
	q := url.Values{}
	q.Set("stdin", strconv.FormatBool(o.stdin))
	q.Set("stdout", strconv.FormatBool(o.stdout))
	q.Set("stderr", strconv.FormatBool(o.stderr))
	u := url.URL{Scheme: "http", Host: "portlayer", Path: client.DefaultBasePath + "/containers/" + url.PathEscape(id) + "/attach",
		RawQuery: q.Encode()}
	// The exchange outlives the test's request timeout: it ends when the test ends.
	c, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(c, http.MethodPost, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "tcp")
	return s.rt.RoundTrip(req)
}

// readOutput is the one place the suite decodes what an attach stream carries, calling emit for each piece
// of output with its stream: the contract's frames (sdk.FrameReader), all on stdout with a tty. It returns
// nil at the stream's clean end.
func readOutput(r io.Reader, tty bool, emit func(stream int, p []byte) error) error {
	frames := sdk.NewFrameReader(r)
	for {
		stream, p, err := frames.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("frame: %w", err)
		}
		if tty && stream != sdk.StreamStdout {
			return fmt.Errorf("a tty's output came on stream %d", stream)
		}
		if err := emit(int(stream), p); err != nil {
			return err
		}
	}
}

// send writes s to the process's stdin.
func (a *attachment) send(t *testing.T, s string) {
	t.Helper()
	if _, err := io.WriteString(a.conn, s); err != nil {
		t.Fatalf("write stdin of %s: %v", a.id, err)
	}
}

// close ends the attachment from the client's side, as a client going away does.
func (a *attachment) close(t *testing.T) {
	t.Helper()
	if err := a.conn.Close(); err != nil {
		t.Fatalf("close the attach of %s: %v", a.id, err)
	}
}

// closeStdin half-closes the exchange: the backend reads io.EOF.
func (a *attachment) closeStdin(t *testing.T) {
	t.Helper()
	cw, ok := a.conn.(interface{ CloseWrite() error })
	if !ok {
		t.Fatalf("the transport's upgraded body %T cannot half-close", a.conn)
	}
	if err := cw.CloseWrite(); err != nil {
		t.Fatalf("close stdin of %s: %v", a.id, err)
	}
}

// output is what stream carried so far.
func (a *attachment) output(stream int) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.out[stream].String()
}

// expect waits until stream has carried want.
func (a *attachment) expect(t *testing.T, stream int, want string) {
	t.Helper()
	deadline := time.After(expectWait)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !strings.Contains(a.output(stream), want) {
		select {
		case <-deadline:
			t.Fatalf("stream %d of %s never carried %q; stdout %q, stderr %q", stream, a.id, want,
				a.output(stdout), a.output(stderr))
		case <-a.ended:
			if !strings.Contains(a.output(stream), want) {
				t.Fatalf("the attach stream of %s ended (%v) without %q on stream %d; stdout %q, stderr %q",
					a.id, a.endErr(), want, stream, a.output(stdout), a.output(stderr))
			}
		case <-tick.C:
		}
	}
}

// waitEnd waits for the backend to end the stream and checks that it ended cleanly.
func (a *attachment) waitEnd(t *testing.T) {
	t.Helper()
	select {
	case <-a.ended:
	case <-time.After(expectWait):
		t.Fatalf("the attach stream of %s did not end; stdout %q, stderr %q", a.id, a.output(stdout), a.output(stderr))
	}
	if err := a.endErr(); err != nil {
		t.Fatalf("the attach stream of %s ended badly: %v", a.id, err)
	}
}

func (a *attachment) endErr() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

// attachError attaches expecting a refusal, and returns its status and class.
func (s *suite) attachError(t *testing.T, id string) (int, string) {
	t.Helper()
	resp, err := s.attachRequest(t, id, attachOpts{stdout: true})
	if err != nil {
		t.Fatalf("attach to %s: %v", id, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusSwitchingProtocols {
		t.Fatalf("attach to %s was accepted", id)
	}
	var e models.Error
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err := json.Unmarshal(body, &e); err != nil || e.Class == nil || e.Message == nil || *e.Message == "" {
		t.Fatalf("attach to %s: %d with a body that is no Error: %q", id, resp.StatusCode, body)
	}
	return resp.StatusCode, *e.Class
}

func responseText(resp *http.Response) string {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return fmt.Sprintf("%s: %s", resp.Status, bytes.TrimSpace(body))
}

package transport_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vice-engine/vice/plugins/sdk/transport"
)

// Handlers of the lane tests, in the plugin process.

var (
	holdMu   sync.Mutex
	holds    = map[string]chan struct{}{}
	lateErrs = map[string]string{}
)

func hold(id string) chan struct{} {
	holdMu.Lock()
	defer holdMu.Unlock()
	ch, ok := holds[id]
	if !ok {
		ch = make(chan struct{})
		holds[id] = ch
	}
	return ch
}

func laneRoutes(mux *http.ServeMux) {
	// The plugin's counts: lane streams served, exchange streams served, lanes open now.
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		lanes, exchanges := transport.ServedStreams()
		fmt.Fprintf(w, "%d %d %d", lanes, exchanges, transport.OpenLanes())
	})
	// Flushes "hello", then waits for POST /release?id= before it writes "bye" and returns.
	mux.HandleFunc("GET /hold", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hello")
		w.(http.Flusher).Flush()
		select {
		case <-hold(r.URL.Query().Get("id")):
			_, _ = io.WriteString(w, "bye")
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("POST /release", func(w http.ResponseWriter, r *http.Request) {
		close(hold(r.URL.Query().Get("id")))
	})
	// Answers "early" and returns; a goroutine then tries to write to the finished response.
	mux.HandleFunc("GET /late", func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("id")
		go func() {
			time.Sleep(30 * time.Millisecond)
			_, err := io.WriteString(w, "LATE")
			w.(http.Flusher).Flush()
			holdMu.Lock()
			lateErrs[id] = fmt.Sprint(err)
			holdMu.Unlock()
		}()
		_, _ = io.WriteString(w, "early")
	})
	mux.HandleFunc("GET /late-err", func(w http.ResponseWriter, r *http.Request) {
		holdMu.Lock()
		defer holdMu.Unlock()
		_, _ = io.WriteString(w, lateErrs[r.URL.Query().Get("id")])
	})
	mux.HandleFunc("GET /deadline", func(w http.ResponseWriter, r *http.Request) {
		d, ok := r.Context().Deadline()
		if !ok {
			_, _ = io.WriteString(w, "none")
			return
		}
		fmt.Fprint(w, time.Until(d).Round(time.Second))
	})
	// A response larger than the response buffer, so it streams and ends with a last frame.
	mux.HandleFunc("GET /big", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		_, _ = w.Write(bigBody(n))
	})
	// Hijacks without being asked to upgrade.
	mux.HandleFunc("GET /hijack", func(w http.ResponseWriter, r *http.Request) {
		conn, rw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_, _ = rw.WriteString("raw")
		_ = rw.Flush()
		conn.Close()
	})
}

func bigBody(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

// stats asks the plugin for its counts.
func stats(t testing.TB, hc *http.Client) (lanes, exchanges, open int64) {
	t.Helper()
	body := get(t, hc, "http://plugin/stats")
	if _, err := fmt.Sscan(body, &lanes, &exchanges, &open); err != nil {
		t.Fatalf("stats %q: %v", body, err)
	}
	return lanes, exchanges, open
}

func get(t testing.TB, hc *http.Client, url string) string {
	t.Helper()
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLanesAreReused(t *testing.T) {
	hc := startPlugin(t)
	for i := 0; i < 200; i++ {
		if got := get(t, hc, "http://plugin/ping"); got != "OK" {
			t.Fatalf("exchange %d: %q", i, got)
		}
		// Larger responses stream and end with a last frame; their lanes are reused too.
		n := 100<<10 + i
		if got := get(t, hc, fmt.Sprintf("http://plugin/big?n=%d", n)); got != string(bigBody(n)) {
			t.Fatalf("exchange %d: %d bytes", i, len(got))
		}
	}
	lanes, exchanges, open := stats(t, hc)
	if lanes != 1 || exchanges != 0 || open != 1 {
		t.Fatalf("400 sequential exchanges took %d lanes and %d exchange streams (%d lanes open), want 1, 0, 1", lanes, exchanges, open)
	}
}

func TestConcurrentExchangesOnLanes(t *testing.T) {
	hc := startPlugin(t)
	const goroutines, each = 32, 50
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < each; n++ {
				q := fmt.Sprintf("g=%d&n=%d", g, n)
				var resp *http.Response
				var err error
				want := "OK"
				if n%2 == 0 {
					resp, err = hc.Get("http://plugin/ping?" + q)
				} else {
					want = strings.Repeat(q, n)
					resp, err = hc.Post("http://plugin/echo?"+q, "text/plain", strings.NewReader(want))
				}
				if err != nil {
					errs <- err
					return
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || string(body) != want || (n%2 == 0 && resp.Header.Get("X-Query") != q) {
					errs <- fmt.Errorf("%s: got %q (query %q), %v", q, body, resp.Header.Get("X-Query"), err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	c := hc.Transport.(*transport.Client)
	if idle := transport.IdleLanes(c); idle > 16 {
		t.Errorf("%d idle lanes, want at most 16", idle)
	}
	lanes, exchanges, _ := stats(t, hc)
	if exchanges != 0 || lanes > goroutines {
		t.Errorf("%d exchanges by %d goroutines took %d lanes and %d exchange streams", goroutines*each, goroutines, lanes, exchanges)
	}
	// The lanes beyond the idle bound are closed, on both sides.
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, _, open := stats(t, hc)
		if open <= 16 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the plugin still serves %d lanes", open)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A response closed before its end abandons its lane: the handler's context ends, and nothing of it
// reaches the next exchange.
func TestClosedBodyAbandonsLane(t *testing.T) {
	hc := startPlugin(t)
	get(t, hc, "http://plugin/ping") // a lane in the pool
	resp, err := hc.Get("http://plugin/stream")
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != "line 0\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	resp.Body.Close()
	for i := 0; i < 50; i++ {
		if got := get(t, hc, "http://plugin/ping"); got != "OK" {
			t.Fatalf("exchange %d after the abandoned one: %q", i, got)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for get(t, hc, "http://plugin/active") != "0" {
		if time.Now().After(deadline) {
			t.Fatal("the streaming handler's context did not end")
		}
		time.Sleep(10 * time.Millisecond)
	}
	lanes, _, _ := stats(t, hc)
	if lanes != 2 {
		t.Fatalf("%d lanes, want 2: the abandoned one must not be reused", lanes)
	}
	// Reading a closed body fails.
	if _, err := resp.Body.Read(make([]byte, 1)); err == nil {
		t.Error("a read after Close succeeded")
	}
}

// A handler's flushed bytes reach the client while the handler still runs; its lane is reused afterwards.
func TestFlushReachesClientBeforeHandlerReturns(t *testing.T) {
	hc := startPlugin(t)
	resp, err := hc.Get("http://plugin/hold?id=flush")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got := make([]byte, 5)
	done := make(chan error, 1)
	go func() { _, err := io.ReadFull(resp.Body, got); done <- err }()
	select {
	case err := <-done:
		if err != nil || string(got) != "hello" {
			t.Fatalf("read %q, %v", got, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the flushed bytes did not arrive while the handler waited")
	}
	resp2, err := hc.Post("http://plugin/release?id=flush", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != "bye" {
		t.Fatalf("rest %q, %v", rest, err)
	}
	for i := 0; i < 10; i++ {
		get(t, hc, "http://plugin/ping")
	}
	if lanes, _, _ := stats(t, hc); lanes != 2 {
		t.Fatalf("%d lanes, want 2", lanes)
	}
}

// A handler that writes after it returned gets an error, and its bytes never reach the lane's next
// exchange.
func TestWriteAfterReturnFails(t *testing.T) {
	hc := startPlugin(t)
	if got := get(t, hc, "http://plugin/late?id=a"); got != "early" {
		t.Fatalf("got %q", got)
	}
	stop := time.Now().Add(100 * time.Millisecond)
	for time.Now().Before(stop) {
		if got := get(t, hc, "http://plugin/ping"); got != "OK" {
			t.Fatalf("a late write reached the next exchange: %q", got)
		}
	}
	if got := get(t, hc, "http://plugin/late-err?id=a"); !strings.Contains(got, "after the handler returned") {
		t.Fatalf("the late write got %q", got)
	}
	if lanes, _, _ := stats(t, hc); lanes != 1 {
		t.Fatalf("%d lanes, want 1", lanes)
	}
}

// A small body of known length rides inline on a lane; a body of unknown length or a large one, and an
// upgrade, take an exchange stream of their own.
func TestRequestBodiesChooseTheirPath(t *testing.T) {
	hc := startPlugin(t)
	small := bytes.Repeat([]byte("lane"), 64<<10) // 256 KiB
	resp, err := hc.Post("http://plugin/echo", "application/octet-stream", bytes.NewReader(small))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !bytes.Equal(got, small) || resp.Header.Get("X-Length") != strconv.Itoa(len(small)) {
		t.Fatalf("echo of %d bytes: %d bytes, length %q, %v", len(small), len(got), resp.Header.Get("X-Length"), err)
	}
	lanes, exchanges, _ := stats(t, hc)
	if lanes != 1 || exchanges != 0 {
		t.Fatalf("a small body took %d lanes, %d exchange streams", lanes, exchanges)
	}

	// Unknown length: a reader net/http cannot measure.
	unknown := io.MultiReader(bytes.NewReader(small), strings.NewReader("!"))
	resp, err = hc.Post("http://plugin/echo", "application/octet-stream", unknown)
	if err != nil {
		t.Fatal(err)
	}
	got, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(got) != string(small)+"!" || resp.Header.Get("X-Length") != "0" {
		t.Fatalf("echo of an unknown length: %d bytes, length %q", len(got), resp.Header.Get("X-Length"))
	}
	// Large: more than a lane carries inline.
	large := bytes.Repeat([]byte("big!"), 1<<19+1)
	resp, err = hc.Post("http://plugin/echo", "application/octet-stream", bytes.NewReader(large))
	if err != nil {
		t.Fatal(err)
	}
	got, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if sha256.Sum256(got) != sha256.Sum256(large) || resp.Header.Get("X-Length") != strconv.Itoa(len(large)) {
		t.Fatalf("echo of %d bytes: %d bytes", len(large), len(got))
	}
	if lanes, exchanges, _ = stats(t, hc); lanes != 1 || exchanges != 2 {
		t.Fatalf("after the streamed bodies: %d lanes, %d exchange streams, want 1, 2", lanes, exchanges)
	}

	// An upgrade.
	req, _ := http.NewRequest(http.MethodPost, "http://plugin/upper", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "tcp")
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	conn := resp.Body.(io.ReadWriteCloser)
	_, _ = io.WriteString(conn, "up\n")
	_ = conn.(interface{ CloseWrite() error }).CloseWrite()
	got, _ = io.ReadAll(conn)
	conn.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols || string(got) != "UP\nBYE\n" {
		t.Fatalf("upgrade: %d %q", resp.StatusCode, got)
	}
	if lanes, exchanges, _ = stats(t, hc); lanes != 1 || exchanges != 3 {
		t.Fatalf("after the upgrade: %d lanes, %d exchange streams, want 1, 3", lanes, exchanges)
	}
}

// A handler that hijacks an exchange that came on a lane gets the lane's stream; the lane is not reused.
func TestHijackOnLane(t *testing.T) {
	hc := startPlugin(t)
	get(t, hc, "http://plugin/ping")
	resp, err := hc.Get("http://plugin/hijack")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols || string(got) != "raw" || err != nil {
		t.Fatalf("hijack: %d %q %v", resp.StatusCode, got, err)
	}
	if got := get(t, hc, "http://plugin/ping"); got != "OK" {
		t.Fatalf("after the hijack: %q", got)
	}
	if lanes, _, _ := stats(t, hc); lanes != 2 {
		t.Fatalf("%d lanes, want 2", lanes)
	}
}

// The request's deadline reaches the handler; a request whose context ends mid-way fails with its error.
func TestLaneDeadlineAndCancel(t *testing.T) {
	hc := startPlugin(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://plugin/deadline", nil)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "1m0s" {
		t.Fatalf("the handler saw the deadline as %q", b)
	}
	if got := get(t, hc, "http://plugin/deadline"); got != "none" {
		t.Fatalf("without a deadline the handler saw %q", got)
	}

	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, "http://plugin/hold?id=never", nil)
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 5)); err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(20*time.Millisecond, cancel)
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("reading after the request was cancelled: %v", err)
	}
	if got := get(t, hc, "http://plugin/ping"); got != "OK" {
		t.Fatalf("after the cancelled exchange: %q", got)
	}

	// A request already past its deadline fails without reaching the plugin.
	ctx, cancel = context.WithTimeout(context.Background(), -time.Second)
	defer cancel()
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, "http://plugin/ping", nil)
	if _, err := hc.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a request past its deadline: %v", err)
	}
	if lanes, _, _ := stats(t, hc); lanes != 2 {
		t.Fatalf("%d lanes, want 2", lanes)
	}
}

// Lanes idle in the pool when the plugin dies: the next request fails as unavailable.
func TestPluginGoneWithIdleLanes(t *testing.T) {
	hc, cmd := startPluginProcess(t)
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := hc.Get("http://plugin/ping")
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}()
	}
	wg.Wait()
	if n := transport.IdleLanes(hc.Transport.(*transport.Client)); n == 0 {
		t.Fatal("no idle lanes")
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_, _ = cmd.Process.Wait()
	for i := 0; i < 3; i++ {
		_, err := hc.Get("http://plugin/ping")
		if !errors.Is(err, transport.ErrUnavailable) {
			t.Fatalf("request %d after the plugin died: want ErrUnavailable, got %v", i, err)
		}
	}
}

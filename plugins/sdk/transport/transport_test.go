package transport_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/vice-engine/vice/plugins/sdk/transport"
)

// The test binary doubles as the plugin: started with this variable set, it serves testHandler.
const pluginEnv = "VICE_TRANSPORT_TEST_PLUGIN"

func TestMain(m *testing.M) {
	if os.Getenv(pluginEnv) == "1" {
		plugin.Serve(&plugin.ServeConfig{
			HandshakeConfig:  transport.Handshake,
			VersionedPlugins: transport.PluginSets(testHandler()),
			GRPCServer: func(o []grpc.ServerOption) *grpc.Server {
				return grpc.NewServer(append(o, transport.ServerOptions()...)...)
			},
			Logger: hclog.NewNullLogger(),
		})
		os.Exit(0)
	}
	os.Exit(m.Run())
}

var activeStreams atomic.Int64

func testHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ping", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Query", r.URL.RawQuery)
		_, _ = io.WriteString(w, "OK")
	})
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Length", strconv.FormatInt(r.ContentLength, 10))
		_, _ = io.Copy(w, r.Body)
	})
	mux.HandleFunc("POST /discard", func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, n)
	})
	mux.HandleFunc("GET /missing", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"class":"not_found"}`, http.StatusNotFound)
	})
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		activeStreams.Add(1)
		defer activeStreams.Add(-1)
		for i := 0; ; i++ {
			fmt.Fprintf(w, "line %d\n", i)
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	})
	mux.HandleFunc("GET /active", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, activeStreams.Load())
	})
	laneRoutes(mux)
	mux.HandleFunc("POST /upper", func(w http.ResponseWriter, r *http.Request) {
		conn, rw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		go func() {
			defer conn.Close()
			for {
				line, err := rw.ReadString('\n')
				if line != "" {
					_, _ = rw.WriteString(strings.ToUpper(line))
					_ = rw.Flush()
				}
				if err != nil {
					_, _ = rw.WriteString("BYE\n")
					_ = rw.Flush()
					return
				}
			}
		}()
	})
	return mux
}

// startPlugin launches the test binary as a real go-plugin plugin and returns the host's RoundTripper.
func startPlugin(tb testing.TB) *http.Client {
	tb.Helper()
	hc, _ := startPluginProcess(tb)
	return hc
}

// startPluginProcess is startPlugin, with the plugin's process (to kill it, as a crash would).
func startPluginProcess(tb testing.TB) (*http.Client, *exec.Cmd) {
	tb.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), pluginEnv+"=1",
		// go-plugin puts the plugin's socket there; a killed plugin cannot remove it.
		plugin.EnvUnixSocketDir+"="+tb.TempDir())
	c := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  transport.Handshake,
		VersionedPlugins: transport.PluginSets(nil),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		GRPCDialOptions:  transport.DialOptions(),
		Logger:           hclog.NewNullLogger(),
	})
	tb.Cleanup(c.Kill)
	proto, err := c.Client()
	if err != nil {
		tb.Fatalf("start plugin: %v", err)
	}
	raw, err := proto.Dispense(transport.PluginName)
	if err != nil {
		tb.Fatalf("dispense: %v", err)
	}
	return &http.Client{Transport: raw.(http.RoundTripper)}, cmd
}

func TestRoundTrip(t *testing.T) {
	hc := startPlugin(t)
	resp, err := hc.Get("http://plugin/ping?a=1&b=two")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "OK" || resp.Header.Get("X-Query") != "a=1&b=two" {
		t.Fatalf("got %d %q query %q", resp.StatusCode, body, resp.Header.Get("X-Query"))
	}

	resp, err = hc.Get("http://plugin/missing")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(body), "not_found") {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
}

func TestLargeBodiesBothWays(t *testing.T) {
	hc := startPlugin(t)
	payload := bytes.Repeat([]byte("0123456789abcdef"), (9<<20)/16+3) // not a multiple of the chunk size
	resp, err := hc.Post("http://plugin/echo", "application/octet-stream", bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(got) != sha256.Sum256(payload) {
		t.Fatalf("echo returned %d bytes, sent %d", len(got), len(payload))
	}
	if resp.Header.Get("X-Length") != strconv.Itoa(len(payload)) {
		t.Fatalf("server saw Content-Length %q", resp.Header.Get("X-Length"))
	}
}

func TestUpgradeIsFullDuplex(t *testing.T) {
	hc := startPlugin(t)
	req, _ := http.NewRequest(http.MethodPost, "http://plugin/upper", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "tcp")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d", resp.StatusCode)
	}
	conn := resp.Body.(io.ReadWriteCloser)
	br := bufio.NewReader(conn)
	// Interleave: each line must come back before the next is sent, which needs both directions open.
	for _, word := range []string{"hello", "attach", "world"} {
		if _, err := io.WriteString(conn, word+"\n"); err != nil {
			t.Fatal(err)
		}
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line != strings.ToUpper(word)+"\n" {
			t.Fatalf("got %q", line)
		}
	}
	// Half-close: the plugin sees EOF, says BYE and closes; we see EOF.
	if err := conn.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(br)
	if err != nil || string(rest) != "BYE\n" {
		t.Fatalf("after half-close got %q, %v", rest, err)
	}
}

func TestStreamEndsWhenClientGoesAway(t *testing.T) {
	hc := startPlugin(t)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://plugin/stream", nil)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	for i := 0; i < 3; i++ {
		line, err := br.ReadString('\n')
		if err != nil || line != fmt.Sprintf("line %d\n", i) {
			t.Fatalf("line %d: %q %v", i, line, err)
		}
	}
	cancel()
	resp.Body.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r, err := hc.Get("http://plugin/active")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if string(b) == "0" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the plugin's handler still runs after the client left (active=%s)", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPluginGoneIsUnavailable(t *testing.T) {
	hc, cmd := startPluginProcess(t)
	if err := cmd.Process.Kill(); err != nil { // a crash, not a clean stop
		t.Fatal(err)
	}
	_, _ = cmd.Process.Wait()
	_, err := hc.Get("http://plugin/ping")
	if err == nil || !strings.Contains(err.Error(), "unavailable") {
		t.Fatalf("want an unavailable error after the plugin died, got %v", err)
	}
}

// BenchmarkRoundTrip measures one small request and response through go-plugin's connection.
func BenchmarkRoundTrip(b *testing.B) {
	hc := startPlugin(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp, err := hc.Get("http://plugin/ping")
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// BenchmarkStream64MiB uploads 64 MiB per operation; b.SetBytes makes the MB/s column the throughput.
func BenchmarkStream64MiB(b *testing.B) {
	hc := startPlugin(b)
	const size = 64 << 20
	chunk := bytes.Repeat([]byte{0xa5}, 1<<20)
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pr, pw := io.Pipe()
		go func() {
			for n := 0; n < size; n += len(chunk) {
				if _, err := pw.Write(chunk); err != nil {
					return
				}
			}
			pw.Close()
		}()
		resp, err := hc.Post("http://plugin/discard", "application/octet-stream", pr)
		if err != nil {
			b.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(got) != strconv.Itoa(size) {
			b.Fatalf("plugin counted %s bytes", got)
		}
	}
}

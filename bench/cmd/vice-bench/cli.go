package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// side is one engine under test, as the docker CLI reaches it.
type side struct {
	name   string // "vice" or "docker"
	host   string // the CLI's -H
	dial   func(ctx context.Context) (net.Conn, error)
	broken string // why containers cannot run here (the warm-up failed), "" when they can
}

// cli runs `docker -H <side> args...` and returns its wall time in seconds, from just before the process
// starts to just after it has exited, and its trimmed stdout.
func (h *harness) cli(ctx context.Context, s *side, timeout time.Duration, args ...string) (float64, string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.dockerCLI, append([]string{"-H", s.host}, args...)...)
	cmd.Env = h.env()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 2 * time.Second
	begin := time.Now()
	err := cmd.Run()
	secs := time.Since(begin).Seconds()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if ctx.Err() == context.DeadlineExceeded {
			msg = fmt.Sprintf("timed out after %v; %s", timeout, msg)
		}
		return secs, "", fmt.Errorf("docker %s: %w: %s", args[0], err, msg)
	}
	return secs, strings.TrimSpace(stdout.String()), nil
}

// brief is an error on one line, cut to fit a table's note.
func brief(err error) string {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	if len(msg) > 400 {
		msg = msg[:397] + "..."
	}
	return msg
}

// status sends one request to a side's API directly and returns the HTTP status: the CLI does not show
// it, and `n/a` is only honest for a 501.
func (s *side) status(ctx context.Context, method, path, body string) (int, error) {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return s.dial(ctx) }}}
	req, err := http.NewRequestWithContext(ctx, method, "http://engine"+path, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func dialer(network, addr string) func(ctx context.Context) (net.Conn, error) {
	return func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
}

// freePort asks the kernel for an unused loopback port.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// lineWatch is a writer that closes ready when a line starting with prefix passes through it and keeps
// that line's remainder.
type lineWatch struct {
	prefix string
	ready  chan struct{}
	mu     sync.Mutex
	buf    []byte
	value  string
}

func newLineWatch(prefix string) *lineWatch {
	return &lineWatch{prefix: prefix, ready: make(chan struct{})}
}

func (w *lineWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(w.buf[:i])
		w.buf = w.buf[i+1:]
		if v, ok := strings.CutPrefix(line, w.prefix); ok && w.value == "" {
			w.value = strings.TrimSpace(v)
			close(w.ready)
		}
	}
}

// waitCLI polls `docker version` until the side answers, the daemon exits, or the wait runs out.
func (h *harness) waitCLI(ctx context.Context, s *side, d *daemon, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		_, _, err := h.cli(ctx, s, 10*time.Second, "version")
		if err == nil {
			return nil
		}
		if d.exited() {
			return fmt.Errorf("%s exited; see %s/%s.log", d.name, h.dir, d.name)
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return errors.Join(fmt.Errorf("%s did not answer within %v; see %s/%s.log", d.name, wait, h.dir, d.name), err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

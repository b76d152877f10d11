package dockerapi_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// TestAttachHalfClose is `echo hi | docker run -i busybox cat`: the client's half-close reaches the
// process's stdin, which ends cat.
func TestAttachHalfClose(t *testing.T) {
	s := newStack(t)
	importImage(t, s, "busybox:latest")
	cli := newClient(t, s)
	ctx := t.Context()
	created, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{Config: &container.Config{Image: "busybox",
		Cmd: []string{"cat"}, OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true, AttachStderr: true}})
	if err != nil {
		t.Fatal(err)
	}
	// The raw exchange, to check Docker's status line and headers.
	conn, err := net.Dial("tcp", s.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "POST /v1.50/containers/"+created.ID+"/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\n"+
		"Host: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 || resp.Status != "101 UPGRADED" || resp.Header.Get("Content-Type") != "application/vnd.docker.multiplexed-stream" ||
		resp.Header.Get("Upgrade") != "tcp" {
		t.Fatalf("attach answer = %s %v", resp.Status, resp.Header)
	}
	_, _ = io.WriteString(conn, "hi\n")
	_ = conn.(*net.TCPConn).CloseWrite()
	wait := cli.ContainerWait(ctx, created.ID, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	if _, err := cli.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() { _, err := stdcopy.StdCopy(&out, io.Discard, br); done <- err }()
	select {
	case err := <-done:
		if err != nil || out.String() != "hi\n" {
			t.Errorf("output = %q, %v", out.String(), err)
		}
	case <-time.After(guestWait):
		t.Fatal("the output did not end after the half-close")
	}
	select {
	case res := <-wait.Result:
		if res.StatusCode != 0 {
			t.Errorf("exit = %d", res.StatusCode)
		}
	case err := <-wait.Error:
		t.Errorf("wait: %v", err)
	case <-time.After(guestWait):
		t.Error("wait did not return")
	}

	// logs=1 replays the past output on a plain (not upgraded) attach, then the stream ends: it does not run.
	req, _ := http.NewRequest("POST", s.srv.URL+"/v1.50/containers/"+created.ID+"/attach?logs=1&stdout=1", nil)
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var replay bytes.Buffer
	_, _ = stdcopy.StdCopy(&replay, io.Discard, r2.Body)
	r2.Body.Close()
	if r2.StatusCode != 200 || replay.String() != "hi\n" {
		t.Errorf("logs replay = %d %q", r2.StatusCode, replay.String())
	}
}

// TestStartReleasesHeldProcess: a container made by a foreground `docker run` holds its process for the
// first attach; `docker start` without attaching must not hang.
func TestStartReleasesHeldProcess(t *testing.T) {
	s := newStack(t)
	importImage(t, s, "busybox:latest")
	cli := newClient(t, s)
	ctx := t.Context()
	created, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{Config: &container.Config{Image: "busybox",
		Cmd: []string{"echo", "held"}, AttachStdout: true, AttachStderr: true}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := cli.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	wait := cli.ContainerWait(ctx, created.ID, client.ContainerWaitOptions{})
	select {
	case res := <-wait.Result:
		if res.StatusCode != 0 || time.Since(start) > 5*time.Second {
			t.Errorf("wait = %+v after %s", res, time.Since(start))
		}
	case err := <-wait.Error:
		t.Fatal(err)
	}
	rc, _ := cli.ContainerLogs(ctx, created.ID, client.ContainerLogsOptions{ShowStdout: true})
	var out bytes.Buffer
	_, _ = stdcopy.StdCopy(&out, io.Discard, rc)
	rc.Close()
	if out.String() != "held\n" {
		t.Errorf("logs = %q", out.String())
	}
}

// TestImageInUse: deleting an image a container uses is Docker's conflict.
func TestImageInUse(t *testing.T) {
	s := newStack(t)
	imgID := importImage(t, s, "busybox:latest")
	cli := newClient(t, s)
	ctx := t.Context()
	created, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{Config: &container.Config{Image: "busybox", Cmd: []string{"sleep", "300"}}})
	if err != nil {
		t.Fatal(err)
	}
	short, cshort := strings.TrimPrefix(imgID, "sha256:")[:12], created.ID[:12]
	for _, c := range []struct{ path, want string }{
		{"/images/busybox", `conflict: unable to remove repository reference \"busybox\" (must force) - container ` + cshort + ` is using its referenced image ` + short},
		{"/images/" + short, "conflict: unable to delete " + short + " (must be forced) - image is being used by stopped container " + cshort},
	} {
		req, _ := http.NewRequest("DELETE", s.srv.URL+"/v1.50"+c.path, nil)
		if status, body := send(t, req); status != 409 || !strings.Contains(body, c.want) {
			t.Errorf("DELETE %s = %d %s", c.path, status, body)
		}
	}
	if _, err := cli.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("DELETE", s.srv.URL+"/v1.50/images/"+short+"?force=1", nil)
	if status, body := send(t, req); status != 409 || !strings.Contains(body, "(cannot be forced) - image is being used by running container "+cshort) {
		t.Errorf("forced delete of a running container's image = %d %s", status, body)
	}
}

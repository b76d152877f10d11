package dockerapi_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/vice-engine/vice/core/images"
	"github.com/vice-engine/vice/core/internal/plugintest"
)

// importImage stores busybox as a one-layer image named ref, its config changed by Dockerfile instructions.
func importImage(t *testing.T, s *stack, ref string, changes ...string) string {
	t.Helper()
	repo, tag, _ := strings.Cut(ref, ":")
	id, err := s.engine.Images().Import(context.Background(), images.ImportOptions{Source: plugintest.Busybox(t),
		Repo: repo, Tag: tag, Changes: changes})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// newClient is the real Docker Go client on the stack's TCP listener.
func newClient(t *testing.T, s *stack) *client.Client {
	t.Helper()
	cli, err := client.New(client.WithHost("tcp://"+s.srv.Listener.Addr().String()), client.WithAPIVersion("1.50"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// run is `docker run` without -d: create, attach, start, then the output and the exit code.
func run(t *testing.T, cli *client.Client, cfg *container.Config, host *container.HostConfig, name string) (id, stdout, stderr string, code int64) {
	t.Helper()
	ctx := t.Context()
	cfg.AttachStdout, cfg.AttachStderr = true, true
	created, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{Config: cfg, HostConfig: host, Name: name})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	att, err := cli.ContainerAttach(ctx, created.ID, client.ContainerAttachOptions{Stream: true, Stdout: true, Stderr: true})
	if err != nil {
		t.Fatalf("attach: %v", err)
	}
	defer att.Close()
	cond := container.WaitConditionNextExit
	if host != nil && host.AutoRemove {
		cond = container.WaitConditionRemoved
	}
	wait := cli.ContainerWait(ctx, created.ID, client.ContainerWaitOptions{Condition: cond})
	if _, err := cli.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatalf("start: %v", err)
	}
	var out, errb bytes.Buffer
	if cfg.Tty {
		_, _ = io.Copy(&out, att.Reader)
	} else if _, err := stdcopy.StdCopy(&out, &errb, att.Reader); err != nil {
		t.Fatalf("attach stream: %v", err)
	}
	select {
	case res := <-wait.Result:
		code = res.StatusCode
	case err := <-wait.Error:
		t.Fatalf("wait: %v", err)
	case <-time.After(guestWait):
		t.Fatal("wait did not return")
	}
	return created.ID, out.String(), errb.String(), code
}

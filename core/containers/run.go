package containers

import (
	"context"
	"io"
	"strings"

	"github.com/moby/moby/api/types/container"
)

// Run starts the created container ref, copies its output to out as the process writes it (stdout and stderr
// together, unframed) until it exits, and returns its exit code: a build's RUN step. The container must have
// been created to be attached (AttachStdout or AttachStderr), so that no output is lost before the attach.
func (s *Service) Run(ctx context.Context, ref string, out io.Writer) (int, error) {
	a, err := s.Attach(ctx, ref, AttachOptions{Stream: true, Stdout: true, Stderr: true, raw: true})
	if err != nil {
		return 0, err
	}
	serveCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- a.Serve(serveCtx, strings.NewReader(""), out) }()
	if err := s.Start(ctx, ref); err != nil {
		cancel()
		<-served
		return 0, err
	}
	if err := <-served; err != nil {
		return 0, err
	}
	wait, err := s.Wait(ctx, ref, string(container.WaitConditionNotRunning))
	if err != nil {
		return 0, err
	}
	res, err := wait(ctx)
	if err != nil {
		return 0, err
	}
	return int(res.StatusCode), nil
}

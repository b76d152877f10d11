package build

import (
	"context"
	"io"
	"strconv"

	"github.com/moby/moby/api/types/container"

	"github.com/vice-engine/vice/core/images"
)

// runStep is RUN: the command runs in a containerVM of the stage's image with the stage's config and the
// build args in its environment, its output streamed; its changes become the step's layer. The cache key
// is the command with the build args it saw ("|N A=1 B=2 /bin/sh -c ..."), as the classic builder keys it.
func (b *builder) runStep(ctx context.Context, st *stage, in Instruction) error {
	flags, rest, err := in.flags("mount", "network", "security")
	if err != nil {
		return err
	}
	if len(flags) > 0 {
		return in.errorf("the --mount, --network and --security options of RUN require BuildKit, which vice does not run (see its README)")
	}
	if rest == "" {
		return in.errorf("RUN requires at least one argument")
	}
	cmd := b.commandLine(st, rest)
	args := b.argEnv(st, false)
	saved := cmd
	if len(args) > 0 {
		saved = append(append([]string{"|" + strconv.Itoa(len(args))}, args...), cmd...)
	}
	probe := cloneConfig(st.config)
	probe.Cmd, probe.Entrypoint, probe.Image = saved, nil, st.imageID
	if b.cached(ctx, st, probe) {
		return nil
	}
	if st.imageID == "" {
		return &runError{cmd: cmd, code: 127} // FROM scratch: nothing to run it with
	}

	cfg := cloneConfig(st.config)
	cfg.Image = st.imageID
	cfg.Cmd, cfg.Entrypoint = cmd, []string{""}
	cfg.Env = append(clone(st.config.Env), b.argEnv(st, true)...)
	cfg.Healthcheck = nil
	cfg.AttachStdout, cfg.AttachStderr = true, true
	cfg.OpenStdin, cfg.Tty = false, false
	id, err := b.createContainer(ctx, cfg)
	if err != nil {
		return err
	}
	b.stream(" ---> Running in %s\n", shortID(id))
	code, err := b.s.containers.Run(ctx, id, streamWriter{b})
	if err != nil && ctx.Err() != nil {
		// The client went away: the step's containerVM goes too, running or not, as dockerd kills it.
		b.removeContainer(context.WithoutCancel(ctx), id)
		return err
	}
	if err != nil {
		b.tmp[id] = true
		return err
	}
	if code != 0 {
		b.tmp[id] = true
		return &runError{cmd: cmd, code: code}
	}
	diff, err := b.s.containers.Diff(ctx, id)
	if err != nil {
		b.tmp[id] = true
		return err
	}
	err = b.commit(ctx, st, probe, id, diff)
	diff.Close()
	if err != nil {
		b.tmp[id] = true
		return err
	}
	if b.o.Remove || b.o.ForceRemove {
		b.removeContainer(context.WithoutCancel(ctx), id)
	}
	b.stream(" ---> %s\n", shortID(st.imageID))
	return nil
}

// createContainer makes an intermediate container of the build with the build's resources and network.
func (b *builder) createContainer(ctx context.Context, cfg *container.Config) (string, error) {
	host := &container.HostConfig{NetworkMode: container.NetworkMode(b.o.NetworkMode), ExtraHosts: b.o.ExtraHosts}
	host.Memory, host.CPUCount, host.NanoCPUs = b.o.Memory, b.o.CPUCount, b.o.NanoCPUs
	if host.NetworkMode == "" {
		host.NetworkMode = "default"
	}
	resp, err := b.s.containers.Create(ctx, "", container.CreateRequest{Config: cfg, HostConfig: host})
	if err != nil {
		return "", err
	}
	b.tmp[resp.ID] = false
	return resp.ID, nil
}

// streamWriter sends a RUN step's output to the build's stream as it comes.
type streamWriter struct{ b *builder }

func (w streamWriter) Write(p []byte) (int, error) {
	if !w.b.o.Quiet {
		w.b.out(images.Message{Stream: string(p)})
	}
	return len(p), nil
}

var _ io.Writer = streamWriter{}

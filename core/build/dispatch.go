package build

import (
	"context"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/moby/moby/api/types/container"

	"github.com/vice-engine/vice/core/images"
	"github.com/vice-engine/vice/core/internal/changes"
)

// dispatch runs one instruction of a stage.
func (b *builder) dispatch(ctx context.Context, st *stage, in Instruction) error {
	switch in.Keyword {
	case "RUN":
		return b.runStep(ctx, st, in)
	case "COPY", "ADD":
		return b.copyStep(ctx, st, in)
	case "FROM":
		return in.errorf("FROM is not allowed here")
	case "ARG":
		args, err := b.parseArgs(in, st)
		if err != nil {
			return err
		}
		st.args = append(st.args, args...)
		var parts []string
		for _, a := range args {
			w := a.name
			if d, ok := argDefault(in, a.name, st); ok {
				w += "=" + d
			}
			parts = append(parts, w)
		}
		return b.commitConfig(ctx, st, "ARG "+strings.Join(parts, " "))
	case "ENV", "LABEL":
		kvs, err := changes.KeyValues(strings.ToLower(in.Keyword), in.Args, st.env)
		if err != nil {
			return err
		}
		if err := b.apply(st, in); err != nil {
			return err
		}
		comment := in.Keyword
		for _, kv := range kvs {
			comment += " " + kv[0] + "=" + kv[1]
		}
		return b.commitConfig(ctx, st, comment)
	case "CMD":
		st.config.Cmd = b.commandLine(st, in.Args)
		st.cmdSet = true
		return b.commitConfig(ctx, st, fmt.Sprintf("CMD %q", st.config.Cmd))
	case "ENTRYPOINT":
		st.config.Entrypoint = b.commandLine(st, in.Args)
		if !st.cmdSet {
			st.config.Cmd = nil // the base image's CMD goes with a new ENTRYPOINT
		}
		return b.commitConfig(ctx, st, fmt.Sprintf("ENTRYPOINT %q", st.config.Entrypoint))
	case "SHELL":
		shell, ok := execForm(in.Args)
		if !ok || len(shell) == 0 {
			return in.errorf("SHELL requires the arguments to be in JSON form")
		}
		st.config.Shell = shell
		return b.commitConfig(ctx, st, fmt.Sprintf("SHELL %q", shell))
	case "MAINTAINER":
		if strings.TrimSpace(in.Args) == "" {
			return in.errorf("MAINTAINER requires exactly one argument")
		}
		st.maintainer = strings.TrimSpace(in.Args)
		return b.commitConfig(ctx, st, "MAINTAINER "+st.maintainer)
	case "WORKDIR", "USER", "STOPSIGNAL", "EXPOSE", "VOLUME", "HEALTHCHECK", "ONBUILD":
		if err := b.apply(st, in); err != nil {
			return err
		}
		return b.commitConfig(ctx, st, metaComment(in, st))
	}
	return in.errorf("unknown instruction: %s", in.Keyword)
}

// apply changes the stage's config by one instruction, as docker commit --change does, its words expanded
// with the stage's environment and build args.
func (b *builder) apply(st *stage, in Instruction) error {
	if err := changes.ApplyWith(st.config, []string{in.Keyword + " " + in.Args}, st.lookup); err != nil {
		return fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "Dockerfile parse error on ")) // keeps the class
	}
	return nil
}

// argDefault is the default an ARG instruction gives name, expanded, if it gives one.
func argDefault(in Instruction, name string, st *stage) (string, bool) {
	ws, err := changes.Words(in.Args, st.env)
	if err != nil {
		return "", false
	}
	for _, w := range ws {
		if n, d, ok := strings.Cut(w, "="); ok && n == name {
			return d, true
		}
	}
	return "", false
}

// metaComment is the history's words for a metadata step, as the classic builder writes them.
func metaComment(in Instruction, st *stage) string {
	after := st.config
	switch in.Keyword {
	case "WORKDIR":
		return "WORKDIR " + after.WorkingDir
	case "USER":
		return "USER " + after.User
	case "STOPSIGNAL":
		return "STOPSIGNAL " + after.StopSignal
	case "HEALTHCHECK":
		hc := after.Healthcheck
		if hc == nil {
			return "HEALTHCHECK NONE"
		}
		// Go's %q of the struct, as dockerd writes it.
		return fmt.Sprintf("HEALTHCHECK &{%q %q %q %q %q %q}", hc.Test, hc.Interval.String(), hc.Timeout.String(),
			hc.StartPeriod.String(), hc.StartInterval.String(), rune(hc.Retries))
	case "ONBUILD":
		return "ONBUILD " + strings.TrimSpace(in.Args)
	case "VOLUME", "EXPOSE":
		var words []string
		if list, ok := execForm(in.Args); ok && in.Keyword == "VOLUME" {
			words = list
		} else {
			words, _ = changes.Words(in.Args, st.env)
		}
		if in.Keyword == "VOLUME" {
			return fmt.Sprintf("VOLUME %v", words)
		}
		return "EXPOSE " + strings.Join(words, " ")
	}
	return in.Keyword + " " + in.Args
}

// shell is the stage's SHELL (/bin/sh -c by default).
func (st *stage) shell() []string {
	if len(st.config.Shell) > 0 {
		return clone(st.config.Shell)
	}
	return []string{"/bin/sh", "-c"}
}

// commandLine is an exec form as written, or a shell form run by the stage's shell.
func (b *builder) commandLine(st *stage, args string) []string {
	if list, ok := execForm(args); ok {
		return list
	}
	return append(st.shell(), args)
}

// commitConfig ends a metadata step: an image whose config is the stage's and whose layers are its
// parent's, its history entry an empty layer whose command is the "#(nop)" comment, found in the cache
// when an earlier build made it.
func (b *builder) commitConfig(ctx context.Context, st *stage, comment string) error {
	probe := cloneConfig(st.config)
	probe.Cmd = append(st.shell(), "#(nop) ", comment)
	probe.Image = st.imageID
	if b.cached(ctx, st, probe) {
		return nil
	}
	if err := b.commit(ctx, st, probe, "", nil); err != nil {
		return err
	}
	b.stream(" ---> %s\n", shortID(st.imageID))
	return nil
}

// commit stores the step's image: the stage's config over its current image, with the container's diff
// as a layer when there is one.
func (b *builder) commit(ctx context.Context, st *stage, probe *container.Config, containerID string, diff io.Reader) error {
	cfg := cloneConfig(st.config)
	cfg.Image = st.imageID
	o := images.CommitOptions{Parent: st.imageID, Config: cfg, ContainerConfig: probe, ContainerID: containerID,
		Author: st.maintainer, BuildStep: true}
	if diff != nil {
		o.Diff = diff
	}
	id, _, err := b.s.images.Commit(ctx, o)
	if err != nil {
		return err
	}
	st.imageID = id
	return nil
}

// cleanPath is a destination made absolute against the working directory, its trailing slash kept.
func cleanPath(workdir, p string) string {
	dir := strings.HasSuffix(p, "/") || strings.HasSuffix(p, "/.") || p == "."
	if !path.IsAbs(p) {
		p = path.Join("/", workdir, p)
	}
	p = path.Clean(p)
	if dir && p != "/" {
		p += "/"
	}
	return p
}

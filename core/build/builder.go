package build

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"

	"github.com/vice-engine/vice/core/images"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

type networkPort = network.Port

// builder is one build in progress.
type builder struct {
	s    *Service
	o    Options
	bctx *buildContext
	out  Output

	stages   []*stage
	metaArgs []arg           // the ARGs before the first FROM
	metaIns  []Instruction   // the instructions that declared them: steps of their own in the output
	argsUsed map[string]bool // the build args some ARG declared
	tmp      map[string]bool // the intermediate containers not removed yet: ID -> the step failed in it
	step     int
	total    int
}

// stage is one FROM ... of the Dockerfile and the state of its build.
type stage struct {
	name       string // lower-cased "AS" name, "" without one
	index      int
	from       Instruction
	body       []Instruction
	imageID    string // the current image ("" for FROM scratch until a step commits)
	config     *container.Config
	args       []arg // the ARGs declared so far, in order
	maintainer string
	cmdSet     bool // a CMD of this stage: a later ENTRYPOINT keeps it
}

// arg is a declared build argument and its value (nil: declared without one).
type arg struct {
	name  string
	value *string
}

// predefinedArgs may be given without an ARG declaring them; they stay out of the image's history.
var predefinedArgs = map[string]bool{
	"HTTP_PROXY": true, "http_proxy": true, "HTTPS_PROXY": true, "https_proxy": true, "FTP_PROXY": true,
	"ftp_proxy": true, "NO_PROXY": true, "no_proxy": true, "ALL_PROXY": true, "all_proxy": true,
}

// stream writes text to the build's output as a "stream" message.
func (b *builder) stream(format string, a ...any) {
	if b.o.Quiet {
		return
	}
	b.out(images.Message{Stream: fmt.Sprintf(format, a...)})
}

// run builds the Dockerfile and tags the result.
func (b *builder) run(ctx context.Context) (string, error) {
	data, err := b.bctx.readFile(b.o.Dockerfile)
	if err != nil {
		return "", fmt.Errorf("Cannot locate specified Dockerfile: %s: %w", b.o.Dockerfile, errdefs.ErrInvalid)
	}
	df, err := Parse(bytes.NewReader(data))
	if err != nil {
		return "", err
	}
	for _, w := range df.Warnings {
		b.stream("%s\n", w)
	}
	if err := b.bctx.applyIgnore(); err != nil {
		return "", err
	}
	b.argsUsed = map[string]bool{}
	if err := b.split(df.Instructions); err != nil {
		return "", err
	}
	last := len(b.stages) - 1
	if b.o.Target != "" {
		last = slices.IndexFunc(b.stages, func(st *stage) bool { return st.name == strings.ToLower(b.o.Target) })
		if last < 0 {
			return "", fmt.Errorf("failed to reach build target %s in Dockerfile: %w", b.o.Target, errdefs.ErrInvalid)
		}
	}
	b.stages = b.stages[:last+1]
	if len(b.o.Labels) > 0 {
		b.stages[last].body = append(b.stages[last].body, labelInstruction(b.o.Labels))
	}
	b.total = len(b.metaIns)
	for _, st := range b.stages {
		b.total += 1 + len(st.body)
	}
	// The meta args are steps too, as dockerd counts and prints them, with no image of their own.
	for _, in := range b.metaIns {
		b.step++
		b.stream("Step %d/%d : %s\n", b.step, b.total, in.Original)
	}
	for _, st := range b.stages {
		if err := b.buildStage(ctx, st); err != nil {
			return "", err
		}
	}
	final := b.stages[last]
	if final.imageID == "" {
		return "", fmt.Errorf("No image was generated. Is your Dockerfile empty?: %w", errdefs.ErrInvalid)
	}
	b.warnUnusedArgs()
	b.stream("Successfully built %s\n", shortID(final.imageID))
	for _, t := range b.o.Tags {
		ref, err := b.s.images.TagReference(ctx, final.imageID, t)
		if err != nil {
			return "", err
		}
		b.stream("Successfully tagged %s\n", ref)
	}
	if b.o.Quiet {
		b.out(images.Message{Stream: final.imageID + "\n"})
	}
	return final.imageID, nil
}

// split cuts the instructions into stages at each FROM; the ARGs before the first are the meta args.
func (b *builder) split(list []Instruction) error {
	for _, in := range list {
		switch {
		case in.Keyword == "FROM":
			_, name, err := b.fromWords(in)
			if err != nil {
				return err
			}
			if name != "" && slices.ContainsFunc(b.stages, func(s *stage) bool { return s.name == name }) {
				return in.errorf("duplicate name %s", name)
			}
			b.stages = append(b.stages, &stage{index: len(b.stages), from: in, name: name})
		case len(b.stages) == 0 && in.Keyword == "ARG":
			args, err := b.parseArgs(in, nil)
			if err != nil {
				return err
			}
			b.metaArgs = append(b.metaArgs, args...)
			b.metaIns = append(b.metaIns, in)
		case len(b.stages) == 0:
			return fmt.Errorf("Please provide a source image with `from` prior to %s: %w", strings.ToLower(in.Keyword), errdefs.ErrInvalid)
		default:
			st := b.stages[len(b.stages)-1]
			st.body = append(st.body, in)
		}
	}
	if len(b.stages) == 0 {
		return fmt.Errorf("No build stage in current context: %w", errdefs.ErrInvalid)
	}
	return nil
}

// labelInstruction is the LABEL step Docker adds for the build's --label options, keys sorted.
func labelInstruction(labels map[string]string) Instruction {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		parts = append(parts, fmt.Sprintf("%q='%s'", k, labels[k]))
	}
	text := strings.Join(parts, " ")
	return Instruction{Keyword: "LABEL", Args: text, Original: "LABEL " + text}
}

// buildStage runs a stage's FROM and its steps.
func (b *builder) buildStage(ctx context.Context, st *stage) error {
	b.step++
	b.stream("Step %d/%d : %s\n", b.step, b.total, st.from.Original)
	if err := b.from(ctx, st); err != nil {
		return err
	}
	for _, in := range st.body {
		if err := ctx.Err(); err != nil {
			return err
		}
		b.step++
		b.stream("Step %d/%d : %s\n", b.step, b.total, in.Original)
		if err := b.dispatch(ctx, st, in); err != nil {
			return err
		}
	}
	// Each stage's image is an aux message, as dockerd's; the last is the build's.
	if st.imageID != "" {
		b.out(images.Message{Aux: map[string]string{"ID": st.imageID}})
	}
	return nil
}

// lookup is how a stage's words expand variables: its config's environment first, then its build args.
func (st *stage) lookup(name string) (string, bool) {
	for i := len(st.config.Env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(st.config.Env[i], name+"="); ok {
			return v, true
		}
	}
	for i := len(st.args) - 1; i >= 0; i-- {
		if st.args[i].name == name && st.args[i].value != nil {
			return *st.args[i].value, true
		}
	}
	return "", false
}

func (st *stage) env(name string) string { v, _ := st.lookup(name); return v }

// argEnv is the build args a RUN step sees as "NAME=value", sorted: the declared ones with a value that the
// config's environment does not set, and the predefined proxy args given to the build. withPredefined says
// whether the proxy args count (they do for the process, not for the cache key and history).
func (b *builder) argEnv(st *stage, withPredefined bool) []string {
	set := map[string]string{}
	for _, a := range st.args {
		if a.value == nil || predefinedArgs[a.name] {
			continue
		}
		if _, inEnv := envValue(st.config.Env, a.name); !inEnv {
			set[a.name] = *a.value
		}
	}
	if withPredefined {
		for name, v := range b.o.BuildArgs {
			if predefinedArgs[name] && v != nil {
				set[name] = *v
			}
		}
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(set)) {
		out = append(out, k+"="+set[k])
	}
	return out
}

func envValue(env []string, name string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// warnUnusedArgs is Docker's warning for build args no ARG declared.
func (b *builder) warnUnusedArgs() {
	var unused []string
	for name := range b.o.BuildArgs {
		if !b.argsUsed[name] && !predefinedArgs[name] {
			unused = append(unused, name)
		}
	}
	if len(unused) > 0 {
		sort.Strings(unused)
		b.stream("[Warning] One or more build-args %v were not consumed\n", unused)
	}
}

// cleanup removes the intermediate containers left: all of them after a success when asked to (rm), after
// a failure only with forcerm, as Docker does.
func (b *builder) cleanup(ctx context.Context, succeeded bool) {
	for id, failed := range b.tmp {
		if failed && !b.o.ForceRemove || !failed && !b.o.Remove && !b.o.ForceRemove {
			continue
		}
		b.removeContainer(ctx, id)
	}
}

// removeContainer removes an intermediate container and says so, as Docker does.
func (b *builder) removeContainer(ctx context.Context, id string) {
	if err := b.s.containers.Remove(ctx, id, true, true); err != nil {
		b.stream("Error removing intermediate container %s: %v\n", shortID(id), err)
		return
	}
	delete(b.tmp, id)
	b.stream(" ---> Removed intermediate container %s\n", shortID(id))
}

// shortID is Docker's 12-character form of an ID.
func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

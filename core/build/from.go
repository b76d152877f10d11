package build

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/registry"

	"github.com/vice-engine/vice/core/imagec"
	"github.com/vice-engine/vice/core/images"
	"github.com/vice-engine/vice/core/internal/changes"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

var stageName = regexp.MustCompile(`^[a-z][a-z0-9-_.]*$`)

// metaEnv expands the words of FROM lines and meta ARGs: the meta args' values.
func (b *builder) metaEnv(name string) string {
	for i := len(b.metaArgs) - 1; i >= 0; i-- {
		if b.metaArgs[i].name == name && b.metaArgs[i].value != nil {
			return *b.metaArgs[i].value
		}
	}
	return ""
}

// parseArgs reads ARG name[=default] ...: the build's value wins over the default; in a stage, a name
// declared without a default takes the meta arg's value.
func (b *builder) parseArgs(in Instruction, st *stage) ([]arg, error) {
	env := b.metaEnv
	if st != nil {
		env = st.env
	}
	ws, err := changes.Words(in.Args, env)
	if err != nil {
		return nil, in.errorf("%v", err)
	}
	if len(ws) == 0 {
		return nil, in.errorf("ARG requires at least one argument")
	}
	var out []arg
	for _, w := range ws {
		name, def, hasDef := strings.Cut(w, "=")
		if name == "" {
			return nil, in.errorf("ARG names can not be blank")
		}
		a := arg{name: name}
		if hasDef {
			a.value = &def
		} else if st != nil {
			for _, m := range b.metaArgs {
				if m.name == name && m.value != nil {
					v := *m.value
					a.value = &v
				}
			}
		}
		if v, ok := b.o.BuildArgs[name]; ok {
			if b.argsUsed != nil {
				b.argsUsed[name] = true
			}
			if v != nil {
				a.value = v
			}
		}
		out = append(out, a)
	}
	return out, nil
}

// fromWords reads FROM [--platform=p] image [AS name], expanded with the meta args.
func (b *builder) fromWords(in Instruction) (image, name string, err error) {
	flags, rest, err := in.flags("platform")
	if err != nil {
		return "", "", err
	}
	if p, ok := flags["platform"]; ok {
		ws, err := changes.Words(p, b.metaEnv)
		if err != nil {
			return "", "", in.errorf("%v", err)
		}
		if err := checkPlatform(strings.Join(ws, "")); err != nil {
			return "", "", err
		}
	}
	ws, err := changes.Words(rest, b.metaEnv)
	if err != nil {
		return "", "", in.errorf("%v", err)
	}
	switch {
	case len(ws) == 1:
	case len(ws) == 3 && strings.EqualFold(ws[1], "AS"):
		name = strings.ToLower(ws[2])
		if !stageName.MatchString(name) {
			return "", "", in.errorf("invalid name for build stage: %q, name can't start with a number or contain symbols", ws[2])
		}
	default:
		return "", "", in.errorf("FROM requires either one or three arguments")
	}
	if ws[0] == "" {
		return "", "", in.errorf("base name (%s) should not be blank", rest)
	}
	return ws[0], name, nil
}

// from starts a stage: from scratch, from an earlier stage, or from an image (pulled when missing or when
// the build asks to pull); then the base image's ONBUILD triggers run.
func (b *builder) from(ctx context.Context, st *stage) error {
	image, _, err := b.fromWords(st.from)
	if err != nil {
		return err
	}
	switch {
	case strings.EqualFold(image, "scratch"):
		st.config = &container.Config{}
	case b.stageNamed(strings.ToLower(image), st.index) != nil:
		prev := b.stageNamed(strings.ToLower(image), st.index)
		st.imageID, st.config = prev.imageID, cloneConfig(prev.config)
	default:
		id, cfg, err := b.baseImage(ctx, image)
		if err != nil {
			return err
		}
		st.imageID, st.config = id, cfg
	}
	b.stream(" ---> %s\n", shortID(st.imageID)) // " ---> " alone FROM scratch, as dockerd writes it
	triggers := st.config.OnBuild
	st.config.OnBuild = nil
	if len(triggers) == 0 {
		return nil
	}
	plural := ""
	if len(triggers) > 1 {
		plural = "s"
	}
	b.stream("# Executing %d build trigger%s\n", len(triggers), plural)
	for _, t := range triggers {
		df, err := Parse(strings.NewReader(t))
		if err != nil {
			return err
		}
		for _, in := range df.Instructions {
			if err := b.dispatch(ctx, st, in); err != nil {
				return err
			}
		}
	}
	return nil
}

// stageNamed is the stage before index called name (or numbered so, for COPY --from), or nil.
func (b *builder) stageNamed(name string, before int) *stage {
	for _, s := range b.stages[:before] {
		if s.name == name || fmt.Sprint(s.index) == name {
			return s
		}
	}
	return nil
}

// baseImage resolves a FROM image, pulling it when the store lacks it or the build asks to pull.
func (b *builder) baseImage(ctx context.Context, ref string) (string, *container.Config, error) {
	if !b.o.Pull {
		id, raw, err := b.s.images.RawConfig(ctx, ref)
		if err == nil {
			cfg, err := runConfig(raw)
			return id, cfg, err
		}
		if !errors.Is(err, errdefs.ErrNotFound) {
			return "", nil, err
		}
	}
	pull, err := b.s.images.PreparePull(ctx, images.PullOptions{Image: ref, Auth: b.authFor(ref)})
	if err != nil {
		return "", nil, err
	}
	progress := images.ProgressFunc(b.out)
	if b.o.Quiet {
		progress = func(images.Message) {}
	}
	if err := pull.Run(ctx, progress); err != nil {
		return "", nil, err
	}
	id, raw, err := b.s.images.RawConfig(ctx, pull.Reference())
	if err != nil {
		return "", nil, err
	}
	cfg, err := runConfig(raw)
	return id, cfg, err
}

// authFor picks the credentials the client sent for the registry of ref.
func (b *builder) authFor(ref string) registry.AuthConfig {
	r, err := imagec.ParseReference(ref)
	if err != nil {
		return registry.AuthConfig{}
	}
	host := r.Repository().RegistryStr()
	for k, a := range b.o.Auth {
		k = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(k, "https://"), "http://"), "/")
		k, _, _ = strings.Cut(k, "/")
		if k == host || host == "index.docker.io" && (k == "index.docker.io" || k == "docker.io") {
			return a
		}
	}
	return registry.AuthConfig{}
}

// runConfig is the runtime config of a stored image config (Docker's image config "config").
func runConfig(raw []byte) (*container.Config, error) {
	var m struct {
		Config *container.Config `json:"config"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("the image's config: %w", err)
	}
	if m.Config == nil {
		m.Config = &container.Config{}
	}
	return m.Config, nil
}

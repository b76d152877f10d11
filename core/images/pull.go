package images

import (
	"context"
	"fmt"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/api/types/registry"

	"github.com/vice-engine/vice/core/imagec"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// PullOptions is one POST /images/create?fromImage=...
type PullOptions struct {
	Image    string // fromImage
	Tag      string // tag, or a digest
	Platform string // "os/arch[/variant]"; "" is linux/amd64
	Auth     registry.AuthConfig
	// AllTags pulls every tag of the repository Image names (`docker pull --all-tags`, a fromImage without
	// tag); a tag that fails is skipped, as dockerd skips it.
	AllTags bool
}

// Pull is a pull whose manifest is resolved (or, for all tags, whose tags are listed): what remains can
// only fail mid-stream.
type Pull struct {
	s        *Service
	img      *imagec.Image
	platform *v1.Platform
	auth     registry.AuthConfig
	repo     imagec.Reference // all tags: the repository, as its latest tag
	tags     []string
}

// PreparePull resolves the reference and fetches the manifest and config, so that a bad reference, a missing
// image or refused credentials are errors before any progress is streamed.
func (s *Service) PreparePull(ctx context.Context, o PullOptions) (*Pull, error) {
	ref, err := imagec.WithTag(strings.TrimSuffix(o.Image, ":"), o.Tag)
	if err != nil {
		return nil, err
	}
	var platform *v1.Platform
	if o.Platform != "" {
		if platform, err = v1.ParsePlatform(o.Platform); err != nil {
			return nil, errdefs.Classed(fmt.Errorf("invalid platform %q: %w", o.Platform, err), errdefs.ErrInvalid)
		}
	}
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	s.mu.Unlock()
	p := &Pull{s: s, platform: platform, auth: o.Auth}
	if o.AllTags {
		if p.tags, err = s.reg.Tags(ctx, ref.Repository(), o.Auth); err != nil {
			return nil, err
		}
		p.repo = ref
		return p, nil
	}
	if p.img, err = s.reg.Resolve(ctx, ref, o.Auth, platform); err != nil {
		return nil, err
	}
	return p, nil
}

// Reference is what is being pulled, as Docker shows it.
func (p *Pull) Reference() string {
	if p.img == nil {
		return p.repo.FamiliarName()
	}
	return p.img.Ref.String()
}

// Run fetches the layers the store lacks and stores the image, reporting as `docker pull` shows it. With all
// tags, each tag is pulled in turn and one status ends the pull.
func (p *Pull) Run(ctx context.Context, out ProgressFunc) error {
	out = serialized(out)
	if p.img != nil {
		upToDate, err := p.s.pullImage(ctx, p.img, out)
		if err != nil {
			return err
		}
		if upToDate {
			out(status("", "Status: Image is up to date for "+p.img.Ref.String()))
		} else {
			out(status("", "Status: Downloaded newer image for "+p.img.Ref.String()))
		}
		return nil
	}
	downloaded := false
	for _, tag := range p.tags {
		ref, err := imagec.WithTag(p.repo.Repository().Name(), tag)
		if err == nil {
			var img *imagec.Image
			if img, err = p.s.reg.Resolve(ctx, ref, p.auth, p.platform); err == nil {
				var upToDate bool
				upToDate, err = p.s.pullImage(ctx, img, out)
				downloaded = downloaded || !upToDate
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			p.s.log.Warn("pull of one tag failed", "ref", ref.String(), "err", err)
		}
	}
	if downloaded {
		out(status("", "Status: Downloaded newer image for "+p.repo.FamiliarName()))
	} else {
		out(status("", "Status: Image is up to date for "+p.repo.FamiliarName()))
	}
	return nil
}

// pullImage pulls one resolved image: its layers, its record and its references, up to its "Digest:" line.
func (s *Service) pullImage(ctx context.Context, img *imagec.Image, out ProgressFunc) (upToDate bool, _ error) {
	ref := img.Ref
	out(status(ref.Identifier(), "Pulling from "+ref.PathInRegistry()))

	s.mu.Lock()
	rec := s.images[img.ID()]
	s.mu.Unlock()
	if rec == nil {
		layers, err := s.fetchLayers(ctx, img, out)
		if err != nil {
			return false, err
		}
		if rec, err = newRecord(img.RawConfig, layers); err != nil {
			return false, errdefs.Classed(err, errdefs.ErrInvalid)
		}
	}
	digestRef := ref.FamiliarName() + "@" + img.Digest
	s.mu.Lock()
	upToDate = s.refs.Refs[ref.String()] == rec.ID && s.images[rec.ID] != nil
	var err error
	if s.images[rec.ID] == nil {
		err = s.putImageLocked(ctx, rec)
	}
	if err == nil {
		err = s.setRefsLocked(ctx, func(r *refsRecord) {
			now := time.Now().UTC()
			r.Refs[ref.String()], r.Refs[digestRef] = rec.ID, rec.ID
			if !upToDate {
				r.Tagged[ref.String()] = now
			}
		})
	}
	s.mu.Unlock()
	if err != nil {
		return false, err
	}
	out(status("", "Digest: "+img.Digest))
	s.log.Info("image pulled", "ref", ref.String(), "id", rec.ID, "digest", img.Digest, "up_to_date", upToDate)
	s.publish("pull", ref.String(), map[string]string{"name": ref.FamiliarName()})
	return upToDate, nil
}

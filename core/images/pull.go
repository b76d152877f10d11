package images

import (
	"context"
	"fmt"
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
}

// Pull is a pull whose manifest is resolved: what remains can only fail mid-stream.
type Pull struct {
	s   *Service
	img *imagec.Image
}

// PreparePull resolves the reference and fetches the manifest and config, so that a bad reference, a missing
// image or refused credentials are errors before any progress is streamed.
func (s *Service) PreparePull(ctx context.Context, o PullOptions) (*Pull, error) {
	ref, err := imagec.WithTag(o.Image, o.Tag)
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
	img, err := s.reg.Resolve(ctx, ref, o.Auth, platform)
	if err != nil {
		return nil, err
	}
	return &Pull{s: s, img: img}, nil
}

// Reference is what is being pulled, as Docker shows it.
func (p *Pull) Reference() string { return p.img.Ref.String() }

// Run fetches the layers the store lacks and stores the image, reporting as `docker pull` shows it.
func (p *Pull) Run(ctx context.Context, out ProgressFunc) error {
	out = serialized(out)
	img, s := p.img, p.s
	ref := img.Ref
	out(status(ref.Identifier(), "Pulling from "+ref.PathInRegistry()))

	s.mu.Lock()
	rec := s.images[img.ID()]
	s.mu.Unlock()
	if rec == nil {
		layers, err := s.fetchLayers(ctx, img, out)
		if err != nil {
			return err
		}
		if rec, err = newRecord(img.RawConfig, layers); err != nil {
			return errdefs.Classed(err, errdefs.ErrInvalid)
		}
	}
	digestRef := ref.FamiliarName() + "@" + img.Digest
	s.mu.Lock()
	upToDate := s.refs.Refs[ref.String()] == rec.ID && s.images[rec.ID] != nil
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
		return err
	}
	out(status("", "Digest: "+img.Digest))
	if upToDate {
		out(status("", "Status: Image is up to date for "+ref.String()))
	} else {
		out(status("", "Status: Downloaded newer image for "+ref.String()))
	}
	s.log.Info("image pulled", "ref", ref.String(), "id", rec.ID, "digest", img.Digest, "up_to_date", upToDate)
	s.publish("pull", ref.String(), map[string]string{"name": ref.FamiliarName()})
	return nil
}

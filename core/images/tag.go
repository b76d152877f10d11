package images

import (
	"context"
	"fmt"
	"time"

	"github.com/vice-engine/vice/core/imagec"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// Tag is POST /images/{name}/tag: repo[:tag] (tag defaults to latest) now names the image refOrID names.
func (s *Service) Tag(ctx context.Context, refOrID, repo, tag string) error {
	if repo == "" {
		return fmt.Errorf("repository name must have at least one component: %w", errdefs.ErrInvalid)
	}
	if tag == "" {
		tag = "latest"
	}
	if len(tag) > 0 && (tag[0] == '.' || tag[0] == '-') || containsAny(tag, "@/") {
		return fmt.Errorf("invalid tag format: %w", errdefs.ErrInvalid)
	}
	ref, err := imagec.ParseReference(repo + ":" + tag)
	if err != nil {
		return err
	}
	if ref.Digest() != "" {
		return fmt.Errorf("refusing to create a tag with a digest reference: %w", errdefs.ErrInvalid)
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	r, _, err := s.lookupLocked(refOrID)
	if err == nil {
		err = s.tagLocked(ctx, r.ID, ref.String())
	}
	s.mu.Unlock()
	return err
}

// tagLocked points ref at id and reports the tag event.
func (s *Service) tagLocked(ctx context.Context, id, ref string) error {
	if err := s.setRefsLocked(ctx, func(r *refsRecord) {
		r.Refs[ref], r.Tagged[ref] = id, time.Now().UTC()
	}); err != nil {
		return err
	}
	s.log.Info("image tagged", "id", id, "ref", ref)
	s.publish("tag", id, map[string]string{"name": ref})
	return nil
}

func containsAny(s, chars string) bool {
	for _, c := range chars {
		for _, d := range s {
			if c == d {
				return true
			}
		}
	}
	return false
}

// TagReference points ref (name[:tag], latest by default) at the image id: a build's -t. It returns the
// reference as Docker names it (busybox:latest).
func (s *Service) TagReference(ctx context.Context, id, ref string) (string, error) {
	r, err := imagec.ParseReference(ref)
	if err != nil {
		return "", err
	}
	if r.Digest() != "" {
		return "", fmt.Errorf("refusing to create a tag with a digest reference: %w", errdefs.ErrInvalid)
	}
	if err := s.lock(ctx); err != nil {
		return "", err
	}
	defer s.mu.Unlock()
	if s.images[id] == nil {
		return "", noSuchImage(id)
	}
	return r.String(), s.tagLocked(ctx, id, r.String())
}

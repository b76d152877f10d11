package images

import (
	"context"
	"slices"
	"time"
)

// Child is an image a build step made from a parent image, as the build cache sees it.
type Child struct {
	ID      string
	Config  []byte // the image's config as stored (its container_config is the step's)
	Created time.Time
}

// Children lists the images made from parent by build steps, newest first. An empty parent lists the
// images that have none, as Docker's cache looks for the first step of a FROM scratch stage.
func (s *Service) Children(ctx context.Context, parent string) ([]Child, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var out []Child
	for _, r := range s.images {
		if r.Parent == parent {
			out = append(out, Child{ID: r.ID, Config: r.Config, Created: r.Created})
		}
	}
	sortChildren(out)
	return out, nil
}

// RawConfig is the stored config of the image refOrID names, and its ID.
func (s *Service) RawConfig(ctx context.Context, refOrID string) (id string, raw []byte, err error) {
	if err := s.lock(ctx); err != nil {
		return "", nil, err
	}
	defer s.mu.Unlock()
	r, _, err := s.lookupLocked(refOrID)
	if err != nil {
		return "", nil, err
	}
	return r.ID, r.Config, nil
}

func sortChildren(c []Child) {
	slices.SortFunc(c, func(a, b Child) int { return b.Created.Compare(a.Created) })
}

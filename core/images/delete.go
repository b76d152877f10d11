package images

import (
	"context"
	"errors"
	"fmt"

	"github.com/moby/moby/api/types/image"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// Delete is DELETE /images/{name} with Docker's rules: a name removes that reference and deletes the image
// only with its last reference; an ID deletes the image, which without force needs it to have at most one
// repository. Deleting an image removes its layers that no other image uses, top-down. prune is accepted;
// vice images have no parent images to prune.
func (s *Service) Delete(ctx context.Context, refOrID string, force, prune bool) ([]image.DeleteResponse, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	r, ref, err := s.lookupLocked(refOrID)
	if err != nil {
		return nil, err
	}
	var out []image.DeleteResponse
	untag := func(refs ...string) error {
		if len(refs) == 0 {
			return nil
		}
		if err := s.setRefsLocked(ctx, func(rr *refsRecord) {
			for _, x := range refs {
				delete(rr.Refs, x)
				delete(rr.Tagged, x)
			}
		}); err != nil {
			return err
		}
		for _, x := range refs {
			out = append(out, image.DeleteResponse{Untagged: x})
			s.publish("untag", r.ID, map[string]string{"name": x})
		}
		return nil
	}
	tags, digests := s.refsOfLocked(r.ID)
	keep := false
	if ref != "" {
		// A reference was given: remove it, with the digests of its repository when no tag of it remains.
		gone := []string{ref}
		if !isDigestRef(ref) && !hasRepo(without(tags, ref), repoOf(ref)) {
			for _, d := range digests {
				if repoOf(d) == repoOf(ref) {
					gone = append(gone, d)
				}
			}
		}
		// The last reference: the image would go with it, which containers using it forbid. Without force,
		// so do references of one repository (a tag and its digests): the image would be left dangling.
		if len(tags)+len(digests) <= len(gone) || !force && singleRepository(tags, digests) {
			if keep, err = s.checkUsersLocked(ctx, r.ID, refOrID, ref, force); err != nil {
				return nil, err
			}
		}
		if err := untag(gone...); err != nil {
			return out, err
		}
		if t, d := s.refsOfLocked(r.ID); len(t)+len(d) > 0 || keep || s.hasChildrenLocked(r.ID) {
			return out, nil // an image with children stays as their (untagged) parent, as in Docker
		}
	} else {
		if s.hasChildrenLocked(r.ID) {
			return nil, fmt.Errorf("conflict: unable to delete %s (cannot be forced) - image has dependent child images: %w",
				shortID(r.ID), errdefs.ErrConflict)
		}
		all := append(append([]string{}, tags...), digests...)
		if keep, err = s.checkUsersLocked(ctx, r.ID, refOrID, "", force); err != nil {
			return nil, err
		}
		if !force && !singleRepository(tags, digests) {
			return nil, fmt.Errorf("conflict: unable to delete %s (must be forced) - image is referenced in multiple repositories: %w",
				shortID(r.ID), errdefs.ErrConflict)
		}
		if err := untag(all...); err != nil {
			return out, err
		}
		if keep {
			return out, nil
		}
	}
	deleted, err := s.deleteLocked(ctx, r)
	out = append(out, deleted...)
	if err == nil && prune {
		out, err = s.pruneParentsLocked(ctx, r, out)
	}
	return out, err
}

// pruneParentsLocked deletes r's parent images, nearest first, while each has no reference, no other child
// and no container using it: the intermediate images of the build that made r (Docker's noprune=false).
func (s *Service) pruneParentsLocked(ctx context.Context, r *Record, out []image.DeleteResponse) ([]image.DeleteResponse, error) {
	for p := s.images[r.Parent]; p != nil; p = s.images[p.Parent] {
		if t, d := s.refsOfLocked(p.ID); len(t)+len(d) > 0 || s.hasChildrenLocked(p.ID) {
			return out, nil
		}
		if keep, err := s.checkUsersLocked(ctx, p.ID, "", "", false); keep || err != nil {
			return out, nil
		}
		deleted, err := s.deleteLocked(ctx, p)
		out = append(out, deleted...)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// hasChildrenLocked says whether an image names id as its parent.
func (s *Service) hasChildrenLocked(id string) bool {
	for _, r := range s.images {
		if r.Parent == id {
			return true
		}
	}
	return false
}

// deleteLocked removes r's record, then its layers no other image uses, top-down.
func (s *Service) deleteLocked(ctx context.Context, r *Record) ([]image.DeleteResponse, error) {
	if err := s.deleteImageLocked(ctx, r.ID); err != nil {
		return nil, err
	}
	out := []image.DeleteResponse{{Deleted: r.ID}}
	s.log.Info("image deleted", "id", r.ID)
	s.publish("delete", r.ID, map[string]string{"name": r.ID})
	used := map[string]bool{}
	for _, other := range s.images {
		for _, c := range other.ChainIDs() {
			used[c] = true
		}
	}
	for i := len(r.Layers) - 1; i >= 0; i-- {
		c := r.Layers[i].ChainID
		if used[c] {
			break // its parents are used too
		}
		err := s.pl.RemoveLayer(ctx, c)
		switch {
		case errors.Is(err, errdefs.ErrNotFound):
		case errors.Is(err, errdefs.ErrConflict):
			s.log.Info("layer still in use; kept", "layer", c, "err", err)
			return out, nil
		case err != nil:
			return out, fmt.Errorf("remove layer %s: %w", shortID(c), err)
		default:
			out = append(out, image.DeleteResponse{Deleted: "sha256:" + c})
		}
		used[c] = true
	}
	return out, nil
}

// singleRepository is Docker's isSingleReference: at most one tag, and any digests in its repository.
func singleRepository(tags, digests []string) bool {
	if len(tags) > 1 {
		return false
	}
	repos := map[string]bool{}
	for _, d := range digests {
		repos[repoOf(d)] = true
	}
	if len(tags) == 1 {
		return len(digests) == 0 || len(repos) == 1 && repos[repoOf(tags[0])]
	}
	return len(repos) <= 1
}

func hasRepo(refs []string, repo string) bool {
	for _, r := range refs {
		if repoOf(r) == repo {
			return true
		}
	}
	return false
}

func without(list []string, x string) []string {
	var out []string
	for _, v := range list {
		if v != x {
			out = append(out, v)
		}
	}
	return out
}

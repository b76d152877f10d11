package images

import (
	"context"
	"fmt"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// User is a container made from an image, as image deletion needs to know it.
type User struct {
	ContainerID string
	Running     bool
}

// UsersFunc lists the containers made from the image imageID ("sha256:<hex>").
type UsersFunc func(ctx context.Context, imageID string) ([]User, error)

// WithUsers sets how the store learns which containers use an image (default: none do).
func WithUsers(f UsersFunc) Option { return func(s *Service) { s.users = f } }

// SetUsers sets the UsersFunc after construction, for an engine whose container service is made later.
func (s *Service) SetUsers(f UsersFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users = f
}

// Resolved is an image as a container is made from it.
type Resolved struct {
	// ID is "sha256:<hex>".
	ID string
	// Config is the image's runtime configuration (never nil).
	Config *dockerspec.DockerOCIImageConfig
	// TopLayer is the port-layer id of the image's top layer ("" for an image without layers).
	TopLayer string
}

// Resolve finds the image refOrID names, as Docker does wherever an image is named; a missing one is
// "No such image: <ref>" (not found).
func (s *Service) Resolve(ctx context.Context, refOrID string) (Resolved, error) {
	insp, err := s.Inspect(ctx, refOrID)
	if err != nil {
		return Resolved{}, err
	}
	if err := s.lock(ctx); err != nil {
		return Resolved{}, err
	}
	defer s.mu.Unlock()
	r := s.images[insp.ID]
	if r == nil {
		return Resolved{}, noSuchImage(refOrID) // deleted meanwhile
	}
	res := Resolved{ID: r.ID, Config: insp.Config}
	if n := len(r.Layers); n > 0 {
		res.TopLayer = r.Layers[n-1].ChainID
	}
	return res, nil
}

// checkUsersLocked applies Docker's conflicts for deleting image id while containers use it. byRef is the
// reference given when it is the image's last one ("" when deleting by ID). keep reports that the image must
// stay (forced past stopped containers: its references go, the image and its layers stay for them).
func (s *Service) checkUsersLocked(ctx context.Context, id, given, byRef string, force bool) (keep bool, err error) {
	if s.users == nil {
		return false, nil
	}
	users, err := s.users(ctx, id)
	if err != nil || len(users) == 0 {
		return false, err
	}
	if byRef != "" && !force {
		return false, fmt.Errorf("conflict: unable to remove repository reference %q (must force) - container %s is using its referenced image %s: %w",
			given, shortID(users[0].ContainerID), shortID(id), errdefs.ErrConflict)
	}
	for _, u := range users {
		if u.Running {
			return false, fmt.Errorf("conflict: unable to delete %s (cannot be forced) - image is being used by running container %s: %w",
				shortID(id), shortID(u.ContainerID), errdefs.ErrConflict)
		}
	}
	if !force {
		return false, fmt.Errorf("conflict: unable to delete %s (must be forced) - image is being used by stopped container %s: %w",
			shortID(id), shortID(users[0].ContainerID), errdefs.ErrConflict)
	}
	return true, nil
}

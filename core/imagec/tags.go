package imagec

import (
	"context"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/moby/api/types/registry"
)

// NameOnly reports whether image names a repository without a tag or digest ("busybox",
// "127.0.0.1:5000/busybox"), which `docker pull --all-tags` sends; a trailing ":" is allowed, as dockerd
// allows it.
func NameOnly(image string) bool {
	image = strings.TrimSuffix(image, ":")
	last := image[strings.LastIndexByte(image, '/')+1:]
	return !strings.ContainsAny(last, ":@")
}

// Tags lists the tags of repo in the registry (of a Docker Hub repository, at the first mirror that answers).
func (c *Client) Tags(ctx context.Context, repo name.Repository, auth registry.AuthConfig) ([]string, error) {
	var mirrorErr error
	for _, at := range c.mirrorsOf(repo) {
		tags, err := c.tagsAt(ctx, repo, at, auth)
		if err == nil || ctx.Err() != nil {
			return tags, err
		}
		mirrorErr = err
	}
	if mirrorErr != nil && c.checkRegistry(repo.RegistryStr()) != nil {
		return nil, mirrorErr
	}
	return c.tagsAt(ctx, repo, repo, auth)
}

func (c *Client) tagsAt(ctx context.Context, repo, at name.Repository, auth registry.AuthConfig) ([]string, error) {
	if err := c.checkRegistry(at.RegistryStr()); err != nil {
		return nil, err
	}
	r, err := name.NewRepository(at.Name(), c.nameOptions(at.RegistryStr())...)
	if err != nil {
		return nil, invalidReference(repo.Name(), err)
	}
	tags, err := remote.List(r, c.remoteOptions(ctx, auth)...)
	if err != nil {
		ref, _ := ParseReference(repo.Name())
		return nil, translate(err, ref)
	}
	return tags, nil
}

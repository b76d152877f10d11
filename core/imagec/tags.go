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

// Tags lists the tags of repo in the registry.
func (c *Client) Tags(ctx context.Context, repo name.Repository, auth registry.AuthConfig) ([]string, error) {
	r, err := name.NewRepository(repo.Name(), c.nameOptions(repo.RegistryStr())...)
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

package engine

import (
	"context"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/volume"

	"github.com/vice-engine/vice/core/containers"
)

// DiskUsage is GET /system/df as API 1.51 and older answer it. A field is nil when not asked for.
type DiskUsage struct {
	LayersSize int64
	Images     []image.Summary
	Containers []container.Summary
	Volumes    []*volume.Volume
	BuildCache []build.CacheRecord
}

// DiskUsageOptions says which kinds of objects to size (all when none is set).
type DiskUsageOptions struct {
	Containers, Images, Volumes, BuildCache bool
}

// DiskUsage sizes what the VCH stores: its images (layer sizes, shared sizes, the containers using each)
// its containers (their own writes, as the backend measures their disks, and those plus their image's size as
// the root filesystem) and its volumes (the bytes of their files and the containers using each). vice has no
// build cache, so that list is empty.
func (e *Engine) DiskUsage(ctx context.Context, o DiskUsageOptions) (DiskUsage, error) {
	if !o.Containers && !o.Images && !o.Volumes && !o.BuildCache {
		o = DiskUsageOptions{Containers: true, Images: true, Volumes: true, BuildCache: true}
	}
	var du DiskUsage
	var list []container.Summary
	if o.Containers || o.Images {
		var err error
		if list, err = e.containers.List(ctx, containers.ListOptions{All: true, Size: o.Containers}); err != nil {
			return DiskUsage{}, err
		}
	}
	perImage := map[string]int{}
	for _, c := range list {
		perImage[c.ImageID]++
	}
	usage, err := e.images.DiskUsage(ctx, perImage)
	if err != nil {
		return DiskUsage{}, err
	}
	if o.Images {
		du.LayersSize, du.Images = usage.LayersSize, usage.Images
	}
	if o.Containers {
		du.Containers = list
	}
	if o.Volumes {
		vols, err := e.volumes.DiskUsage(ctx)
		if err != nil {
			return DiskUsage{}, err
		}
		du.Volumes = vols
	}
	if o.BuildCache {
		du.BuildCache = []build.CacheRecord{}
	}
	return du, nil
}

package volumes

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/moby/moby/api/types/volume"

	"github.com/vice-engine/vice/core/internal/dockermsg"
	"github.com/vice-engine/vice/core/internal/prunefilter"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// List is GET /volumes with dockerd's filters: dangling, name (a pattern matched anywhere in the name),
// driver, label and label!.
func (s *Service) List(ctx context.Context, filters map[string][]string) (volume.ListResponse, error) {
	f, err := prunefilter.Parse(filters, time.Now(), "dangling", "name", "driver", "label", "label!")
	if err != nil {
		return volume.ListResponse{}, err
	}
	var dangling *bool
	if len(f.Other["dangling"]) > 0 {
		d, err := f.Bool("dangling", false)
		if err != nil {
			return volume.ListResponse{}, err
		}
		dangling = &d
	}
	var names []*regexp.Regexp
	for _, n := range f.Other["name"] {
		re, err := regexp.Compile(n)
		if err != nil {
			re = regexp.MustCompile(regexp.QuoteMeta(n))
		}
		names = append(names, re)
	}
	for _, d := range f.Other["driver"] {
		if d != Driver && d != DriverAlias {
			return volume.ListResponse{Volumes: []volume.Volume{}, Warnings: []string{}}, nil
		}
	}
	list, users, err := s.all(ctx, false)
	if err != nil {
		return volume.ListResponse{}, err
	}
	out := volume.ListResponse{Volumes: []volume.Volume{}, Warnings: []string{}}
	for _, v := range list {
		if dangling != nil && (len(users[v.Name]) == 0) != *dangling {
			continue
		}
		if len(names) > 0 && !anyMatch(names, v.Name) {
			continue
		}
		if !f.Match(time.Time{}, v.Labels) {
			continue
		}
		out.Volumes = append(out.Volumes, s.view(v, nil))
	}
	return out, nil
}

func anyMatch(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// Prune is POST /volumes/prune: the volumes no container uses that pass the label filters; from API 1.42
// only anonymous ones unless all=true, as dockerd. It returns the removed volumes and the bytes they held.
func (s *Service) Prune(ctx context.Context, filters map[string][]string, anonymousOnly bool) (volume.PruneReport, error) {
	f, err := prunefilter.Parse(filters, time.Now(), "label", "label!", "all")
	if err != nil {
		return volume.PruneReport{}, err
	}
	all, err := f.Bool("all", false)
	if err != nil {
		return volume.PruneReport{}, err
	}
	if len(f.Other["all"]) > 0 && !anonymousOnly {
		return volume.PruneReport{}, dockermsg.InvalidFilter.Err("all")
	}
	list, users, err := s.all(ctx, true)
	if err != nil {
		return volume.PruneReport{}, err
	}
	rep := volume.PruneReport{VolumesDeleted: []string{}}
	for _, v := range list {
		if len(users[v.Name]) > 0 || !f.Match(time.Time{}, v.Labels) {
			continue
		}
		if _, anon := v.Labels[AnonymousLabel]; anonymousOnly && !all && !anon {
			continue
		}
		if err := s.pl.RemoveVolume(ctx, v.Name); err != nil {
			if errdefs.Is(err, errdefs.ErrConflict) || errdefs.Is(err, errdefs.ErrNotFound) {
				continue // taken or removed meanwhile
			}
			return rep, fmt.Errorf("prune volume %s: %w", v.Name, err)
		}
		rep.VolumesDeleted = append(rep.VolumesDeleted, v.Name)
		if v.UsedBytes > 0 {
			rep.SpaceReclaimed += uint64(v.UsedBytes)
		}
	}
	s.log.Info("volumes pruned", "count", len(rep.VolumesDeleted), "reclaimed", rep.SpaceReclaimed)
	return rep, nil
}

// DiskUsage is the volumes of GET /system/df: each with its size and the number of containers using it.
func (s *Service) DiskUsage(ctx context.Context) ([]*volume.Volume, error) {
	list, users, err := s.all(ctx, true)
	if err != nil {
		return nil, err
	}
	out := []*volume.Volume{}
	for _, v := range list {
		refs := users[v.Name]
		if refs == nil {
			refs = []string{}
		}
		view := s.view(v, refs)
		out = append(out, &view)
	}
	return out, nil
}

// IsAnonymous reports whether labels mark an anonymous volume.
func IsAnonymous(labels map[string]string) bool {
	_, ok := labels[AnonymousLabel]
	return ok
}

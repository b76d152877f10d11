package containers

import (
	"context"
	"encoding/json"
	"maps"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"

	"github.com/vice-engine/vice/core/images"
	"github.com/vice-engine/vice/core/internal/changes"
	"github.com/vice-engine/vice/core/internal/dockermsg"
)

// CommitOptions is POST /commit.
type CommitOptions struct {
	Container       string // as the client named it
	Repo, Tag       string
	Comment, Author string
	Pause           bool              // suspend a running container while its disk is read
	Changes         []string          // Dockerfile instructions applied to the config
	Config          *container.Config // the image's config; nil is the container's
}

// Commit makes an image of the container's changes, running or not: its disk's diff becomes a layer on its
// image's, with the config Docker gives a commit (the changes applied to the given config, completed from the
// container's). A running container is paused while its disk is read, unless asked not to be.
func (s *Service) Commit(ctx context.Context, o CommitOptions) (string, error) {
	r, err := s.resolve(ctx, o.Container)
	if err != nil {
		return "", err
	}
	if r.status() == "removing" {
		return "", dockermsg.CommitRemoving.Err(r.ID)
	}
	cfg, err := cloneConfig(o.Config)
	if o.Config == nil {
		cfg, err = cloneConfig(r.Config)
	}
	if err != nil {
		return "", err
	}
	if err := changes.Apply(cfg, o.Changes); err != nil {
		return "", err
	}
	mergeCommit(cfg, r.Config)

	resume := func() {}
	if o.Pause && r.running() && !r.state().Paused {
		if _, err := s.pl.PauseContainer(ctx, r.ID); err != nil {
			return "", err
		}
		var once bool
		resume = func() {
			if once {
				return
			}
			once = true
			if _, err := s.pl.UnpauseContainer(context.WithoutCancel(ctx), r.ID); err != nil {
				s.log.Warn("could not unpause the container after reading its changes", "container", r.ID, "err", err)
			}
		}
		defer resume()
	}
	diff, err := s.pl.ReadContainerDiff(ctx, r.ID)
	if err != nil {
		return "", err
	}
	defer diff.Close()
	id, ref, err := s.images.Commit(ctx, images.CommitOptions{
		Parent: r.ImageID, Diff: diff, DiffRead: resume, Config: cfg, ContainerConfig: r.Config,
		ContainerID: r.ID, Author: o.Author, Comment: o.Comment, Repo: o.Repo, Tag: o.Tag,
	})
	if err != nil {
		return "", err
	}
	s.publish("commit", r.ID, map[string]string{"comment": o.Comment, "imageID": id, "imageRef": ref,
		"image": r.Image, "name": r.Name})
	return id, nil
}

// cloneConfig is a deep copy of c (a zero config for nil).
func cloneConfig(c *container.Config) (*container.Config, error) {
	out := &container.Config{}
	if c == nil {
		return out, nil
	}
	b, err := json.Marshal(c)
	if err == nil {
		err = json.Unmarshal(b, out)
	}
	return out, err
}

// mergeCommit completes a commit's config from the container's, with Docker's rules: user, working
// directory and stop signal when unset; exposed ports, labels and volumes as unions; env entries whose keys
// are not set; command and entrypoint when no entrypoint is set; the healthcheck field by field.
func mergeCommit(c, ctr *container.Config) {
	if c.User == "" {
		c.User = ctr.User
	}
	if len(c.ExposedPorts) == 0 {
		c.ExposedPorts = ctr.ExposedPorts
	} else {
		for p := range ctr.ExposedPorts {
			if c.ExposedPorts == nil {
				c.ExposedPorts = network.PortSet{}
			}
			c.ExposedPorts[p] = struct{}{}
		}
	}
	c.Env = mergeEnv(c.Env, ctr.Env)
	if c.Labels == nil {
		c.Labels = map[string]string{}
	}
	for k, v := range ctr.Labels {
		if _, ok := c.Labels[k]; !ok {
			c.Labels[k] = v
		}
	}
	if len(c.Entrypoint) == 0 {
		if len(c.Cmd) == 0 {
			c.Cmd = ctr.Cmd
		}
		if c.Entrypoint == nil {
			c.Entrypoint = ctr.Entrypoint
		}
	}
	if h := ctr.Healthcheck; h != nil {
		if c.Healthcheck == nil {
			c.Healthcheck = h
		} else {
			if len(c.Healthcheck.Test) == 0 {
				c.Healthcheck.Test = h.Test
			}
			if c.Healthcheck.Interval == 0 {
				c.Healthcheck.Interval = h.Interval
			}
			if c.Healthcheck.Timeout == 0 {
				c.Healthcheck.Timeout = h.Timeout
			}
			if c.Healthcheck.StartPeriod == 0 {
				c.Healthcheck.StartPeriod = h.StartPeriod
			}
			if c.Healthcheck.StartInterval == 0 {
				c.Healthcheck.StartInterval = h.StartInterval
			}
			if c.Healthcheck.Retries == 0 {
				c.Healthcheck.Retries = h.Retries
			}
		}
	}
	if c.WorkingDir == "" {
		c.WorkingDir = ctr.WorkingDir
	}
	if len(c.Volumes) == 0 {
		c.Volumes = ctr.Volumes
	} else {
		maps.Copy(c.Volumes, ctr.Volumes)
	}
	if c.StopSignal == "" {
		c.StopSignal = ctr.StopSignal
	}
}

package images

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/moby/moby/api/types/registry"

	"github.com/vice-engine/vice/core/imagec"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// Media types of the manifests vice pushes: Docker's image manifest v2, schema 2, as dockerd pushes them.
const (
	manifestMediaType = "application/vnd.docker.distribution.manifest.v2+json"
	configMediaType   = "application/vnd.docker.container.image.v1+json"
	layerMediaType    = "application/vnd.docker.image.rootfs.diff.tar.gzip"
)

// maxUploads is how many layers a push sends at once (dockerd's --max-concurrent-uploads default).
const maxUploads = 5

// maxMountAttempts bounds the repositories a layer is offered to be mounted from, as dockerd bounds them.
const maxMountAttempts = 3

// PushOptions is one POST /images/{name}/push?tag=.
type PushOptions struct {
	Name string // the repository, possibly with a tag
	Tag  string // "" with a name without tag pushes every tag of the repository
	Auth registry.AuthConfig
}

// PushResult is the aux message that ends the push of one tag.
type PushResult struct {
	Tag    string
	Digest string
	Size   int
}

// Push sends images to their registry as `docker push` does: every layer the repository lacks is mounted
// from another repository of the registry that has it, or compressed and uploaded; then the config and the
// manifest. Everything after the first line ("The push refers to repository [...]") is in the stream, as
// with dockerd: errors there end the stream.
func (s *Service) Push(ctx context.Context, o PushOptions, out ProgressFunc) error {
	out = serialized(out)
	ref, err := imagec.WithTag(o.Name, o.Tag)
	if err != nil {
		return err
	}
	if ref.Digest() != "" {
		return fmt.Errorf("cannot push a digest reference: %w", errdefs.ErrInvalid)
	}
	repo := ref.Repository()
	allTags := o.Tag == "" && imagec.NameOnly(o.Name)
	out(status("", "The push refers to repository ["+canonicalName(repo)+"]"))

	if err := s.lock(ctx); err != nil {
		return err
	}
	tags := map[string]*Record{} // tag -> image
	// The other repositories of the registry that hold a layer (by chain ID): those it may be mounted from.
	holders := map[string]map[string]name.Repository{}
	for r, id := range s.refs.Refs {
		pr, err := imagec.ParseReference(r)
		if err != nil || s.images[id] == nil {
			continue
		}
		switch {
		case pr.Repository().Name() == repo.Name() && pr.Tag() != "":
			tags[pr.Tag()] = s.images[id]
		case pr.Repository().RegistryStr() == repo.RegistryStr() && pr.Repository().Name() != repo.Name():
			for _, c := range s.images[id].ChainIDs() {
				if holders[c] == nil {
					holders[c] = map[string]name.Repository{}
				}
				holders[c][pr.Repository().Name()] = pr.Repository()
			}
		}
	}
	s.mu.Unlock()
	if len(tags) == 0 {
		return fmt.Errorf("An image does not exist locally with the tag: %s: %w", ref.FamiliarName(), errdefs.ErrNotFound)
	}
	var order []string
	if allTags {
		for t := range tags {
			order = append(order, t)
		}
		sort.Strings(order)
	} else {
		if tags[ref.Tag()] == nil {
			return fmt.Errorf("tag does not exist: %s: %w", ref.String(), errdefs.ErrNotFound)
		}
		order = []string{ref.Tag()}
	}
	sources := map[string][]name.Repository{} // chain -> repositories, by name
	var all []name.Repository
	seen := map[string]bool{}
	for _, t := range order {
		for _, c := range tags[t].ChainIDs() {
			if sources[c] != nil {
				continue
			}
			for _, r := range holders[c] {
				sources[c] = append(sources[c], r)
				if !seen[r.Name()] {
					seen[r.Name()] = true
					all = append(all, r)
				}
			}
			sort.Slice(sources[c], func(i, j int) bool { return sources[c][i].Name() < sources[c][j].Name() })
		}
	}
	sess, err := s.reg.PushSession(ctx, repo, o.Auth, all...)
	if err != nil {
		return err
	}
	for _, tag := range order {
		if err := s.pushTag(ctx, sess, ref.FamiliarName(), tag, tags[tag], sources, out); err != nil {
			return err
		}
	}
	return nil
}

// pushTag pushes one image under tag.
func (s *Service) pushTag(ctx context.Context, sess *imagec.Repo, repoName, tag string, rec *Record,
	sources map[string][]name.Repository, out ProgressFunc) error {
	type desc struct {
		MediaType string `json:"mediaType"`
		Size      int64  `json:"size"`
		Digest    string `json:"digest"`
	}
	// An earlier tag of this push may have recorded the layers it uploaded in the image's record.
	s.mu.Lock()
	if cur := s.images[rec.ID]; cur != nil {
		rec = cur
	}
	s.mu.Unlock()
	layers := make([]desc, len(rec.Layers))
	// dockerd lists a push's layers from the top one down, and starts them in that order.
	for i := len(rec.Layers) - 1; i >= 0; i-- {
		out(status(shortID(rec.Layers[i].DiffID), "Preparing"))
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	slots := make(chan struct{}, maxUploads)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	pushed := map[string]string{} // chain -> the digest uploaded for it
	for i := len(rec.Layers) - 1; i >= 0; i-- {
		l := rec.Layers[i]
		select {
		case slots <- struct{}{}:
		default:
			out(status(shortID(l.DiffID), "Waiting"))
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-slots }()
			digest, size, uploaded, err := s.pushLayer(ctx, sess, l, sources[l.ChainID], out)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				cancel()
				return
			}
			layers[i] = desc{MediaType: layerMediaType, Size: size, Digest: digest}
			if uploaded && l.Digest == "" {
				pushed[l.ChainID] = digest
			}
		})
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		return firstErr
	}
	if _, exists, err := sess.HasBlob(ctx, rec.ID); err != nil {
		return err
	} else if !exists {
		d, _, err := sess.UploadBlob(ctx, strings.NewReader(string(rec.Config)))
		if err != nil {
			return err
		}
		if d != rec.ID {
			return fmt.Errorf("the config of %s was stored as %s: %w", shortID(rec.ID), d, errdefs.ErrSystem)
		}
	}
	manifest, err := json.MarshalIndent(struct {
		SchemaVersion int    `json:"schemaVersion"`
		MediaType     string `json:"mediaType"`
		Config        desc   `json:"config"`
		Layers        []desc `json:"layers"`
	}{2, manifestMediaType, desc{configMediaType, int64(len(rec.Config)), rec.ID}, layers}, "", "   ")
	if err != nil {
		return fmt.Errorf("encode the manifest: %w: %w", errdefs.ErrSystem, err)
	}
	digest, err := sess.PutManifest(ctx, tag, manifestMediaType, manifest)
	if err != nil {
		return err
	}
	out(status("", fmt.Sprintf("%s: digest: %s size: %d", tag, digest, len(manifest))))
	out(Message{Detail: zeroProgress(), Aux: PushResult{Tag: tag, Digest: digest, Size: len(manifest)}})
	s.rememberPush(ctx, rec.ID, repoName+"@"+digest, pushed)
	s.log.Info("image pushed", "ref", repoName+":"+tag, "id", rec.ID, "digest", digest)
	s.publish("push", repoName+":"+tag, map[string]string{"name": repoName})
	return nil
}

// pushLayer makes sure the repository has one layer: a blob it has already, one mounted from another
// repository of the registry that holds it (sources), or the layer's diff compressed and uploaded.
func (s *Service) pushLayer(ctx context.Context, sess *imagec.Repo, l LayerRecord, sources []name.Repository,
	out ProgressFunc) (digest string, size int64, uploaded bool, err error) {
	id := shortID(l.DiffID)
	if l.Digest != "" {
		if size, exists, err := sess.HasBlob(ctx, l.Digest); err != nil {
			return "", 0, false, err
		} else if exists {
			out(status(id, "Layer already exists"))
			return l.Digest, size, false, nil
		}
		for i, from := range sources {
			if i == maxMountAttempts {
				break
			}
			mounted, err := sess.MountBlob(ctx, l.Digest, from)
			if err != nil {
				s.log.Debug("mount refused", "layer", id, "from", from.Name(), "err", err)
				continue
			}
			if !mounted {
				continue
			}
			size, exists, err := sess.HasBlob(ctx, l.Digest)
			if err == nil && exists {
				out(status(id, "Mounted from "+from.RepositoryStr()))
				return l.Digest, size, false, nil
			}
		}
	}
	diff, err := s.pl.ReadLayerDiff(ctx, l.ChainID)
	if err != nil {
		return "", 0, false, fmt.Errorf("layer %s: %w", id, err)
	}
	defer diff.Close()
	progress := newProgressReader(diff, id, "Pushing", l.Size, out)
	pr, pw := io.Pipe()
	go func() {
		zw := gzip.NewWriter(pw)
		_, err := io.Copy(zw, progress)
		if err == nil {
			err = zw.Close()
		}
		pw.CloseWithError(err)
	}()
	digest, size, err = sess.UploadBlob(ctx, pr)
	pr.CloseWithError(io.ErrClosedPipe) // ends the compression when the upload stopped early
	if err != nil {
		return "", 0, false, fmt.Errorf("layer %s: %w", id, err)
	}
	out(status(id, "Pushed"))
	return digest, size, true, nil
}

// rememberPush records what a push made known: the repository digest of the image (as dockerd adds it) and
// the blobs uploaded for layers that had none, so that the next push finds them.
func (s *Service) rememberPush(ctx context.Context, id, digestRef string, pushed map[string]string) {
	if err := s.lock(ctx); err != nil {
		return
	}
	defer s.mu.Unlock()
	r := s.images[id]
	if r == nil {
		return
	}
	if err := s.setRefsLocked(ctx, func(rr *refsRecord) { rr.Refs[digestRef] = id }); err != nil {
		s.log.Warn("could not record the pushed digest", "ref", digestRef, "err", err)
	}
	if len(pushed) == 0 {
		return
	}
	next := *r
	next.Layers = append([]LayerRecord(nil), r.Layers...)
	for i, l := range next.Layers {
		if d, ok := pushed[l.ChainID]; ok && l.Digest == "" {
			next.Layers[i].Digest = d
		}
	}
	if err := s.putImageLocked(ctx, &next); err != nil {
		s.log.Warn("could not record the pushed layers", "image", id, "err", err)
	}
}

// canonicalName is a repository as dockerd names it in "The push refers to repository [...]".
func canonicalName(repo name.Repository) string {
	if repo.RegistryStr() == name.DefaultRegistry {
		return "docker.io/" + repo.RepositoryStr()
	}
	return repo.Name()
}

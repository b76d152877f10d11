package build

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// imageSources reads COPY --from's paths out of an earlier stage's image (by name or number) or any image
// (pulled when missing), through a container of it that never starts. cleanup removes that container.
func (b *builder) imageSources(ctx context.Context, st *stage, from string, paths []string) ([]source, func(), error) {
	imageID := ""
	if prev := b.stageNamed(strings.ToLower(from), st.index); prev != nil {
		imageID = prev.imageID
	} else if b.stageNamed(strings.ToLower(from), len(b.stages)) != nil {
		return nil, nil, fmt.Errorf("COPY --from=%s names a later stage (or itself): %w", from, errdefs.ErrInvalid)
	} else {
		id, _, err := b.baseImage(ctx, from)
		if err != nil {
			return nil, nil, err
		}
		imageID = id
	}
	if imageID == "" {
		return nil, nil, fmt.Errorf("COPY --from=%s: the stage has no files (FROM scratch with nothing added): %w", from, errdefs.ErrInvalid)
	}
	cfg := &container.Config{Image: imageID, Entrypoint: []string{""}, Cmd: []string{"/bin/sh", "-c", "#(nop) COPY --from source"}}
	resp, err := b.s.containers.Create(ctx, "", container.CreateRequest{Config: cfg, HostConfig: &container.HostConfig{NetworkMode: "none"}})
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() {
		if err := b.s.containers.Remove(context.WithoutCancel(ctx), resp.ID, true, true); err != nil {
			b.s.log.Warn("could not remove a build step's container", "container", resp.ID, "err", err)
		}
	}
	var out []source
	fail := func(err error) ([]source, func(), error) {
		for _, s := range out {
			s.tree.Close()
		}
		cleanup()
		return nil, nil, err
	}
	for _, p := range paths {
		found, err := b.imagePathSources(ctx, resp.ID, from, p)
		if err != nil {
			return fail(err)
		}
		out = append(out, found...)
	}
	return out, cleanup, nil
}

// imagePathSources reads one of COPY --from's paths out of container id: the file or directory, or with
// wildcards (path.Match's, as Docker's) each entry they match, read from the deepest directory without one.
func (b *builder) imagePathSources(ctx context.Context, id, from, p string) ([]source, error) {
	abs := path.Join("/", p)
	pattern := ""
	if strings.ContainsAny(abs, "*?[") {
		parts := strings.Split(strings.TrimPrefix(abs, "/"), "/")
		i := 0
		for i < len(parts) && !strings.ContainsAny(parts[i], "*?[") {
			i++
		}
		abs = "/" + strings.Join(parts[:i], "/")
		pattern = strings.Join(parts[i:], "/")
	}
	ps, err := b.s.containers.StatPath(ctx, id, abs)
	if err == nil && ps.LinkTarget != "" && ps.Mode&0o20000000 != 0 { // a symlink: what it points to
		abs = ps.LinkTarget
	}
	if err != nil {
		return nil, fmt.Errorf("COPY failed: stat %s: file does not exist: %w", abs, errdefs.ErrInvalid)
	}
	rc, _, err := b.s.containers.ArchivePath(ctx, id, abs)
	if err != nil {
		return nil, err
	}
	tree, err := readContext(rc, b.s.tmpDir, "")
	rc.Close()
	if err != nil {
		return nil, err
	}
	root := path.Base(abs)
	if abs == "/" {
		root = ""
	}
	var names []string
	if pattern == "" {
		names = []string{cleanName(root)}
	} else {
		for _, n := range tree.names() {
			if ok, _ := path.Match(path.Join(root, pattern), n); ok {
				names = append(names, n)
			}
		}
		if len(names) == 0 {
			tree.Close()
			return nil, fmt.Errorf("COPY failed: no source files were specified (%s matches nothing in --from=%s): %w", p, from, errdefs.ErrInvalid)
		}
	}
	var out []source
	for _, n := range names {
		if n == "" {
			out = append(out, source{tree: tree, root: "", name: p, dir: true})
			continue
		}
		e, resolved, ok := tree.resolve(n)
		if !ok {
			tree.Close()
			return nil, fmt.Errorf("COPY failed: stat %s: file does not exist: %w", path.Join(path.Dir(abs), n), errdefs.ErrInvalid)
		}
		name := p
		if pattern != "" {
			name = n
		}
		out = append(out, source{tree: tree, root: resolved, name: name, dir: e.hdr.Typeflag == tar.TypeDir})
	}
	return out, nil
}

// download fetches ADD's URL into a one-file tree named after the URL's last path element, mode 0600 and
// the server's Last-Modified time, as Docker does.
func (b *builder) download(ctx context.Context, raw string) (source, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return source{}, fmt.Errorf("ADD %s: %w: %w", raw, errdefs.ErrInvalid, err)
	}
	name := path.Base(u.Path)
	if name == "/" || name == "." || name == "" {
		return source{}, fmt.Errorf("cannot determine filename from url: %s: %w", raw, errdefs.ErrInvalid)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return source{}, fmt.Errorf("ADD %s: %w: %w", raw, errdefs.ErrInvalid, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return source{}, fmt.Errorf("ADD %s: %w: %w", raw, errdefs.ErrUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		return source{}, fmt.Errorf("failed to GET %s with status %s: %w", raw, resp.Status, errdefs.ErrInvalid)
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return source{}, fmt.Errorf("ADD %s: %w: %w", raw, errdefs.ErrUnavailable, err)
	}
	mtime := time.Now()
	if lm, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		mtime = lm
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(data)), ModTime: mtime, Typeflag: tar.TypeReg})
	_, _ = tw.Write(data)
	_ = tw.Close()
	tree, err := readContext(&buf, b.s.tmpDir, "")
	if err != nil {
		return source{}, err
	}
	return source{tree: tree, root: name, name: name}, nil
}

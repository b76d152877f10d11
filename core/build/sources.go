package build

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// source is one source of a COPY or ADD: a file or a directory in a tree (the build context, or a tar of an
// image's path), found by its name there.
type source struct {
	tree *buildContext
	root string // its clean name in the tree ("" for the tree's root)
	name string // as the Dockerfile named it, for messages and the base name
	dir  bool
	// unpack: ADD of a local tar archive, whose entries land in the destination directory.
	unpack bool
}

// item is one entry a COPY or ADD writes: where it goes (relative to the destination) and what it is.
type item struct {
	rel  string // path under the destination ("" for the destination itself)
	hdr  *tar.Header
	from *buildContext // where the content is, for a regular file
	ent  *contextEntry
}

// resolve follows the symlinks of a source's root within its tree (at most 16 of them).
func (t *buildContext) resolve(name string) (*contextEntry, string, bool) {
	e, ok := t.entries[name]
	for i := 0; ok && e.hdr.Typeflag == tar.TypeSymlink && i < 16; i++ {
		target := e.hdr.Linkname
		if !path.IsAbs(target) {
			target = path.Join(path.Dir(name), target)
		}
		name = cleanName(target)
		e, ok = t.entries[name]
	}
	return e, name, ok
}

// contextSources finds the context's paths a COPY or ADD names, with Docker's wildcards. Paths the
// .dockerignore leaves out are not there.
func (b *builder) contextSources(keyword, src string) ([]source, error) {
	if c := path.Clean(src); c == ".." || strings.HasPrefix(c, "../") {
		return nil, fmt.Errorf("Forbidden path outside the build context: %s (): %w", src, errdefs.ErrInvalid)
	}
	pattern := cleanName(src)
	notFound := fmt.Errorf("%s failed: file not found in build context or excluded by .dockerignore: stat %s: file does not exist: %w",
		keyword, src, errdefs.ErrInvalid)
	var names []string
	if strings.ContainsAny(pattern, "*?[") {
		for _, n := range b.bctx.names() {
			if ok, _ := path.Match(pattern, n); ok {
				names = append(names, n)
			}
		}
	} else if pattern == "" || b.bctx.visible(pattern) {
		names = []string{pattern}
	}
	var out []source
	for _, n := range names {
		if n == "" {
			out = append(out, source{tree: b.bctx, root: "", name: src, dir: true})
			continue
		}
		e, resolved, ok := b.bctx.resolve(n)
		if !ok || !b.bctx.visible(resolved) {
			return nil, notFound
		}
		out = append(out, source{tree: b.bctx, root: resolved, name: n, dir: e.hdr.Typeflag == tar.TypeDir})
	}
	if len(out) == 0 {
		return nil, notFound
	}
	return out, nil
}

// items lists what the source writes, relative to where it goes, with the tree's visibility rules: a
// directory's contents (not itself), or the file.
func (s source) items() []item {
	if !s.dir {
		e, _, _ := s.tree.resolve(s.root)
		return []item{{rel: "", hdr: e.hdr, from: s.tree, ent: e}}
	}
	var out []item
	prefix := s.root + "/"
	for _, n := range s.tree.names() {
		if s.root != "" && !strings.HasPrefix(n, prefix) {
			continue
		}
		rel := strings.TrimPrefix(n, prefix)
		if s.root == "" {
			rel = n
		}
		if rel == "" {
			continue
		}
		e := s.tree.entries[n]
		if e.hdr.Typeflag == tar.TypeLink {
			// A hard link becomes a copy of its target: the link's own target path does not move with it.
			if t, ok := s.tree.entries[cleanName(e.hdr.Linkname)]; ok && t.hdr.Typeflag == tar.TypeReg {
				h := *t.hdr
				h.Name = e.hdr.Name
				e = &contextEntry{hdr: &h, offset: t.offset}
			}
		}
		out = append(out, item{rel: rel, hdr: e.hdr, from: s.tree, ent: e})
	}
	return out
}

// hash is the source's content hash for the build cache: every entry's path, type, mode, link target,
// size and content (not its times), as "file:<hex>" or "dir:<hex>".
func (s source) hash() (string, error) {
	h := sha256.New()
	for _, it := range s.items() {
		fmt.Fprintf(h, "%s\x00%c\x00%o\x00%s\x00%d\x00", it.rel, it.hdr.Typeflag, it.hdr.Mode&0o7777, it.hdr.Linkname, it.hdr.Size)
		if it.hdr.Typeflag == tar.TypeReg {
			if _, err := io.Copy(h, it.from.open(it.ent)); err != nil {
				return "", err
			}
		}
	}
	kind := "file:"
	if s.dir {
		kind = "dir:"
	}
	return kind + hex.EncodeToString(h.Sum(nil)), nil
}

// sourcesHash is the hash of all the sources: one's own, or "multi:" of theirs.
func sourcesHash(srcs []source) (string, error) {
	var hashes []string
	for _, s := range srcs {
		h, err := s.hash()
		if err != nil {
			return "", err
		}
		hashes = append(hashes, h)
	}
	if len(hashes) == 1 {
		return hashes[0], nil
	}
	sum := sha256.Sum256([]byte(strings.Join(hashes, ",")))
	return "multi:" + hex.EncodeToString(sum[:]), nil
}

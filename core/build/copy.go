package build

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/vice-engine/vice/core/internal/changes"
	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// buildKitOnly are flags of COPY and ADD that only BuildKit has.
var buildKitOnly = []string{"chmod", "link", "parents", "exclude", "checksum", "keep-git-dir"}

// copyStep is COPY and ADD: the sources (from the context, a URL for ADD, or another stage or image with
// --from) go to the destination with Docker's rules (a directory's contents, not itself; into a directory
// when the destination ends in "/", is one, or there are several sources; ADD unpacks local tar archives),
// owned by root or --chown. The step's cache key is the sources' content hash. The layer is written through
// the archive group into a container of the stage's image that never starts, so that what exists already
// keeps its owner and mode; a stage FROM scratch writes its first layer straight.
func (b *builder) copyStep(ctx context.Context, st *stage, in Instruction) error {
	allowed := append([]string{"chown", "from"}, buildKitOnly...)
	flags, rest, err := in.flags(allowed...)
	if err != nil {
		return err
	}
	for _, f := range buildKitOnly {
		if _, ok := flags[f]; ok {
			return in.errorf("the --%s option requires BuildKit, which vice does not run (see its README)", f)
		}
	}
	if _, ok := flags["from"]; ok && in.Keyword == "ADD" {
		return in.errorf("Unknown flag: from")
	}
	words, ok := execForm(rest)
	if !ok {
		if words, err = changes.Words(rest, st.env); err != nil {
			return in.errorf("%v", err)
		}
	} else {
		for i, w := range words {
			ws, err := changes.Words(`"`+strings.ReplaceAll(w, `"`, `\"`)+`"`, st.env)
			if err != nil {
				return in.errorf("%v", err)
			}
			words[i] = strings.Join(ws, "")
		}
	}
	if len(words) < 2 {
		return in.errorf("%s requires at least two arguments, but only one was provided. Destination could not be determined", in.Keyword)
	}
	dest := cleanPath(st.config.WorkingDir, words[len(words)-1])
	chown := ""
	if v, ok := flags["chown"]; ok {
		ws, err := changes.Words(v, st.env)
		if err != nil {
			return in.errorf("%v", err)
		}
		chown = strings.Join(ws, "")
	}

	var srcs []source
	cleanupSrc := func() {}
	defer func() { cleanupSrc() }()
	if from, ok := flags["from"]; ok {
		ws, err := changes.Words(from, st.env)
		if err != nil {
			return in.errorf("%v", err)
		}
		found, cleanup, err := b.imageSources(ctx, st, strings.Join(ws, ""), words[:len(words)-1])
		if err != nil {
			return err
		}
		srcs, cleanupSrc = found, cleanup
	} else {
		for _, w := range words[:len(words)-1] {
			var found []source
			if in.Keyword == "ADD" && (strings.HasPrefix(w, "http://") || strings.HasPrefix(w, "https://")) {
				s, err := b.download(ctx, w)
				if err != nil {
					return err
				}
				found = []source{s}
			} else if found, err = b.contextSources(in.Keyword, w); err != nil {
				return err
			}
			for i := range found {
				if in.Keyword == "ADD" && !found[i].dir && found[i].tree == b.bctx {
					if found[i], err = b.maybeUnpack(found[i]); err != nil {
						return err
					}
				}
			}
			srcs = append(srcs, found...)
		}
	}
	for _, s := range srcs {
		if s.tree != b.bctx {
			defer s.tree.Close()
		}
	}
	if len(srcs) > 1 && !strings.HasSuffix(dest, "/") {
		return in.errorf("When using %s with more than one source file, the destination must be a directory and end with a /", in.Keyword)
	}
	hash, err := sourcesHash(srcs)
	if err != nil {
		return err
	}
	comment := fmt.Sprintf("%s %s in %s ", in.Keyword, hash, dest)
	if chown != "" {
		comment = fmt.Sprintf("%s --chown=%s %s in %s ", in.Keyword, chown, hash, dest)
	}
	probe := cloneConfig(st.config)
	probe.Cmd = append(st.shell(), "#(nop) "+comment) // one word, as Docker's COPY and ADD write it
	probe.Image = st.imageID
	if b.cached(ctx, st, probe) {
		return nil
	}
	if err := b.writeSources(ctx, st, srcs, dest, chown, probe); err != nil {
		return err
	}
	b.stream(" ---> %s\n", shortID(st.imageID))
	return nil
}

// maybeUnpack turns an ADD source that is a tar archive (plain, gzip or bzip2) into its entries.
func (b *builder) maybeUnpack(s source) (source, error) {
	e, _, _ := s.tree.resolve(s.root)
	br := bufio.NewReader(s.tree.open(e))
	head, _ := br.Peek(512)
	compressed := len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b || len(head) >= 3 && string(head[:3]) == "BZh"
	if !compressed && (len(head) < 512 || !isTar(head)) {
		return s, nil
	}
	tree, err := readContext(br, b.s.tmpDir, "")
	if err != nil {
		return s, nil // not an archive after all: copied as a file, as Docker does
	}
	return source{tree: tree, name: s.name, dir: true, unpack: true}, nil
}

// owner is who the written files belong to.
type owner struct {
	set      bool
	uid, gid int
}

// writeSources writes the sources into a layer on the stage's image.
func (b *builder) writeSources(ctx context.Context, st *stage, srcs []source, dest, chown string, probe *container.Config) error {
	if st.imageID == "" {
		own, err := parseChown(chown, nil, nil)
		if err != nil {
			return err
		}
		files, dirs := place(srcs, dest, strings.HasSuffix(dest, "/") || srcs[0].dir || srcs[0].unpack, own)
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(writeTar(pw, "/", missingParents(dirs, "/"), files, own)) }()
		err = b.commit(ctx, st, probe, "", pr)
		pr.Close()
		return err
	}
	cfg := cloneConfig(st.config)
	cfg.Image, cfg.Cmd, cfg.Entrypoint, cfg.Healthcheck = st.imageID, probe.Cmd, []string{""}, nil
	host := &container.HostConfig{NetworkMode: "none"}
	resp, err := b.s.containers.Create(ctx, "", container.CreateRequest{Config: cfg, HostConfig: host})
	if err != nil {
		return err
	}
	id := resp.ID
	defer func() {
		if err := b.s.containers.Remove(context.WithoutCancel(ctx), id, true, true); err != nil {
			b.s.log.Warn("could not remove a build step's container", "container", id, "err", err)
		}
	}()
	own, err := parseChown(chown, b.readFile(ctx, id, "/etc/passwd"), b.readFile(ctx, id, "/etc/group"))
	if err != nil {
		return err
	}
	destIsDir := strings.HasSuffix(dest, "/") || len(srcs) > 1 || srcs[0].dir || srcs[0].unpack
	if !destIsDir {
		if ps, err := b.s.containers.StatPath(ctx, id, dest); err == nil && ps.Mode.IsDir() {
			destIsDir = true
		}
	}
	files, dirs := place(srcs, dest, destIsDir, own)
	// The deepest directory that exists: the tar goes there, with the directories missing below it.
	target := strings.TrimSuffix(dest, "/")
	if !destIsDir {
		target = path.Dir(target)
	}
	base := target
	for base != "/" && base != "" {
		ps, err := b.s.containers.StatPath(ctx, id, base)
		if err == nil {
			if !ps.Mode.IsDir() && ps.LinkTarget == "" {
				return fmt.Errorf("cannot copy to non-directory: %s: %w", base, errdefs.ErrInvalid)
			}
			break
		}
		if !errdefs.Is(err, errdefs.ErrNotFound) {
			return err
		}
		base = path.Dir(base)
	}
	if base == "" {
		base = "/"
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeTar(pw, base, missingParents(dirs, base), files, own)) }()
	err = b.s.containers.ExtractToDir(ctx, id, base, false, true, pr)
	pr.Close()
	if err != nil {
		return err
	}
	diff, err := b.s.containers.Diff(ctx, id)
	if err != nil {
		return err
	}
	defer diff.Close()
	return b.commit(ctx, st, probe, id, diff)
}

// placed is an entry of the layer: its absolute destination and what it is.
type placed struct {
	dst string
	it  item
	own bool // give it the step's owner
}

// place maps the sources' entries to their destinations, and lists the directories they need.
func place(srcs []source, dest string, destIsDir bool, own owner) ([]placed, []string) {
	var out []placed
	dirs := []string{}
	dir := strings.TrimSuffix(dest, "/")
	if dir == "" {
		dir = "/"
	}
	if destIsDir {
		dirs = append(dirs, dir)
	} else {
		dirs = append(dirs, path.Dir(dir))
	}
	for _, s := range srcs {
		for _, it := range s.items() {
			var dst string
			switch {
			case s.dir:
				dst = path.Join(dir, it.rel)
			case destIsDir:
				dst = path.Join(dir, path.Base(s.name))
			default:
				dst = dir
			}
			out = append(out, placed{dst: dst, it: it, own: !s.unpack})
		}
	}
	return out, dirs
}

// missingParents lists the directories under base that the entries need, parents first.
func missingParents(dirs []string, base string) []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range dirs {
		var chain []string
		for p := d; p != base && p != "/" && p != "." && !seen[p] && strings.HasPrefix(p, strings.TrimSuffix(base, "/")+"/"); p = path.Dir(p) {
			chain = append([]string{p}, chain...)
		}
		for _, p := range chain {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// writeTar writes the layer's entries as a tar relative to base: the missing directories, then the files.
func writeTar(w io.Writer, base string, dirs []string, files []placed, own owner) error {
	tw := tar.NewWriter(w)
	rel := func(p string) string {
		r := strings.TrimPrefix(strings.TrimPrefix(p, strings.TrimSuffix(base, "/")), "/")
		if r == "" {
			return "."
		}
		return r
	}
	now := time.Now()
	for _, d := range dirs {
		h := &tar.Header{Name: rel(d) + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: now, Uid: own.uid, Gid: own.gid}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
	}
	for _, f := range files {
		h := *f.it.hdr
		h.Name = rel(f.dst)
		if h.Typeflag == tar.TypeDir {
			h.Name += "/"
		}
		if f.own {
			h.Uid, h.Gid = own.uid, own.gid
			h.Uname, h.Gname = "", ""
		}
		h.PAXRecords = nil
		h.Format = tar.FormatUnknown
		if h.Typeflag == tar.TypeLink {
			continue // a hard link whose target is not copied with it
		}
		if err := tw.WriteHeader(&h); err != nil {
			return err
		}
		if h.Typeflag == tar.TypeReg && h.Size > 0 {
			if _, err := io.Copy(tw, f.it.from.open(f.it.ent)); err != nil {
				return err
			}
		}
	}
	return tw.Close()
}

// readFile is the content of a small file of the container's filesystem, nil when it has none.
func (b *builder) readFile(ctx context.Context, id, p string) []byte {
	rc, _, err := b.s.containers.ArchivePath(ctx, id, p)
	if err != nil {
		return nil
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	if _, err := tr.Next(); err != nil {
		return nil
	}
	data, _ := io.ReadAll(io.LimitReader(tr, 4<<20))
	return data
}

var errNoSuchUser = errors.New("no such user")

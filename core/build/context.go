package build

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/klauspost/compress/gzip"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// buildContext is the build context the client sent: a tar (gzip or bzip2 compressed, or not), spooled to a
// file and indexed by path. Its files are read from the spool where they are, never unpacked.
type buildContext struct {
	f       *os.File
	entries map[string]*contextEntry // by clean path relative to the root ("a/b")
	ignore  ignoreList
}

// contextEntry is one file of the context and where its content is in the spool.
type contextEntry struct {
	hdr    *tar.Header
	offset int64
}

// countingReader counts what was read through it: where a tar entry's data begins in the spool.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// readContext spools the request's body into dir and indexes it. A body that is no archive is taken as the
// Dockerfile itself (docker build - < Dockerfile), named dockerfile.
func readContext(body io.Reader, dir, dockerfile string) (*buildContext, error) {
	br := bufio.NewReaderSize(body, 64<<10)
	head, _ := br.Peek(512)
	var src io.Reader = br
	switch {
	case len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, contextError(err)
		}
		defer zr.Close()
		src = zr
	case len(head) >= 3 && string(head[:3]) == "BZh":
		src = bzip2.NewReader(br)
	case len(head) >= 6 && string(head[:6]) == "\xfd7zXZ\x00", len(head) >= 4 && string(head[:4]) == "\x28\xb5\x2f\xfd":
		return nil, fmt.Errorf("the build context is compressed with xz or zstd, which vice does not read (send it as a tar, gzip or bzip2): %w", errdefs.ErrInvalid)
	case !isTar(head):
		return dockerfileOnly(br, dir, dockerfile)
	}
	f, err := os.CreateTemp(dir, "vice-build-context-*")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name()) // the descriptor keeps it while the build runs
	if _, err := io.Copy(f, src); err != nil {
		f.Close()
		return nil, contextError(err)
	}
	c := &buildContext{f: f, entries: map[string]*contextEntry{}}
	if err := c.index(); err != nil {
		f.Close()
		return nil, err
	}
	return c, nil
}

func contextError(err error) error {
	return fmt.Errorf("read the build context: %w: %w", errdefs.ErrInvalid, err)
}

// isTar says whether head begins a tar archive (the ustar magic, or an old-style header whose checksum holds).
func isTar(head []byte) bool {
	if len(head) < 512 {
		return len(head) == 0
	}
	if string(head[257:262]) == "ustar" {
		return true
	}
	_, err := tar.NewReader(bytes.NewReader(head)).Next()
	return err == nil || err == io.ErrUnexpectedEOF
}

// dockerfileOnly makes a context of one file, the Dockerfile the body is.
func dockerfileOnly(r io.Reader, dir, name string) (*buildContext, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, contextError(err)
	}
	f, err := os.CreateTemp(dir, "vice-build-context-*")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name())
	tw := tar.NewWriter(f)
	if name == "" {
		name = "Dockerfile"
	}
	err = tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(data)), Typeflag: tar.TypeReg})
	if err == nil {
		_, err = tw.Write(data)
	}
	if err == nil {
		err = tw.Close()
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	c := &buildContext{f: f, entries: map[string]*contextEntry{}}
	if err := c.index(); err != nil {
		f.Close()
		return nil, err
	}
	return c, nil
}

// index reads the spooled tar's headers and where each entry's data starts.
func (c *buildContext) index() error {
	if _, err := c.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	cr := &countingReader{r: c.f}
	tr := tar.NewReader(cr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return contextError(err)
		}
		name := cleanName(hdr.Name)
		if name == "" {
			continue
		}
		switch hdr.Typeflag {
		case tar.TypeReg, tar.TypeDir, tar.TypeSymlink, tar.TypeLink:
		default:
			continue // devices and fifos have no place in a context
		}
		hdr.Name = name
		c.entries[name] = &contextEntry{hdr: hdr, offset: cr.n}
		// Parents the tar left implicit are directories.
		for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
			if _, ok := c.entries[dir]; ok {
				break
			}
			c.entries[dir] = &contextEntry{hdr: &tar.Header{Name: dir, Typeflag: tar.TypeDir, Mode: 0o755, ModTime: hdr.ModTime}}
		}
	}
}

// cleanName is a tar entry's name relative to the context's root ("" for the root itself).
func cleanName(n string) string {
	n = path.Clean("/" + n)
	return strings.TrimPrefix(n, "/")
}

// Close releases the spool.
func (c *buildContext) Close() error { return c.f.Close() }

// open reads the content of the regular file e.
func (c *buildContext) open(e *contextEntry) io.Reader {
	return io.NewSectionReader(c.f, e.offset, e.hdr.Size)
}

// readFile is the content of the file name, whether the .dockerignore leaves it out or not (the Dockerfile
// and the .dockerignore are read all the same).
func (c *buildContext) readFile(name string) ([]byte, error) {
	e, ok := c.entries[cleanName(name)]
	for i := 0; ok && e.hdr.Typeflag == tar.TypeSymlink && i < 16; i++ {
		target := e.hdr.Linkname
		if !path.IsAbs(target) {
			target = path.Join(path.Dir(e.hdr.Name), target)
		}
		e, ok = c.entries[cleanName(target)]
	}
	if !ok || e.hdr.Typeflag != tar.TypeReg {
		return nil, fmt.Errorf("%s: %w", name, os.ErrNotExist)
	}
	return io.ReadAll(c.open(e))
}

// applyIgnore reads the context's .dockerignore, if any, and leaves out what it names, except the files the
// builder itself reads (they stay readable with readFile but COPY and ADD do not see them).
func (c *buildContext) applyIgnore() error {
	data, err := c.readFile(".dockerignore")
	if err != nil {
		return nil
	}
	list, err := parseDockerignore(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("the .dockerignore: %w: %w", errdefs.ErrInvalid, err)
	}
	c.ignore = list
	return nil
}

// visible says whether COPY and ADD see the context's path name.
func (c *buildContext) visible(name string) bool {
	return name == "" || !c.ignore.excluded(name)
}

// names lists the context's visible paths, sorted.
func (c *buildContext) names() []string {
	out := make([]string, 0, len(c.entries))
	for n := range c.entries {
		if c.visible(n) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

package main

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sys/unix"
)

// plainPullRow is the baseline of the pull row: the same image from the same registry, downloaded and
// untarred by go-containerregistry into a directory, with nothing else (no layer store, no transport). The
// pull row's note gets the ratio.
func (h *harness) plainPullRow(ctx context.Context, pull *row) {
	r := h.newRow("plain download+untar (go-containerregistry)", "s")
	r.Docker.NA = "the baseline of vice's pull"
	for i := 0; i < h.cfg.pulls && ctx.Err() == nil; i++ {
		dir, err := os.MkdirTemp(h.dir, "plain-pull-")
		if err != nil {
			r.Vice.Err = brief(err)
			return
		}
		unix.Sync() // as before each pull of the row (pullRow)
		start := time.Now()
		err = plainPull(ctx, h.image("big"), dir)
		took := time.Since(start).Seconds()
		_ = os.RemoveAll(dir)
		if err != nil {
			r.Vice.Err = brief(err)
			return
		}
		r.Vice.Samples = append(r.Vice.Samples, took)
	}
	if len(r.Vice.Samples) > 0 && len(pull.Vice.Samples) > 0 {
		pull.Note = fmt.Sprintf("vice pull / plain download+untar = %.2f× (medians; target ≤ 1.3×)",
			median(pull.Vice.Samples)/median(r.Vice.Samples))
	}
}

// plainPull downloads every layer of ref and unpacks it (files, dirs, links) under dir.
func plainPull(ctx context.Context, ref, dir string) error {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return err
	}
	img, err := remote.Image(r, remote.WithContext(ctx))
	if err != nil {
		return err
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			return err
		}
		err = untar(rc, dir)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func untar(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		clean := filepath.Clean("/" + h.Name)
		if strings.Contains(clean, "..") {
			return fmt.Errorf("unsafe path %q", h.Name)
		}
		p := filepath.Join(dir, clean)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, os.FileMode(h.Mode)&os.ModePerm); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode)&os.ModePerm)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		case tar.TypeSymlink:
			_ = os.Remove(p)
			if err := os.Symlink(h.Linkname, p); err != nil {
				return err
			}
		}
	}
}

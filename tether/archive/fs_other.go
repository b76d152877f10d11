//go:build !linux

package archive

import (
	"context"
	"errors"
	"io"
)

// errUnsupported: the tree operations need Linux's openat2.
var errUnsupported = errors.New("container filesystems are read and written on Linux only")

// FS is a container's filesystem tree; only Linux has one.
type FS struct{}

// ExtractOptions say how Extract writes.
type ExtractOptions struct {
	NoOverwriteDirNonDir bool
	Owner                *Owner
}

// Owner is a numeric user and group.
type Owner struct{ UID, GID int }

func (*FS) Close() error                                     { return nil }
func (*FS) Stat(string) (*Stat, error)                       { return nil, errUnsupported }
func (*FS) Archive(context.Context, io.Writer, string) error { return errUnsupported }
func (*FS) Export(context.Context, io.Writer) error          { return errUnsupported }
func (*FS) ArchiveAs(context.Context, io.Writer, string, string) error {
	return errUnsupported
}
func (*FS) ExtractPoint(string) (string, error) { return "", errUnsupported }
func (*FS) LookupOwner(string) (*Owner, error)  { return nil, errUnsupported }
func (*FS) Extract(context.Context, io.Reader, string, ExtractOptions) error {
	return errUnsupported
}

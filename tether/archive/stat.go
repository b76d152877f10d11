package archive

import "time"

// Stat is what is at a path, as Docker's X-Docker-Container-Path-Stat header tells it.
type Stat struct {
	Name    string    // the path's last element as given
	Size    int64     // bytes
	Mode    uint32    // st_mode, the file type bits included
	ModTime time.Time // nanoseconds kept
	// LinkTarget is, for a symlink, the absolute path it resolves to in the tree, as far as it resolves.
	LinkTarget string
}

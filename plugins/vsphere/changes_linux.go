package vsphere

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vice-engine/vice/swagger/gen/models"
	"github.com/vice-engine/vice/tether/archive"
	"github.com/vice-engine/vice/tether/wire"
)

// Kinds of models.FileChange.
const (
	changeModified = "modified"
	changeAdded    = "added"
	changeDeleted  = "deleted"
)

// diskChanges lists the changes that the overlay upper layer upper (a directory descriptor) makes to the
// image's filesystem img (-1 for an empty image), as Docker lists an overlay2 container's: every entry of
// the upper layer is added, or modified when the image has it; a whiteout is a deletion, and so is an
// opaque directory (its entries then added); a directory whose metadata is the image's is no change; the
// directory of an addition or deletion is modified. guestFiles (written by the guest at boot) are no change,
// unless a booted container deleted them; a directory the guest made for its mounts is as good as the image's.
// The list is in Docker's order: a walk of the tree, lexical, parents first.
func diskChanges(ctx context.Context, upper, img int, guestFiles []string, booted bool) ([]*models.FileChange, error) {
	var out []*models.FileChange
	changedDirs := map[string]bool{}
	record := func(p, kind string) {
		if kind != changeModified {
			if parent := path.Dir(p); parent != "/" && !changedDirs[parent] {
				out = append(out, &models.FileChange{Path: parent, Kind: changeModified})
				changedDirs[parent] = true
			}
		}
		out = append(out, &models.FileChange{Path: p, Kind: kind})
	}
	err := archive.Walk(ctx, upper, func(dirFD int, base, rel string, st *unix.Stat_t) (bool, error) {
		p := "/" + rel
		isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
		switch {
		case isWhiteout(st):
			record(p, changeDeleted)
			return false, nil
		case isDir && isOpaque(dirFD, base):
			changedDirs[p] = true
			record(p, changeDeleted)
			return true, nil
		case slices.Contains(guestFiles, p) && !isDir:
			return false, nil
		}
		kind := changeAdded
		if ist, ok := imageStat(img, p); ok {
			if isDir && ist.Mode&unix.S_IFMT == unix.S_IFDIR && sameDir(st, ist) {
				return true, nil
			}
			kind = changeModified
		} else if isDir && wire.IsGuestDir(p) {
			return true, nil
		}
		if isDir {
			changedDirs[p] = true
		}
		record(p, kind)
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	if booted {
		for _, f := range guestFiles {
			if !exists(upper, f) && !slices.ContainsFunc(out, func(c *models.FileChange) bool { return c.Path == f }) {
				if _, inImage := imageStat(img, f); !inImage {
					record(f, changeDeleted)
				}
			}
		}
	}
	// The walk's order is a sort of the paths element by element; the guest's files deleted come in there.
	slices.SortStableFunc(out, func(a, b *models.FileChange) int { return comparePaths(a.Path, b.Path) })
	return out, nil
}

// unixTime is a file time as tar headers keep it, to the second.
func unixTime(t unix.Timespec) time.Time { return time.Unix(t.Sec, 0) }

// comparePaths orders paths as a lexical walk of the tree visits them.
func comparePaths(a, b string) int {
	return slices.Compare(strings.Split(strings.Trim(a, "/"), "/"), strings.Split(strings.Trim(b, "/"), "/"))
}

// isWhiteout tells overlayfs's whiteout, a character device 0:0.
func isWhiteout(st *unix.Stat_t) bool { return st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0 }

// isOpaque tells a directory that hides the lower layers' contents of the same directory.
func isOpaque(dirFD int, base string) bool {
	buf := make([]byte, 8)
	n, err := unix.Lgetxattr(fmt.Sprintf("/proc/self/fd/%d/%s", dirFD, base), opaqueXattr, buf)
	return err == nil && n == 1 && buf[0] == 'y'
}

// sameDir tells a directory of the upper layer that is the image's as it was (Docker compares the times as
// its own filesystems keep them: to the second when either has no nanoseconds).
func sameDir(a, b *unix.Stat_t) bool {
	sameTime := a.Mtim == b.Mtim || (a.Mtim.Sec == b.Mtim.Sec && (a.Mtim.Nsec == 0 || b.Mtim.Nsec == 0))
	return a.Mode == b.Mode && a.Uid == b.Uid && a.Gid == b.Gid && sameTime
}

// imageStat is the lstat of p in the image's filesystem, resolved without following any symlink (a path that
// needs one is not the same entry).
func imageStat(img int, p string) (*unix.Stat_t, bool) {
	if img < 0 {
		return nil, false
	}
	dir, base := path.Split(p)
	how := unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_SYMLINKS}
	fd, err := unix.Openat2(img, "."+dir, &how)
	if err != nil {
		return nil, false
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstatat(fd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return nil, false
	}
	return &st, true
}

// exists tells whether p is in the directory tree root, symlinks not followed.
func exists(root int, p string) bool {
	dir, base := path.Split(p)
	how := unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_SYMLINKS}
	fd, err := unix.Openat2(root, "."+dir, &how)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	return unix.Fstatat(fd, base, &st, unix.AT_SYMLINK_NOFOLLOW) == nil
}

// writeDiskDiff writes the overlay upper layer upper as a layer diff, as Docker's overlay2 driver does: its
// entries as they are, a whiteout as an empty ".wh.<name>" file, an opaque directory followed by its
// ".wh..wh..opq" marker. guestFiles are left out.
func writeDiskDiff(ctx context.Context, w io.Writer, upper int, guestFiles []string) error {
	tw := archive.NewWriter(w)
	err := archive.Walk(ctx, upper, func(dirFD int, base, rel string, st *unix.Stat_t) (bool, error) {
		p := "/" + rel
		isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
		switch {
		case isWhiteout(st):
			dir, name := path.Split(rel)
			return false, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: dir + whiteoutPrefix + name,
				Mode: 0o600, Uid: int(st.Uid), Gid: int(st.Gid), ModTime: unixTime(st.Mtim), Format: tar.FormatPAX})
		case slices.Contains(guestFiles, p) && !isDir:
			return false, nil
		}
		if err := tw.Entry(dirFD, base, rel, st); err != nil {
			return false, err
		}
		if isDir && isOpaque(dirFD, base) {
			err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: rel + "/" + whiteoutOpaque,
				Mode: int64(st.Mode & 0o777), Uid: int(st.Uid), Gid: int(st.Gid), ModTime: unixTime(st.Mtim), Format: tar.FormatPAX})
			if err != nil {
				return false, err
			}
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("end the diff: %w", err)
	}
	return nil
}

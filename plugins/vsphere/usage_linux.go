package vsphere

import (
	"context"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/vice-engine/vice/tether/archive"
)

// diskUsage adds up the overlay upper layer upper (a directory descriptor) as Docker sizes an overlay2
// container's upper directory: the sizes of everything that is not a directory (a symlink's is its target's
// length, a whiteout's nothing), each inode once, so that hard links are not counted twice. guestFiles (written
// by the guest at boot) are left out, as Docker's init layer is.
func diskUsage(ctx context.Context, upper int, guestFiles []string) (int64, error) {
	type inode struct{ dev, ino uint64 }
	seen := map[inode]bool{}
	var total int64
	err := archive.Walk(ctx, upper, func(_ int, _, rel string, st *unix.Stat_t) (bool, error) {
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			return true, nil
		}
		if st.Size <= 0 || slices.Contains(guestFiles, "/"+rel) {
			return false, nil
		}
		if k := (inode{uint64(st.Dev), st.Ino}); !seen[k] {
			seen[k] = true
			total += st.Size
		}
		return false, nil
	})
	return total, err
}

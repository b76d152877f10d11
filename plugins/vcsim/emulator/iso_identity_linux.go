package emulator

import (
	"fmt"
	"os"
	"syscall"
)

// fileIdentity names a file's content as the kernel tracks it: device, inode, size, and the modification
// and change times to the nanosecond. Any write, truncation, rename over or replacement changes it.
func fileIdentity(fi os.FileInfo) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Sprintf("%d/%d", fi.Size(), fi.ModTime().UnixNano())
	}
	return fmt.Sprintf("%d/%d/%d/%d.%d/%d.%d", st.Dev, st.Ino, st.Size,
		st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec)
}

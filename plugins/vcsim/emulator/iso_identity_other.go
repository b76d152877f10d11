//go:build !linux

package emulator

import (
	"fmt"
	"os"
)

// fileIdentity names a file's content by its size and modification time.
func fileIdentity(fi os.FileInfo) string {
	return fmt.Sprintf("%d/%d", fi.Size(), fi.ModTime().UnixNano())
}

package iso

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/iso9660"
)

// open reads the ISO9660 filesystem of the image at isoPath.
func open(isoPath string) (*iso9660.FileSystem, func(), error) {
	f, err := os.Open(isoPath)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	fsys, err := iso9660.Read(file.New(f, true), fi.Size(), 0, blockSize)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("read iso %s: %w", isoPath, err)
	}
	return fsys, func() { f.Close() }, nil
}

// ReadFile returns the contents of the file name (for example TetherPath) in the image at isoPath.
func ReadFile(isoPath, name string) ([]byte, error) {
	fsys, done, err := open(isoPath)
	if err != nil {
		return nil, err
	}
	defer done()
	f, err := fsys.OpenFile(fsPath(name), os.O_RDONLY)
	if err != nil {
		return nil, fmt.Errorf("iso %s: %s: %w", isoPath, name, err)
	}
	defer f.Close()
	return io.ReadAll(f)
}

// Stat describes the file name in the image at isoPath; with Rock Ridge its mode is the one it was built with.
func Stat(isoPath, name string) (fs.FileInfo, error) {
	fsys, done, err := open(isoPath)
	if err != nil {
		return nil, err
	}
	defer done()
	return fsys.Stat(fsPath(name))
}

// fsPath turns "/tether" into go-diskfs's io/fs-style "tether".
func fsPath(name string) string {
	if name = strings.TrimLeft(name, "/"); name == "" {
		return "."
	}
	return name
}

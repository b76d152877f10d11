package tether

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Exit codes Docker gives a process that could not be started.
const (
	exitCannotInvoke = 126 // found but not executable
	exitNotFound     = 127 // no such file, or not on $PATH
	exitStartFailed  = 128 // anything else (an unknown user, say)
)

// startError is a failure to start the process, with the exit code and message Docker would report.
type startError struct {
	code int
	msg  string
}

func (e *startError) Error() string { return e.msg }

// lookPath finds the executable as Docker's runtime does (Go's exec.LookPath, with the container's PATH
// and working directory) and words its failures the same way: `exec: "/nonexistent": stat /nonexistent:
// no such file or directory`.
func lookPath(file, pathEnv, dir string) (string, error) {
	if strings.Contains(file, "/") {
		p := file
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if err := checkExecutable(p); err != nil {
			return "", execError(file, err)
		}
		return file, nil
	}
	var firstErr error
	for _, d := range filepath.SplitList(pathEnv) {
		if d == "" {
			d = "."
		}
		p := filepath.Join(d, file)
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		err := checkExecutable(p)
		if err == nil {
			return filepath.Join(d, file), nil
		}
		if firstErr == nil && !errors.Is(err, fs.ErrNotExist) {
			firstErr = err
		}
	}
	if firstErr != nil {
		return "", execError(file, firstErr)
	}
	return "", &startError{code: exitNotFound, msg: fmt.Sprintf("exec: %q: executable file not found in $PATH", file)}
}

func checkExecutable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		return fs.ErrPermission
	}
	return nil
}

func execError(file string, err error) *startError {
	code := exitCannotInvoke
	if errors.Is(err, fs.ErrNotExist) {
		code = exitNotFound
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		// os.Stat's error reads "stat /x: no such file or directory", as Docker shows it.
		return &startError{code: code, msg: fmt.Sprintf("exec: %q: %v", file, pe)}
	}
	return &startError{code: code, msg: fmt.Sprintf("exec: %q: %v", file, err)}
}

// startFailure classifies any error from starting the process.
func startFailure(err error) *startError {
	var se *startError
	if errors.As(err, &se) {
		return se
	}
	code := exitStartFailed
	switch {
	case errors.Is(err, fs.ErrNotExist):
		code = exitNotFound
	case errors.Is(err, fs.ErrPermission):
		code = exitCannotInvoke
	}
	return &startError{code: code, msg: err.Error()}
}

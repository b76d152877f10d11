package archive

import (
	"errors"
	"io/fs"
)

// ErrInvalid marks what the caller asked wrongly: an extraction point that is not a directory, a tar entry
// that leaves the extraction point or breaks the overwrite rule, a malformed tar. A path that does not exist
// is fs.ErrNotExist.
var ErrInvalid = errors.New("invalid")

// ErrNotExist is fs.ErrNotExist, for callers that test for it by this package's name.
var ErrNotExist = fs.ErrNotExist

// invalid wraps a message as an ErrInvalid error.
type invalidError struct{ msg string }

func (e invalidError) Error() string        { return e.msg }
func (e invalidError) Is(target error) bool { return target == ErrInvalid }

func invalidf(msg string) error { return invalidError{msg} }

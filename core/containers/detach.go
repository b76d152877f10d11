package containers

import (
	"fmt"
	"strings"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// defaultDetachKeys is Docker's detach sequence for an interactive tty, ctrl-p ctrl-q.
const defaultDetachKeys = "ctrl-p,ctrl-q"

// parseDetachKeys turns Docker's detach-keys syntax ("ctrl-p,ctrl-q", "a,ctrl-@") into the raw bytes.
func parseDetachKeys(spec string) ([]byte, error) {
	var out []byte
	for _, key := range strings.Split(spec, ",") {
		switch {
		case len(key) == 1:
			out = append(out, key[0])
		case strings.HasPrefix(key, "ctrl-") && len(key) == len("ctrl-")+1:
			c := key[len("ctrl-")]
			switch {
			case c >= 'a' && c <= 'z':
				out = append(out, c-'a'+1)
			case c == '@':
				out = append(out, 0)
			case c >= '[' && c <= '_':
				out = append(out, c-'['+27)
			default:
				return nil, fmt.Errorf("Invalid detach keys (%s) provided: %w", spec, errdefs.ErrInvalid)
			}
		default:
			return nil, fmt.Errorf("Invalid detach keys (%s) provided: %w", spec, errdefs.ErrInvalid)
		}
	}
	return out, nil
}

// detachFilter finds the detach key sequence in a client's input. Bytes that might begin the sequence are
// held back until it is complete (detach) or broken (they are passed on after all), as Docker does.
type detachFilter struct {
	keys    []byte
	matched int
}

// filter returns the bytes to forward and whether the sequence was completed (the bytes after it are dropped).
func (d *detachFilter) filter(p []byte) (out []byte, detach bool) {
	if len(d.keys) == 0 {
		return p, false
	}
	for _, c := range p {
		if c == d.keys[d.matched] {
			if d.matched++; d.matched == len(d.keys) {
				return out, true
			}
			continue
		}
		out = append(out, d.keys[:d.matched]...)
		d.matched = 0
		if c == d.keys[0] {
			d.matched = 1
			if len(d.keys) == 1 {
				return out, true
			}
			continue
		}
		out = append(out, c)
	}
	return out, false
}

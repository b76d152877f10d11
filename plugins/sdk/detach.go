package sdk

import (
	"fmt"
	"strings"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// DefaultDetachKeys is Docker's default detach sequence, ctrl-p ctrl-q.
const DefaultDetachKeys = "ctrl-p,ctrl-q"

// ParseDetachKeys turns Docker's detach-keys syntax ("ctrl-p,ctrl-q", "a,ctrl-@") into the raw bytes.
func ParseDetachKeys(spec string) ([]byte, error) {
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

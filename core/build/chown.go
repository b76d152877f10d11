package build

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// parseChown reads --chown=user[:group] (names or numbers): names are looked up in the image's passwd and
// group files; a user without a group gives the user's number to both, as Docker does.
func parseChown(spec string, passwd, group []byte) (owner, error) {
	if spec == "" {
		return owner{}, nil
	}
	user, grp, hasGroup := strings.Cut(spec, ":")
	uid, err := lookupID(user, passwd, "user")
	if err != nil {
		return owner{}, err
	}
	gid := uid
	if hasGroup {
		if gid, err = lookupID(grp, group, "group"); err != nil {
			return owner{}, err
		}
	}
	return owner{set: true, uid: uid, gid: gid}, nil
}

// lookupID is the number of a user or group name in a passwd or group file (name:x:id:...).
func lookupID(name string, file []byte, what string) (int, error) {
	if n, err := strconv.Atoi(name); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("unable to convert uid/gid chown string to host mapping: invalid %s %d: %w", what, n, errdefs.ErrInvalid)
		}
		return n, nil
	}
	for _, line := range strings.Split(string(file), "\n") {
		f := strings.Split(line, ":")
		if len(f) >= 3 && f[0] == name {
			if n, err := strconv.Atoi(f[2]); err == nil {
				return n, nil
			}
		}
	}
	return 0, fmt.Errorf("unable to convert uid/gid chown string to host mapping: can't find %cid for %s %s: %w: %w",
		what[0], what, name, errNoSuchUser, errdefs.ErrInvalid)
}

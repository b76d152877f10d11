package images

import (
	"regexp"
	"sort"
	"strings"

	"github.com/vice-engine/vice/core/imagec"
	"github.com/vice-engine/vice/core/internal/dockermsg"
)

var (
	fullID   = regexp.MustCompile(`^(sha256:)?[a-f0-9]{64}$`)
	idPrefix = regexp.MustCompile(`^(sha256:)?[a-f0-9]{1,64}$`)
)

// lookupLocked resolves what Docker accepts wherever an image is named: a full ID (with or without sha256:),
// name:tag, name@digest, or a unique ID prefix. ref is the familiar reference matched ("" for an ID).
func (s *Service) lookupLocked(refOrID string) (rec *Record, ref string, err error) {
	if fullID.MatchString(refOrID) {
		id := "sha256:" + strings.TrimPrefix(refOrID, "sha256:")
		if r := s.images[id]; r != nil {
			return r, "", nil
		}
		return nil, "", noSuchImage(refOrID)
	}
	parsed, perr := imagec.ParseReference(refOrID)
	if perr == nil {
		if id, ok := s.refs.Refs[parsed.String()]; ok && s.images[id] != nil {
			return s.images[id], parsed.String(), nil
		}
	}
	if idPrefix.MatchString(refOrID) {
		r, err := s.searchLocked(strings.TrimPrefix(refOrID, "sha256:"))
		if err != nil || r != nil {
			return r, "", err
		}
	}
	if perr != nil {
		return nil, "", perr
	}
	return nil, "", noSuchImage(parsed.String())
}

// searchLocked finds the one image whose ID starts with prefix; none is nil, several an error.
func (s *Service) searchLocked(prefix string) (*Record, error) {
	var found *Record
	for id, r := range s.images {
		if strings.HasPrefix(strings.TrimPrefix(id, "sha256:"), prefix) {
			if found != nil {
				return nil, dockermsg.AmbiguousID.Err(prefix)
			}
			found = r
		}
	}
	return found, nil
}

func noSuchImage(what string) error {
	return dockermsg.NoSuchImage.Err(what)
}

func isDigestRef(ref string) bool { return strings.Contains(ref, "@") }

// repoOf is the familiar repository of a familiar reference ("busybox:latest" -> "busybox").
func repoOf(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		return ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[:i]
	}
	return ref
}

func sortStrings(s []string) { sort.Strings(s) }

package archive

import (
	"path"
	"strings"
)

// CleanPath makes path absolute and clean in the container as Docker does, keeping a trailing "/" or "/."
// that asks for the last element to be followed ("a/b/" → "/a/b/", "/a/b/." → "/a/b/.", "x/.." → "/").
func CleanPath(p string) string {
	clean := path.Join("/", p)
	if path.Base(clean) != "." && path.Base(p) == "." {
		if !strings.HasSuffix(clean, "/") {
			clean += "/"
		}
		clean += "."
	}
	if !strings.HasSuffix(clean, "/") && strings.HasSuffix(p, "/") {
		clean += "/"
	}
	return clean
}

// BaseName is the name a cleaned path's entries are named after: its last element as given ("/a/b/" → "b",
// "/a/b/." → ".", "/" → "/").
func BaseName(clean string) string { return path.Base(clean) }

// followsLast reports whether a cleaned path asks for its last element to be followed: it ends in "/" or
// "/.", or is the root.
func followsLast(clean string) bool {
	return clean == "/" || strings.HasSuffix(clean, "/") || strings.HasSuffix(clean, "/.")
}

// splitPath is a cleaned path's directory and last element, without a trailing "/".
func splitPath(clean string) (dir, base string) {
	clean = strings.TrimSuffix(clean, "/")
	if clean == "" {
		return "/", ""
	}
	dir, base = path.Split(clean)
	if dir == "" {
		dir = "/"
	}
	return dir, base
}

// relative is a cleaned absolute path relative to the root, as openat2 takes it ("." for the root).
func relative(abs string) string {
	r := strings.TrimLeft(abs, "/")
	if r == "" {
		return "."
	}
	return r
}

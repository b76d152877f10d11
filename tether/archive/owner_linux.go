package archive

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// LookupOwner resolves a container's user ("name", "uid", "name:group", "uid:gid") against the tree's
// /etc/passwd and /etc/group, for `docker cp -a`: a numeric user need not be listed, a name must; the group
// is the user's own unless named. An empty user is nil: the tar's owners stay.
func (f *FS) LookupOwner(user string) (*Owner, error) {
	if user == "" {
		return nil, nil
	}
	userPart, groupPart, _ := strings.Cut(user, ":")
	o := &Owner{}
	passwd := f.lines("/etc/passwd", 7)
	if id, err := strconv.Atoi(userPart); err == nil {
		o.UID = id
		for _, e := range passwd {
			if e[2] == userPart {
				o.GID, _ = strconv.Atoi(e[3])
				break
			}
		}
	} else {
		found := false
		for _, e := range passwd {
			if e[0] == userPart {
				o.UID, _ = strconv.Atoi(e[2])
				o.GID, _ = strconv.Atoi(e[3])
				found = true
				break
			}
		}
		if !found {
			return nil, invalidf(fmt.Sprintf("unable to find user %s: no matching entries in passwd file", userPart))
		}
	}
	if groupPart == "" {
		return o, nil
	}
	if id, err := strconv.Atoi(groupPart); err == nil {
		o.GID = id
		return o, nil
	}
	for _, e := range f.lines("/etc/group", 4) {
		if e[0] == groupPart {
			o.GID, _ = strconv.Atoi(e[2])
			return o, nil
		}
	}
	return nil, invalidf(fmt.Sprintf("unable to find group %s: no matching entries in group file", groupPart))
}

// lines reads the colon-separated records of a file in the tree that have at least n fields and numeric
// third (and, with 7, fourth) fields; a missing file has none.
func (f *FS) lines(p string, n int) [][]string {
	fd, err := f.open(p, unix.O_RDONLY)
	if err != nil {
		return nil
	}
	file := os.NewFile(uintptr(fd), p)
	defer file.Close()
	var out [][]string
	s := bufio.NewScanner(io.LimitReader(file, 16<<20))
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, ":")
		if len(fields) < n {
			continue
		}
		if _, err := strconv.Atoi(fields[2]); err != nil {
			continue
		}
		if n == 7 {
			if _, err := strconv.Atoi(fields[3]); err != nil {
				continue
			}
		}
		out = append(out, fields)
	}
	return out
}

package tether

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// execUser is who the container's process runs as.
type execUser struct {
	UID, GID uint32
	Groups   []uint32 // supplementary groups
	Home     string
}

type passwdEntry struct {
	name     string
	uid, gid uint32
	home     string
}

type groupEntry struct {
	name    string
	gid     uint32
	members []string
}

// resolveUser resolves Docker's --user ("name", "uid", "name:group", "uid:gid", empty for root) against the
// image's passwd and group files, as runc does: a numeric user need not exist, a name must; supplementary
// groups are the groups that list the user as a member. The error texts are Docker's.
func resolveUser(spec string, passwd, group io.Reader) (*execUser, error) {
	users, err := parsePasswd(passwd)
	if err != nil {
		return nil, err
	}
	groups, err := parseGroup(group)
	if err != nil {
		return nil, err
	}
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	if userPart == "" {
		userPart = "0"
	}

	u := &execUser{Home: "/"}
	var entry *passwdEntry
	if id, numErr := strconv.ParseUint(userPart, 10, 32); numErr == nil {
		u.UID = uint32(id)
		for i := range users {
			if users[i].uid == u.UID {
				entry = &users[i]
				break
			}
		}
	} else {
		for i := range users {
			if users[i].name == userPart {
				entry = &users[i]
				break
			}
		}
		if entry == nil {
			return nil, fmt.Errorf("unable to find user %s: no matching entries in passwd file", userPart)
		}
		u.UID = entry.uid
	}
	if entry != nil {
		u.GID, u.Home = entry.gid, entry.home
		for _, g := range groups {
			if g.gid != u.GID && slices.Contains(g.members, entry.name) {
				u.Groups = append(u.Groups, g.gid)
			}
		}
	}

	if hasGroup && groupPart != "" {
		if id, numErr := strconv.ParseUint(groupPart, 10, 32); numErr == nil {
			u.GID = uint32(id)
		} else {
			found := false
			for _, g := range groups {
				if g.name == groupPart {
					u.GID, found = g.gid, true
					break
				}
			}
			if !found {
				return nil, fmt.Errorf("unable to find group %s: no matching entries in group file", groupPart)
			}
		}
	}
	// Docker's processes carry their primary group among the supplementary ones too (id shows it in groups=).
	if !slices.Contains(u.Groups, u.GID) {
		u.Groups = append([]uint32{u.GID}, u.Groups...)
	}
	return u, nil
}

// resolveUserInRoot reads the image's /etc/passwd and /etc/group (either may be absent) from the current root.
func resolveUserInRoot(spec string) (*execUser, error) {
	passwd := openOrEmpty("/etc/passwd")
	defer passwd.Close()
	group := openOrEmpty("/etc/group")
	defer group.Close()
	return resolveUser(spec, passwd, group)
}

func openOrEmpty(path string) io.ReadCloser {
	f, err := os.Open(path)
	if err != nil {
		return io.NopCloser(strings.NewReader(""))
	}
	return f
}

// parsePasswd reads name:password:uid:gid:gecos:home:shell lines, skipping malformed ones as libc does.
func parsePasswd(r io.Reader) ([]passwdEntry, error) {
	var out []passwdEntry
	err := eachLine(r, func(f []string) {
		if len(f) < 7 {
			return
		}
		uid, err1 := strconv.ParseUint(f[2], 10, 32)
		gid, err2 := strconv.ParseUint(f[3], 10, 32)
		if err1 != nil || err2 != nil {
			return
		}
		out = append(out, passwdEntry{name: f[0], uid: uint32(uid), gid: uint32(gid), home: f[5]})
	})
	return out, err
}

// parseGroup reads name:password:gid:member,member lines.
func parseGroup(r io.Reader) ([]groupEntry, error) {
	var out []groupEntry
	err := eachLine(r, func(f []string) {
		if len(f) < 4 {
			return
		}
		gid, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			return
		}
		var members []string
		if f[3] != "" {
			members = strings.Split(f[3], ",")
		}
		out = append(out, groupEntry{name: f[0], gid: uint32(gid), members: members})
	})
	return out, err
}

func eachLine(r io.Reader, fn func(fields []string)) error {
	s := bufio.NewScanner(r)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fn(strings.Split(line, ":"))
	}
	if err := s.Err(); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

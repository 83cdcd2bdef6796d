package unpack

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
)

// maxNameFileSize caps /etc/passwd and /etc/group read from an image. Real
// ones are a few KiB (Debian's base is ~1 KiB; a directory-server dump of
// 10,000 users is ~600 KiB). A larger file is refused rather than read
// (CVE-2023-25173's lesson: rootfs files are hostile input).
const maxNameFileSize = 1 << 20

// maxAdditionalGids is NGROUPS_MAX on Linux.
const maxAdditionalGids = 65536

// execUser is the resolved process.user of config.json.
type execUser struct {
	UID, GID       uint32
	AdditionalGids []uint32
	// Home is the user's home directory from /etc/passwd ("/" when unknown,
	// as Docker does), used for HOME when the image does not set it.
	Home string
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

// fileReader reads a small regular file of the image's rootfs; a missing
// file is an error wrapping fs.ErrNotExist.
type fileReader func(name string) ([]byte, error)

// resolveUser turns the image config's User ("", "user", "uid",
// "user:group", "uid:gid", "user:gid", "uid:group") into ids, following
// image-spec conversion.md: numeric values are used verbatim, names are
// looked up in the rootfs's /etc/passwd and /etc/group (an unknown name is
// an error wrapping [ErrInvalidUser]), and a user named without a group gets
// the groups that list it as a member. The primary gid is always in
// AdditionalGids: without it a process could drop its primary group with
// setgroups(2) and escape a group-deny permission (CVE-2023-25173 in
// containerd, CVE-2022-36109 in moby). Problems with the files that do not
// prevent resolution are returned as warnings.
func resolveUser(spec string, read fileReader) (execUser, []string, error) {
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	if hasGroup && groupPart == "" {
		return execUser{}, nil, fmt.Errorf("%w: user %q has an empty group", ErrInvalidUser, spec)
	}
	var warnings []string
	u := execUser{Home: "/"}

	uid, numericUser, err := parseID(userPart)
	if err != nil {
		return execUser{}, nil, fmt.Errorf("%w: user %q: %w", ErrInvalidUser, spec, err)
	}
	passwd, perr := loadPasswd(read)
	var pw *passwdEntry
	if userPart == "" {
		numericUser, uid = true, 0
	}
	if numericUser {
		if perr != nil && !errors.Is(perr, fs.ErrNotExist) {
			warnings = append(warnings, perr.Error())
		}
		pw = findPasswd(passwd, func(e passwdEntry) bool { return e.uid == uid })
	} else {
		if perr != nil {
			return execUser{}, nil, fmt.Errorf("%w: user %q: %w", ErrInvalidUser, spec, perr)
		}
		pw = findPasswd(passwd, func(e passwdEntry) bool { return e.name == userPart })
		if pw == nil {
			return execUser{}, nil, fmt.Errorf("%w: user %q is not in the image's /etc/passwd", ErrInvalidUser, userPart)
		}
	}
	u.UID = uid
	if pw != nil {
		u.UID, u.GID = pw.uid, pw.gid
		if pw.home != "" {
			u.Home = pw.home
		}
	}

	needGroups := hasGroup || (!numericUser && pw != nil)
	var groups []groupEntry
	if needGroups {
		var gerr error
		groups, gerr = loadGroup(read)
		gidNumeric := false
		if hasGroup {
			_, gidNumeric, _ = parseID(groupPart)
		}
		if gerr != nil && (hasGroup && !gidNumeric) {
			return execUser{}, nil, fmt.Errorf("%w: group %q: %w", ErrInvalidUser, groupPart, gerr)
		}
		if gerr != nil && !errors.Is(gerr, fs.ErrNotExist) {
			warnings = append(warnings, gerr.Error())
		}
	}
	if hasGroup {
		gid, numeric, err := parseID(groupPart)
		if err != nil {
			return execUser{}, nil, fmt.Errorf("%w: group %q: %w", ErrInvalidUser, groupPart, err)
		}
		if !numeric {
			i := slices.IndexFunc(groups, func(g groupEntry) bool { return g.name == groupPart })
			if i < 0 {
				return execUser{}, nil, fmt.Errorf("%w: group %q is not in the image's /etc/group", ErrInvalidUser, groupPart)
			}
			gid = groups[i].gid
		}
		u.GID = gid
	}
	u.AdditionalGids = []uint32{u.GID}
	if !hasGroup && !numericUser && pw != nil {
		for _, g := range groups {
			if slices.Contains(g.members, pw.name) && !slices.Contains(u.AdditionalGids, g.gid) {
				if len(u.AdditionalGids) >= maxAdditionalGids {
					return execUser{}, nil, fmt.Errorf("%w: user %q is in more than %d groups", ErrInvalidUser, pw.name, maxAdditionalGids)
				}
				u.AdditionalGids = append(u.AdditionalGids, g.gid)
			}
		}
	}
	return u, warnings, nil
}

// parseID parses a decimal uid or gid. It reports numeric=false for a name.
// A number that does not fit, or 4294967295 (the "unchanged" value of
// chown(2)), is an error.
func parseID(s string) (id uint32, numeric bool, err error) {
	if s == "" || strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return 0, false, nil
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 1<<32-1 {
		return 0, true, fmt.Errorf("id %s is out of range", s)
	}
	return uint32(n), true, nil
}

func findPasswd(entries []passwdEntry, match func(passwdEntry) bool) *passwdEntry {
	if i := slices.IndexFunc(entries, match); i >= 0 {
		return &entries[i]
	}
	return nil
}

func loadPasswd(read fileReader) ([]passwdEntry, error) {
	data, err := read("/etc/passwd")
	if err != nil {
		return nil, err
	}
	return parsePasswd(data), nil
}

func loadGroup(read fileReader) ([]groupEntry, error) {
	data, err := read("/etc/group")
	if err != nil {
		return nil, err
	}
	return parseGroup(data), nil
}

// parsePasswd parses passwd(5) lines "name:password:uid:gid:gecos:home:shell".
// Malformed lines, comments and NIS "+"/"-" lines are skipped, as glibc's
// files backend does.
func parsePasswd(data []byte) []passwdEntry {
	var out []passwdEntry
	for _, line := range lines(data) {
		f := strings.Split(line, ":")
		if len(f) < 4 || f[0] == "" {
			continue
		}
		uid, ok1, err1 := parseID(f[2])
		gid, ok2, err2 := parseID(f[3])
		if !ok1 || !ok2 || err1 != nil || err2 != nil {
			continue
		}
		e := passwdEntry{name: f[0], uid: uid, gid: gid}
		if len(f) >= 6 {
			e.home = f[5]
		}
		out = append(out, e)
	}
	return out
}

// parseGroup parses group(5) lines "name:password:gid:member,member".
func parseGroup(data []byte) []groupEntry {
	var out []groupEntry
	for _, line := range lines(data) {
		f := strings.Split(line, ":")
		if len(f) < 3 || f[0] == "" {
			continue
		}
		gid, ok, err := parseID(f[2])
		if !ok || err != nil {
			continue
		}
		e := groupEntry{name: f[0], gid: gid}
		if len(f) >= 4 && f[3] != "" {
			for _, m := range strings.Split(f[3], ",") {
				if m = strings.TrimSpace(m); m != "" {
					e.members = append(e.members, m)
				}
			}
		}
		out = append(out, e)
	}
	return out
}

func lines(data []byte) []string {
	var out []string
	for _, l := range bytes.Split(data, []byte("\n")) {
		s := strings.TrimSpace(string(l))
		if s == "" || s[0] == '#' || s[0] == '+' || s[0] == '-' {
			continue
		}
		out = append(out, s)
	}
	return out
}

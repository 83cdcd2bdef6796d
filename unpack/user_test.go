package unpack

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"testing"
)

// mapFiles is a fileReader over a map; a nil value means the file is
// unreadable (for example a FIFO), an absent key that it does not exist.
func mapFiles(files map[string][]byte) fileReader {
	return func(name string) ([]byte, error) {
		data, ok := files[name]
		if !ok {
			return nil, fmt.Errorf("image's %s: %w", name, fs.ErrNotExist)
		}
		if data == nil {
			return nil, fmt.Errorf("image's %s is not a regular file: not read", name)
		}
		return data, nil
	}
}

func TestResolveUser(t *testing.T) {
	files := map[string][]byte{
		"/etc/passwd": []byte("# comment\n" +
			"root:x:0:0:root:/root:/bin/sh\n" +
			"+nis::::::\n" +
			"broken line\n" +
			"app:x:1000:1001:App:/home/app:/bin/sh\n" +
			"nohome:x:1002:1002\n"),
		"/etc/group": []byte("root:x:0:\n" +
			"wheel:x:10:root,app\n" +
			"app:x:1001:\n" +
			"staff:x:50: app , other\n" +
			"bad:x:notanumber:app\n"),
	}
	noFiles := map[string][]byte{}
	fifo := map[string][]byte{"/etc/passwd": nil, "/etc/group": nil}
	tests := []struct {
		name  string
		spec  string
		files map[string][]byte
		want  execUser
		err   error // sentinel; nil for success
		warns int   // number of warnings
	}{
		{name: "default is root", spec: "", files: files, want: execUser{0, 0, []uint32{0}, "/root"}},
		{name: "root by name gets its groups", spec: "root", files: files, want: execUser{0, 0, []uint32{0, 10}, "/root"}},
		{name: "name", spec: "app", files: files, want: execUser{1000, 1001, []uint32{1001, 10, 50}, "/home/app"}},
		{name: "uid found", spec: "1000", files: files, want: execUser{1000, 1001, []uint32{1001}, "/home/app"}},
		{name: "uid not found", spec: "4242", files: files, want: execUser{4242, 0, []uint32{0}, "/"}},
		{name: "uid:gid", spec: "4242:4343", files: files, want: execUser{4242, 4343, []uint32{4343}, "/"}},
		{name: "name:group", spec: "app:staff", files: files, want: execUser{1000, 50, []uint32{50}, "/home/app"}},
		{name: "name:gid", spec: "app:7", files: files, want: execUser{1000, 7, []uint32{7}, "/home/app"}},
		{name: "uid:group", spec: "5:wheel", files: files, want: execUser{5, 10, []uint32{10}, "/"}},
		{name: "no home field", spec: "nohome", files: files, want: execUser{1002, 1002, []uint32{1002}, "/"}},
		{name: "numeric without files", spec: "1000:1000", files: noFiles, want: execUser{1000, 1000, []uint32{1000}, "/"}},
		{name: "default without files", spec: "", files: noFiles, want: execUser{0, 0, []uint32{0}, "/"}},
		{name: "numeric with unreadable files warns", spec: "7", files: fifo, want: execUser{7, 0, []uint32{0}, "/"}, warns: 1},
		{name: "unknown name", spec: "nobody", files: files, err: ErrInvalidUser},
		{name: "unknown group", spec: "app:nogroup", files: files, err: ErrInvalidUser},
		{name: "name without passwd", spec: "app", files: noFiles, err: ErrInvalidUser},
		{name: "name with unreadable passwd", spec: "app", files: fifo, err: ErrInvalidUser},
		{name: "group name without group file", spec: "0:wheel", files: noFiles, err: ErrInvalidUser},
		{name: "empty group", spec: "app:", files: files, err: ErrInvalidUser},
		{name: "uid out of range", spec: "4294967296", files: files, err: ErrInvalidUser},
		{name: "uid -1", spec: "4294967295", files: files, err: ErrInvalidUser},
		{name: "gid out of range", spec: "0:99999999999", files: files, err: ErrInvalidUser},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, warns, err := resolveUser(tc.spec, mapFiles(tc.files))
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("resolveUser(%q): got err %v, want %v", tc.spec, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("resolveUser(%q): %v", tc.spec, err)
			}
			if got.UID != tc.want.UID || got.GID != tc.want.GID || got.Home != tc.want.Home ||
				!slices.Equal(got.AdditionalGids, tc.want.AdditionalGids) {
				t.Errorf("resolveUser(%q) = %+v, want %+v", tc.spec, got, tc.want)
			}
			if len(warns) != tc.warns {
				t.Errorf("resolveUser(%q): %d warnings %q, want %d", tc.spec, len(warns), warns, tc.warns)
			}
		})
	}
}

func TestParsePasswdIgnoresGarbage(t *testing.T) {
	got := parsePasswd([]byte("\x00\xff:::\n:x:1:1::/:\nok:x:1:2::/h:\nneg:x:-1:0::/:\nbig:x:99999999999:0::/:\n"))
	if len(got) != 1 || got[0].name != "ok" || got[0].uid != 1 || got[0].gid != 2 || got[0].home != "/h" {
		t.Errorf("parsePasswd = %+v, want only ok:1:2:/h", got)
	}
}

package procfs

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestFdPath(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("content"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gone := filepath.Join(dir, "gone")
	g, err := os.Create(gone)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := os.Remove(gone); err != nil {
		t.Fatal(err)
	}
	opath, err := unix.Open(dir, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(opath)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	// A closed number high enough that no fd opened meanwhile (such as a
	// per-operation handle of an unprivileged run) takes it.
	closed := 900
	if err := unix.Dup3(int(f.Fd()), closed, unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	_ = unix.Close(closed)
	forEachVariant(t, func(t *testing.T) {
		for _, tc := range []struct {
			name    string
			fd      int
			want    string // exact path, or prefix when prefix is set
			prefix  bool
			wantErr error
		}{
			{"file", int(f.Fd()), file, false, nil},
			{"deleted", int(g.Fd()), gone + " (deleted)", false, nil},
			{"o-path-dir", opath, dir, false, nil},
			{"pipe", int(r.Fd()), "pipe:[", true, nil},
			{"closed", closed, "", false, unix.EBADF},
			{"negative", -1, "", false, unix.EBADF},
		} {
			got, err := FdPath(tc.fd)
			switch {
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("FdPath(%s): got %q, err %v; want err %v", tc.name, got, err, tc.wantErr)
				}
				if _, ok := errors.AsType[*os.PathError](err); !ok {
					t.Errorf("FdPath(%s): error %T is not *os.PathError", tc.name, err)
				}
			case err != nil:
				t.Errorf("FdPath(%s): %v", tc.name, err)
			case tc.prefix && !strings.HasPrefix(got, tc.want), !tc.prefix && got != tc.want:
				t.Errorf("FdPath(%s): got %q, want %q", tc.name, got, tc.want)
			}
		}
	})
}

func TestReopen(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("content"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink("file", link); err != nil {
		t.Fatal(err)
	}
	opathFile, err := unix.Open(file, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(opathFile)
	opathDir, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(opathDir)
	opathLink, err := unix.Open(link, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(opathLink)
	forEachVariant(t, func(t *testing.T) {
		for _, tc := range []struct {
			name    string
			fd      int
			flags   int
			wantErr error
			check   func(t *testing.T, f *os.File)
		}{
			{"file-rdonly", opathFile, unix.O_RDONLY, nil, func(t *testing.T, f *os.File) {
				data, err := io.ReadAll(f)
				if err != nil || string(data) != "content" {
					t.Errorf("reopened file reads %q, %v; want content", data, err)
				}
			}},
			{"nofollow-dropped", opathFile, unix.O_RDONLY | unix.O_NOFOLLOW, nil, nil},
			{"dir", opathDir, unix.O_RDONLY | unix.O_DIRECTORY, nil, func(t *testing.T, f *os.File) {
				names, err := f.Readdirnames(-1)
				if err != nil || len(names) != 2 {
					t.Errorf("reopened dir lists %v, %v; want file and link", names, err)
				}
			}},
			{"symlink-refused", opathLink, unix.O_RDONLY, unix.ELOOP, nil},
			{"o-creat-refused", opathFile, unix.O_RDWR | unix.O_CREAT, unix.EINVAL, nil},
			{"bad-fd", -1, unix.O_RDONLY, unix.EBADF, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				f, err := Reopen(tc.fd, tc.flags)
				if tc.wantErr != nil {
					if !errors.Is(err, tc.wantErr) {
						t.Fatalf("Reopen: got err %v, want %v", err, tc.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatalf("Reopen: %v", err)
				}
				defer f.Close()
				if fileID(t, int(f.Fd())) != fileID(t, tc.fd) {
					t.Errorf("Reopen gave another inode")
				}
				fl, _ := unix.FcntlInt(f.Fd(), unix.F_GETFD, 0)
				if fl&unix.FD_CLOEXEC == 0 {
					t.Errorf("reopened fd is not close-on-exec")
				}
				if st, _ := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0); st&unix.O_PATH != 0 {
					t.Errorf("reopened fd is still O_PATH")
				}
				if tc.check != nil {
					tc.check(t, f)
				}
			})
		}
	})
}

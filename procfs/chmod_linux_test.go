package procfs

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestChmodFd(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "l")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(file, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := ChmodFd(fd, 0o4751); err != nil {
		t.Fatalf("ChmodFd: %v", err)
	}
	var st unix.Stat_t
	if err := unix.Stat(file, &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode&0o7777 != 0o4751 {
		t.Fatalf("ChmodFd: mode %o, want 4751", st.Mode&0o7777)
	}
	lfd, err := unix.Open(link, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(lfd)
	if err := ChmodFd(lfd, 0o777); !errors.Is(err, unix.ELOOP) {
		t.Fatalf("ChmodFd(symlink): got %v, want ELOOP", err)
	}
	if err := unix.Stat(file, &st); err != nil || st.Mode&0o7777 != 0o4751 {
		t.Fatalf("ChmodFd(symlink) changed the target: %o %v", st.Mode&0o7777, err)
	}
	if err := ChmodFd(-1, 0o600); !errors.Is(err, unix.EBADF) {
		t.Fatalf("ChmodFd(-1): got %v, want EBADF", err)
	}
}

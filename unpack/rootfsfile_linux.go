package unpack

import (
	"errors"
	"fmt"
	"io"
	"io/fs"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/pathrs"
)

// rootfsReader returns a fileReader that reads small regular files of the
// unpacked rootfs through root, so that a symlinked /etc/passwd resolves
// inside the rootfs (an absolute target is re-rooted) and never reaches a
// host file.
//
// The naive equivalent, os.ReadFile(filepath.Join(rootfs, "etc/passwd")),
// follows etc/passwd -> /etc/shadow to the host's file, blocks forever on a
// FIFO, and reads /dev/zero without end. Here the name is first resolved to
// an O_PATH handle and must be a regular file within the size cap; only then
// is it opened (non-blocking, without a controlling tty) and checked to be
// the same inode, so a device node is never opened (opening some, such as a
// watchdog, has side effects).
func rootfsReader(root *pathrs.Root) fileReader {
	return func(name string) ([]byte, error) { return readRootfsFile(root, name, maxNameFileSize) }
}

func readRootfsFile(root *pathrs.Root, name string, limit int64) ([]byte, error) {
	h, err := root.Resolve(name)
	if errors.Is(err, unix.ENOTDIR) {
		err = fmt.Errorf("%w: %w", fs.ErrNotExist, err)
	}
	if err != nil {
		return nil, fmt.Errorf("image's %s: %w", name, err)
	}
	st, err := h.Stat()
	_ = h.Close()
	if err != nil {
		return nil, fmt.Errorf("image's %s: %w", name, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fmt.Errorf("image's %s is not a regular file (mode %#o): not read", name, st.Mode)
	}
	if st.Size > limit {
		return nil, fmt.Errorf("image's %s is %d bytes, over the %d-byte cap: not read", name, st.Size, limit)
	}
	f, err := root.Open(name, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("image's %s: %w", name, err)
	}
	defer f.Close()
	var st2 unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st2); err != nil {
		return nil, fmt.Errorf("image's %s: fstat: %w", name, err)
	}
	if st2.Dev != st.Dev || st2.Ino != st.Ino || st2.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fmt.Errorf("image's %s changed while being opened: not read", name)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading image's %s: %w", name, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("image's %s grew over the %d-byte cap: not read", name, limit)
	}
	return data, nil
}

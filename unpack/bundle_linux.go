package unpack

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/pathrs"
)

// renameNoReplace renames oldpath to newpath. When newpath must not exist,
// renameat2(RENAME_NOREPLACE) makes the check and the rename one step; when
// it is an empty directory, rename(2) replaces it only while it is still
// empty (ENOTEMPTY otherwise). Either failure is [ErrBundleExists].
func renameNoReplace(oldpath, newpath string, replaceEmpty bool) error {
	var err error
	if replaceEmpty {
		err = unix.Rename(oldpath, newpath)
	} else {
		err = unix.Renameat2(unix.AT_FDCWD, oldpath, unix.AT_FDCWD, newpath, unix.RENAME_NOREPLACE)
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
			// A filesystem without RENAME_NOREPLACE: check, then rename.
			// rename(2) still refuses to replace a non-empty directory.
			if _, lerr := os.Lstat(newpath); lerr == nil {
				err = unix.EEXIST
			} else {
				err = unix.Rename(oldpath, newpath)
			}
		}
	}
	if errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENOTEMPTY) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.EISDIR) {
		return fmt.Errorf("%w: %s appeared while unpacking", ErrBundleExists, newpath)
	}
	return err
}

// removeTree removes the staging directory path and everything below it.
// The rootfs inside was written from an untrusted image, so its contents
// are removed through pathrs: descriptor-relative, never following a
// symlink, with a bounded explicit stack, and making directories of modes
// such as 0500 or 0 writable first (as an unprivileged unpack leaves them).
func removeTree(path string) error {
	root, err := pathrs.OpenRoot(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	d, err := root.Dir()
	if err != nil {
		_ = root.Close()
		return err
	}
	names, err := d.ReadDirNames(0)
	for _, name := range names {
		if rerr := d.RemoveAll(name); rerr != nil && err == nil {
			err = rerr
		}
	}
	_ = d.Close()
	_ = root.Close()
	if err != nil {
		return err
	}
	return os.Remove(path)
}

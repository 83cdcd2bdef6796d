package pathrs

import (
	"errors"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/linux"
)

// removeMaxPasses bounds how often RemoveAll re-reads one directory whose
// rmdir failed with ENOTEMPTY: a concurrent creator can refill a directory
// forever, and we would rather report it than spin (libpathrs accepts the
// spin; threats.md T07).
const removeMaxPasses = 16

// removeMaxOps bounds the unlink/rmdir calls of one RemoveAll: far more than
// any real image holds (2^26, about 67 million), small enough that a process
// pumping entries into the tree cannot keep us busy for more than a minute.
const removeMaxOps = 1 << 26

// removeMaxHeldFds bounds the directory descriptors RemoveAll keeps open on
// its explicit stack; deeper levels are re-opened through ".." and checked
// by inode identity, so a 20,000-level tree costs neither recursion nor
// EMFILE.
const removeMaxHeldFds = 64

// Remove removes name: unlinkat(2), or, for a directory, unlinkat with
// AT_REMOVEDIR (which fails with ENOTEMPTY unless it is empty). A symlink is
// removed itself, never followed.
func (d *Dir) Remove(name string) error {
	if err := checkName(name, false); err != nil {
		return d.pathErr("unlinkat", name, err)
	}
	err := d.fd.use(func(fd int) error { return removeOne(fd, name) })
	if err != nil {
		return d.pathErr("unlinkat", name, err)
	}
	return nil
}

func removeOne(dirfd int, name string) error {
	err := linux.RetryEINTR(func() error { return unix.Unlinkat(dirfd, name, 0) })
	if errors.Is(err, unix.EISDIR) || errors.Is(err, unix.EPERM) {
		rmErr := linux.RetryEINTR(func() error { return unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR) })
		if !errors.Is(rmErr, unix.ENOTDIR) {
			return rmErr
		}
	}
	return err
}

// RemoveAll removes name and, if it is a directory, everything below it. It
// works on descriptors only: each directory is opened
// O_DIRECTORY|O_NOFOLLOW from its parent's descriptor and entries are
// removed with unlinkat, so no symlink anywhere in the tree is followed and
// nothing outside name is touched. It uses an explicit stack (no recursion),
// holds at most a bounded number of descriptors, tolerates entries that
// vanish concurrently (ENOENT is success, as for concurrent callers), and
// gives up with [ErrTooManyEntries] if the tree keeps growing underneath it.
func (d *Dir) RemoveAll(name string) error {
	if err := checkName(name, false); err != nil {
		return d.pathErr("unlinkat", name, err)
	}
	err := d.fd.use(func(fd int) error { return removeAllAt(fd, name) })
	if err != nil {
		return d.pathErr("unlinkat", name, err)
	}
	return nil
}

// rmFrame is one directory on RemoveAll's stack.
type rmFrame struct {
	fd       int      // O_RDONLY|O_DIRECTORY, or -1 while released
	name     string   // name in the parent
	dev, ino uint64   // identity, to check re-opens through ".."
	passes   int      // full reads that ended in ENOTEMPTY
	pending  []string // non-empty subdirectories seen in the last batch
	chmodded bool     // we already made it writable
}

type remover struct {
	basefd int
	stack  []rmFrame
	ops    int
	buf    []byte
}

func (rm *remover) op() error {
	rm.ops++
	if rm.ops > removeMaxOps {
		return ErrTooManyEntries
	}
	return nil
}

func (rm *remover) closeAll() {
	for i := range rm.stack {
		if rm.stack[i].fd >= 0 {
			_ = unix.Close(rm.stack[i].fd)
		}
	}
	rm.stack = nil
}

func removeAllAt(basefd int, name string) error {
	rm := &remover{basefd: basefd}
	defer rm.closeAll()
	// Fast path: not a directory, an empty one, or already gone.
	for range removeMaxPasses {
		if err := rm.op(); err != nil {
			return err
		}
		err := removeOne(basefd, name)
		switch {
		case err == nil || errors.Is(err, unix.ENOENT):
			return nil
		case errors.Is(err, unix.ENOTEMPTY) || errors.Is(err, unix.EEXIST):
		default:
			return err
		}
		pushed, err := rm.push(basefd, name)
		if err != nil {
			return err
		}
		if !pushed {
			continue // it changed type or vanished: try again
		}
		if err := rm.drain(); err != nil {
			return err
		}
		return nil
	}
	return ErrTooManyEntries
}

// push opens parentfd/name as a directory and pushes it. It returns false
// when name is no longer a directory we can descend into (it was swapped or
// removed concurrently); the caller retries the unlink.
func (rm *remover) push(parentfd int, name string) (bool, error) {
	fd, err := linux.Openat(parentfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
	if errors.Is(err, unix.EACCES) {
		// A directory we may delete but not read (mode 0 in an image,
		// unpacked rootless): grant ourselves access, never following.
		if linux.Fchmodat2(parentfd, name, 0o700, unix.AT_SYMLINK_NOFOLLOW) == nil {
			fd, err = linux.Openat(parentfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
		}
	}
	switch {
	case errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP):
		return false, nil
	case err != nil:
		return false, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		_ = unix.Close(fd)
		return false, err
	}
	rm.stack = append(rm.stack, rmFrame{fd: fd, name: name, dev: st.Dev, ino: st.Ino})
	if n := len(rm.stack) - removeMaxHeldFds - 1; n >= 0 && rm.stack[n].fd >= 0 {
		_ = unix.Close(rm.stack[n].fd)
		rm.stack[n].fd = -1
	}
	return true, nil
}

// parentFd returns the descriptor of the parent of stack[i], re-opening a
// released one through ".." of stack[i] and checking it is the same inode.
func (rm *remover) parentFd(i int) (int, error) {
	if i == 0 {
		return rm.basefd, nil
	}
	p := &rm.stack[i-1]
	if p.fd >= 0 {
		return p.fd, nil
	}
	fd, err := linux.OpenatInode(rm.stack[i].fd, "..", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, p.dev, p.ino)
	if errors.Is(err, linux.ErrInodeChanged) {
		return -1, ErrPossibleBreakout
	}
	if err != nil {
		return -1, err
	}
	p.fd = fd
	return fd, nil
}

// drain empties and removes every directory on the stack.
func (rm *remover) drain() error {
	if rm.buf == nil {
		rm.buf = make([]byte, direntBufSize)
	}
	for len(rm.stack) > 0 {
		top := len(rm.stack) - 1
		descended, done, err := rm.step(top)
		if err != nil {
			return err
		}
		if descended || !done {
			continue
		}
		// The directory read as empty: remove it from its parent.
		pfd, err := rm.parentFd(top)
		if err != nil {
			return err
		}
		frame := rm.stack[top]
		if err := rm.op(); err != nil {
			return err
		}
		rmErr := linux.RetryEINTR(func() error { return unix.Unlinkat(pfd, frame.name, unix.AT_REMOVEDIR) })
		switch {
		case rmErr == nil || errors.Is(rmErr, unix.ENOENT):
			_ = unix.Close(frame.fd)
			rm.stack = rm.stack[:top]
		case errors.Is(rmErr, unix.ENOTEMPTY) || errors.Is(rmErr, unix.EEXIST):
			// Refilled behind our back: read it again, a bounded number of
			// times.
			rm.stack[top].passes++
			if rm.stack[top].passes >= removeMaxPasses {
				return ErrTooManyEntries
			}
			if _, err := unix.Seek(frame.fd, 0, 0); err != nil {
				return err
			}
		default:
			return rmErr
		}
	}
	return nil
}

// step makes progress on stack[i]: it descends into a pending
// subdirectory, or reads one batch of entries and removes what it can,
// queueing non-empty subdirectories. It reports whether it pushed a
// subdirectory (descended) and whether the directory read as exhausted
// (done). The read cursor is never moved back, so a large directory is read
// once per pass.
func (rm *remover) step(i int) (descended, done bool, err error) {
	frame := &rm.stack[i]
	for len(frame.pending) > 0 {
		name := frame.pending[len(frame.pending)-1]
		frame.pending = frame.pending[:len(frame.pending)-1]
		fd := frame.fd
		pushed, err := rm.push(fd, name)
		if err != nil {
			return false, false, err
		}
		if pushed {
			return true, false, nil
		}
		// It changed under us: try the plain removal again.
		if err := removeOne(fd, name); err != nil && !errors.Is(err, unix.ENOENT) {
			return false, false, err
		}
		frame = &rm.stack[i]
	}
	fd := frame.fd
	n, err := linux.RetryEINTR2(func() (int, error) { return unix.Getdents(fd, rm.buf) })
	if errors.Is(err, unix.ENOENT) {
		return false, true, nil // removed concurrently (a dead directory)
	}
	if err != nil {
		return false, false, err
	}
	if n <= 0 {
		return false, true, nil
	}
	_, _, names := unix.ParseDirent(rm.buf[:n], -1, nil)
	for _, name := range names {
		if err := rm.op(); err != nil {
			return false, false, err
		}
		err := removeOne(fd, name)
		if errors.Is(err, unix.EACCES) && !frame.chmodded {
			// The directory itself is read-only to us (an image mode such
			// as 0555, unpacked rootless). It is going away, so make it
			// writable and retry.
			frame.chmodded = true
			if linux.Fchmodat2(fd, "", 0o700, unix.AT_EMPTY_PATH) == nil {
				err = removeOne(fd, name)
			}
		}
		switch {
		case err == nil || errors.Is(err, unix.ENOENT):
		case errors.Is(err, unix.ENOTEMPTY) || errors.Is(err, unix.EEXIST):
			frame.pending = append(frame.pending, name)
		default:
			return false, false, err
		}
	}
	return false, false, nil
}

// Rename renames name in d to newName in newDir with renameat2(2) flags
// (0, or any of unix.RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT).
// Neither name is followed. newDir may be d itself.
func (d *Dir) Rename(name string, newDir *Dir, newName string, flags uint) error {
	if err := checkName(name, false); err != nil {
		return d.pathErr("renameat2", name, err)
	}
	if err := checkName(newName, false); err != nil {
		return newDir.pathErr("renameat2", newName, err)
	}
	if flags&^(unix.RENAME_NOREPLACE|unix.RENAME_EXCHANGE|unix.RENAME_WHITEOUT) != 0 {
		return d.pathErr("renameat2", name, unix.EINVAL)
	}
	rename := func(fd, nfd int) error {
		return linux.RetryEINTR(func() error { return unix.Renameat2(fd, name, nfd, newName, flags) })
	}
	var err error
	if newDir == d {
		// One read lock only: a second RLock on the same RWMutex deadlocks
		// against a concurrent Close waiting for the write lock.
		err = d.fd.use(func(fd int) error { return rename(fd, fd) })
	} else {
		err = d.fd.use(func(fd int) error {
			return newDir.fd.use(func(nfd int) error { return rename(fd, nfd) })
		})
	}
	if err != nil {
		return d.pathErr("renameat2", name, err)
	}
	return nil
}

package unpack

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// stagingPrefix starts the name of a staging directory, ".BUNDLE" being the
// bundle's base name: ".BUNDLE.safeunpack-staging-RANDOM". One left behind
// by a killed process (SIGKILL cannot be caught) can be found and removed
// by that name.
const stagingInfix = ".safeunpack-staging-"

// staging is a directory beside the bundle that becomes the bundle when
// committed. It is created mode 0700, so that a setuid file in the rootfs
// is never reachable by other users (umoci does the same), and is removed
// with everything in it on failure.
type staging struct {
	// target is the bundle path.
	target string
	// dir is the staging directory.
	dir string
	// replaceEmpty is set when target is an existing empty directory.
	replaceEmpty bool
}

// prepareBundle checks the bundle path and creates the staging directory
// beside it. An existing non-empty directory, or an existing non-directory
// (symlinks included: they are not followed), is [ErrBundleExists] and is
// left untouched. The parent directory must exist.
func prepareBundle(target string) (*staging, error) {
	target = filepath.Clean(target)
	base := filepath.Base(target)
	if base == "/" || base == "." || base == ".." {
		return nil, fmt.Errorf("%w: bundle path %q names no directory entry", ErrInvalidOptions, target)
	}
	s := &staging{target: target}
	st, err := os.Lstat(target)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("bundle %s: %w", target, err)
	case !st.IsDir():
		return nil, fmt.Errorf("%w: %s exists and is not a directory (%s)", ErrBundleExists, target, st.Mode().Type())
	default:
		empty, err := isEmptyDir(target)
		if err != nil {
			return nil, fmt.Errorf("bundle %s: %w", target, err)
		}
		if !empty {
			return nil, fmt.Errorf("%w: %s", ErrBundleExists, target)
		}
		s.replaceEmpty = true
	}
	parent := filepath.Dir(target)
	if st, err := os.Stat(parent); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("%w: the parent directory of bundle %s does not exist", ErrInvalidOptions, target)
	}
	// MkdirTemp creates the directory with mode 0700.
	dir, err := os.MkdirTemp(parent, "."+strings.TrimPrefix(base, ".")+stagingInfix)
	if err != nil {
		return nil, fmt.Errorf("creating staging directory for %s: %w", target, err)
	}
	s.dir = dir
	return s, nil
}

func isEmptyDir(p string) (bool, error) {
	f, err := os.Open(p)
	if err != nil {
		return false, err
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	return false, err
}

// path returns a path inside the staging directory.
func (s *staging) path(name string) string { return filepath.Join(s.dir, name) }

// writeFile writes a small file of ours (config.json, safeunpack.json) into
// the staging directory, never into the rootfs.
func (s *staging) writeFile(name string, data []byte) error {
	f, err := os.OpenFile(s.path(name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// commit renames the staging directory to the bundle path atomically. If
// the bundle appeared meanwhile (or an empty one was filled), the rename
// fails with [ErrBundleExists] and the existing bundle is untouched.
func (s *staging) commit() error {
	if err := syncDir(s.dir); err != nil {
		return fmt.Errorf("syncing %s: %w", s.dir, err)
	}
	if err := renameNoReplace(s.dir, s.target, s.replaceEmpty); err != nil {
		return fmt.Errorf("moving staging directory into place as %s: %w", s.target, err)
	}
	s.dir = ""
	return syncDir(filepath.Dir(s.target))
}

// abort removes the staging directory and everything in it. It is a no-op
// after commit.
func (s *staging) abort() error {
	if s.dir == "" {
		return nil
	}
	err := removeTree(s.dir)
	if err == nil {
		s.dir = ""
	}
	return err
}

func syncDir(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

//go:build linux

package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// nsEnv marks the re-executed harness running in its private mount
// namespace.
const nsEnv = "SAFEUNPACK_BENCH_IN_NS"

// reexecInNamespace runs this binary again with the same arguments in a new
// mount namespace (os/exec also makes "/" recursively private there), so a
// tmpfs mounted by the child is invisible to the host and is released even
// if the child is killed. It returns the child's exit code.
//
// The child runs under nice(1) at the given niceness: Linux niceness is per
// thread and Go forks from any thread, so setpriority in a Go process would
// not reliably reach the tools.
func reexecInNamespace(nice int) (int, error) {
	if os.Geteuid() != 0 {
		return 1, errors.New("must run as root (tmpfs mount, tar -p ownership, mmdebstrap, apt-get): try sudo")
	}
	exe, err := os.Executable()
	if err != nil {
		return 1, err
	}
	cmd := exec.Command("nice", append([]string{"-n", strconv.Itoa(nice), exe}, os.Args[1:]...)...)
	cmd.Env = append(os.Environ(), nsEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return 1, fmt.Errorf("re-exec in a mount namespace: %w", err)
	}
	go func() {
		for s := range sigs {
			_ = cmd.Process.Signal(s)
		}
	}()
	err = cmd.Wait()
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		return ee.ExitCode(), nil
	}
	if err != nil {
		return 1, err
	}
	return 0, nil
}

// mountTmpfs mounts a fresh tmpfs on a new, empty directory under parent
// (never over anything that exists) and returns it with its cleanup.
// nr_inodes=0 lifts the default inode cap (half the RAM pages), which a
// 1,000,000-entry layer would hit on small machines.
func mountTmpfs(parent string) (dir string, cleanup func() error, err error) {
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", nil, err
	}
	dir, err = os.MkdirTemp(parent, "tmpfs-")
	if err != nil {
		return "", nil, err
	}
	flags := uintptr(unix.MS_NOSUID | unix.MS_NODEV)
	if err := unix.Mount("safeunpack-bench", dir, "tmpfs", flags, "mode=0755,nr_inodes=0"); err != nil {
		_ = os.Remove(dir)
		return "", nil, fmt.Errorf("mount tmpfs on %s: %w", dir, err)
	}
	cleanup = func() error {
		if err := unix.Unmount(dir, 0); err != nil {
			if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
				return fmt.Errorf("unmount %s: %w", dir, err)
			}
		}
		return os.Remove(dir)
	}
	return dir, cleanup, nil
}

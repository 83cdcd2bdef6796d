package procfs

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/testutil"
)

// checkFunc asserts the outcome of one operation on h inside the attacked
// namespace. real says whether h must see the real file (the overmount is
// invisible to it); otherwise the operation must fail with ErrUnsafeProcfs.
// label names the handle and variant in messages: checks run sequentially
// on the namespace's thread, since subtests would run on other threads.
type checkFunc func(t *testing.T, label string, h *Handle, real bool)

// overmountCase mounts something over a /proc path inside the test's private
// mount namespace (skipping when the kernel refuses) and returns the check.
type overmountCase struct {
	name   string
	attack func(t *testing.T) checkFunc
}

// tmpfsFile creates a file with contents on a tmpfs mounted (inside the
// private namespace) on a fresh temp dir, with a fixed old mtime.
func tmpfsFile(t *testing.T, contents string) string {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "mode=0755"); err != nil {
		t.Fatalf("mount tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	p := filepath.Join(dir, "file")
	if err := os.WriteFile(p, []byte(contents), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, testutil.VictimTime, testutil.VictimTime); err != nil {
		t.Fatal(err)
	}
	return p
}

// fileUnchanged fails if p no longer has contents and the planted mtime.
func fileUnchanged(t *testing.T, label, p, contents string) {
	t.Helper()
	data, err := os.ReadFile(p)
	var st unix.Stat_t
	if serr := unix.Stat(p, &st); serr != nil {
		t.Fatal(serr)
	}
	if err != nil || string(data) != contents || st.Mtim.Nano() != testutil.VictimTime.UnixNano() {
		t.Errorf("%s: the bind-mounted file was written: contents %q (err %v), mtime %d", label, data, err, st.Mtim.Nano())
	}
}

// expect checks err against real: nil when real, ErrUnsafeProcfs otherwise.
// It reports whether the operation succeeded and the caller should check
// what it returned.
func expect(t *testing.T, label string, real bool, err error) bool {
	t.Helper()
	if !real {
		if !errors.Is(err, ErrUnsafeProcfs) || !errors.Is(err, unix.EXDEV) {
			t.Errorf("%s: got err %v, want ErrUnsafeProcfs (the overmount is visible to this handle)", label, err)
		}
		return false
	}
	if err != nil {
		t.Errorf("%s: %v (the overmount is invisible to this handle; the real file must be reached)", label, err)
		return false
	}
	return true
}

// readVia opens base/sub through h and returns its contents and identity.
func readVia(h *Handle, base Base, sub string) ([]byte, [2]uint64, error) {
	f, err := h.Open(base, sub, unix.O_RDONLY)
	if err != nil {
		return nil, [2]uint64{}, err
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return nil, [2]uint64{}, err
	}
	data, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if errors.Is(err, unix.EINVAL) {
		err = nil // attr files without an LSM refuse reads: the open is what counts.
	}
	return data, [2]uint64{st.Dev, st.Ino}, err
}

// bindOver bind-mounts src over dst, skipping when the kernel refuses, and
// returns src's identity.
func bindOver(t *testing.T, src, dst string) [2]uint64 {
	t.Helper()
	id := pathID(t, src)
	mountOrSkip(t, src, dst, "", unix.MS_BIND, "")
	return id
}

func overmountCases() []overmountCase {
	// attrCheck opens attr/current of base and checks it is a real attr file.
	attrCheck := func(base Base, srcID [2]uint64) checkFunc {
		return func(t *testing.T, label string, h *Handle, real bool) {
			f, err := h.Open(base, "attr/current", unix.O_RDONLY)
			if expect(t, label+": open attr/current", real, err) {
				defer f.Close()
				var st unix.Stat_t
				_ = unix.Fstat(int(f.Fd()), &st)
				if st.Mode != unix.S_IFREG|0o666 || [2]uint64{st.Dev, st.Ino} == srcID {
					t.Errorf("%s: attr/current has mode %#o: it is the bind-mounted file", label, st.Mode)
				}
			}
		}
	}
	return []overmountCase{
		{"sched-over-self-attr-current", func(t *testing.T) checkFunc {
			return attrCheck(ProcSelf, bindOver(t, "/proc/self/sched", "/proc/self/attr/current"))
		}},
		{"sched-over-thread-self-attr-current", func(t *testing.T) checkFunc {
			open := attrCheck(ProcThreadSelf, bindOver(t, "/proc/self/sched", "/proc/thread-self/attr/current"))
			return func(t *testing.T, label string, h *Handle, real bool) {
				open(t, label, h, real)
				// A write to sched succeeds whatever it says (CVE-2025-52881);
				// the real attr file refuses an invalid label.
				err := h.writeAttr("current", invalidLabel)
				if err == nil {
					t.Errorf("%s: WriteAttr succeeded: it wrote into the bind-mounted sched", label)
				} else if real == errors.Is(err, ErrUnsafeProcfs) {
					t.Errorf("%s: WriteAttr: got err %v, want ErrUnsafeProcfs only for a handle that sees the overmount", label, err)
				}
			}
		}},
		{"tmpfs-file-over-thread-self-attr-current", func(t *testing.T) checkFunc {
			// CVE-2019-16884: a label written to a tmpfs file is silently lost.
			const old = "unconfined"
			p := tmpfsFile(t, old)
			bindOver(t, p, "/proc/thread-self/attr/current")
			return func(t *testing.T, label string, h *Handle, real bool) {
				err := h.writeAttr("current", invalidLabel)
				if err == nil || real == errors.Is(err, ErrUnsafeProcfs) {
					t.Errorf("%s: WriteAttr: got err %v", label, err)
				}
				fileUnchanged(t, label, p, old)
			}
		}},
		{"devnull-over-self-uid_map", func(t *testing.T) checkFunc {
			want, err := ReadIDMap(0, "uid_map")
			if err != nil {
				t.Fatal(err)
			}
			bindOver(t, "/dev/null", "/proc/self/uid_map")
			return idMapCheck(want)
		}},
		{"tmpfs-file-over-self-uid_map", func(t *testing.T) checkFunc {
			want, err := ReadIDMap(0, "uid_map")
			if err != nil {
				t.Fatal(err)
			}
			bindOver(t, tmpfsFile(t, "0 12345 1\n"), "/proc/self/uid_map")
			return idMapCheck(want)
		}},
		{"file-over-self-status", func(t *testing.T) checkFunc {
			bindOver(t, tmpfsFile(t, "Name:\tfake\nPid:\t1\n"), "/proc/self/status")
			want := []byte("\nPid:\t" + strconv.Itoa(os.Getpid()) + "\n")
			return func(t *testing.T, label string, h *Handle, real bool) {
				data, _, err := readVia(h, ProcSelf, "status")
				if expect(t, label+": read status", real, err) && !bytes.Contains(data, want) {
					t.Errorf("%s: status is not ours:\n%s", label, data)
				}
			}
		}},
		{"environ-over-cpuinfo", func(t *testing.T) checkFunc {
			srcID := bindOver(t, "/proc/1/environ", "/proc/cpuinfo")
			return func(t *testing.T, label string, h *Handle, real bool) {
				data, id, err := readVia(h, ProcRoot, "cpuinfo")
				if expect(t, label+": read cpuinfo", real, err) && (id == srcID || len(data) == 0) {
					t.Errorf("%s: cpuinfo is the bind-mounted environ (%d bytes)", label, len(data))
				}
			}
		}},
		{"tmpfs-over-self-fdinfo", func(t *testing.T) checkFunc {
			mountOrSkip(t, "tmpfs", "/proc/self/fdinfo", "tmpfs", 0, "")
			return fdinfoCheck(ProcSelf)
		}},
		{"tmpfs-over-thread-self-fdinfo", func(t *testing.T) checkFunc {
			// With the fdinfo mount-id source this also blinds the mount-id
			// checks of handles that see it: they must refuse to be built.
			mountOrSkip(t, "tmpfs", "/proc/thread-self/fdinfo", "tmpfs", 0, "")
			return fdinfoCheck(ProcThreadSelf)
		}},
		{"exe-over-self-fd", func(t *testing.T) checkFunc {
			f, err := os.Open(os.Args[0])
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = f.Close() })
			fd := strconv.Itoa(int(f.Fd()))
			bindOver(t, "/proc/self/exe", "/proc/self/fd/"+fd)
			return func(t *testing.T, label string, h *Handle, real bool) {
				got, err := h.Readlink(ProcSelf, "fd/"+fd)
				if expect(t, label+": readlink fd", real, err) && got != f.Name() {
					t.Errorf("%s: fd/%s reads %q, want %q", label, fd, got, f.Name())
				}
			}
		}},
		{"fd-over-self-exe", func(t *testing.T) checkFunc {
			exe, _ := os.Executable()
			bindOver(t, "/dev/null", "/proc/self/exe")
			return func(t *testing.T, label string, h *Handle, real bool) {
				f, err := h.OpenFollow(ProcSelf, "exe", unix.O_RDONLY)
				if expect(t, label+": open exe", real, err) {
					defer f.Close()
					if fileID(t, int(f.Fd())) != pathID(t, exe) {
						t.Errorf("%s: exe is not %s", label, exe)
					}
				}
			}
		}},
	}
}

// idMapCheck reads uid_map through the handle and compares with want.
func idMapCheck(want []IDRange) checkFunc {
	return func(t *testing.T, label string, h *Handle, real bool) {
		got, err := h.readIDMap(ProcSelf, "uid_map")
		if expect(t, label+": read uid_map", real, err) && !slices.Equal(got, want) {
			t.Errorf("%s: uid_map reads %v, want %v", label, got, want)
		}
	}
}

// fdinfoCheck reads the fdinfo of an open file through the handle.
func fdinfoCheck(base Base) checkFunc {
	return func(t *testing.T, label string, h *Handle, real bool) {
		f, err := os.Open(os.Args[0])
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		data, _, err := readVia(h, base, "fdinfo/"+strconv.Itoa(int(f.Fd())))
		if expect(t, label+": read fdinfo", real, err) && !bytes.Contains(data, []byte("mnt_id:")) {
			t.Errorf("%s: fdinfo is not the kernel's: %q", label, data)
		}
	}
}

// install sets the variant's seams until restore is called; for the
// namespace tests, which cannot use subtests and t.Cleanup per variant.
func (v variant) install() (restore func()) {
	o2e, o2u, sx := openat2Enabled, openat2Usable, statxMountID
	v.apply(noCleanupTB{})
	return func() { openat2Enabled, openat2Usable, statxMountID = o2e, o2u, sx }
}

// noCleanupTB lets variant.apply run without registering cleanups.
type noCleanupTB struct{ testing.TB }

func (noCleanupTB) Helper()          {}
func (noCleanupTB) Cleanup(f func()) {}

// TestOvermount mounts over /proc files in a private mount namespace and
// checks every handle kind under every variant: detached handles (fsopen,
// open_tree) read the real files; the recursive clone, which keeps the
// overmounts, and the host /proc refuse with ErrUnsafeProcfs; WriteAttr
// never writes into a bind-mounted file. It runs as root and again as root
// of a user namespace without privilege over the pid namespace.
func TestOvermount(t *testing.T) {
	withReexec(t, func(t *testing.T) {
		for _, tc := range overmountCases() {
			t.Run(tc.name, func(t *testing.T) {
				privateMountNS(t)
				resetCache(t)
				check := tc.attack(t)
				runOnEveryHandle(t, check)
			})
		}
	}, testutil.InUserNSRoot)
}

// runOnEveryHandle runs check on the default handle and on each rung, under
// every variant, on the calling (namespaced) thread.
func runOnEveryHandle(t *testing.T, check checkFunc) {
	logged := map[Rung]bool{}
	for _, v := range variants {
		restore := v.install()
		// The handle package functions would use here.
		if h, err := buildHandle(true); err != nil {
			t.Errorf("%s/default: no handle: %v", v.name, err)
		} else {
			check(t, v.name+"/default("+h.Rung().String()+")", h, true)
			_ = h.Close()
		}
		for _, r := range ladder {
			real := r == RungFsopen || r == RungOpenTree
			label := v.name + "/" + r.String()
			h, err := buildRung(r, false)
			switch {
			case err == nil:
				check(t, label, h, real)
				_ = h.Close()
			case !real && errors.Is(err, ErrUnsafeProcfs):
				// Refused while being built: as good as refusing the lookup.
			case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES), errors.Is(err, unix.EINVAL):
				if !logged[r] {
					t.Logf("%s rung unavailable here, not checked: %v", r, err)
					logged[r] = true
				}
			default:
				t.Errorf("%s: build: %v", label, err)
			}
		}
		restore()
	}
}

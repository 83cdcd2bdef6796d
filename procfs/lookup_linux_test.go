package procfs

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/testutil"
)

// fileID returns the device and inode of an open file.
func fileID(t testing.TB, fd int) [2]uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatalf("fstat %d: %v", fd, err)
	}
	return [2]uint64{st.Dev, st.Ino}
}

// pathID returns the device and inode of a path, following symlinks.
func pathID(t testing.TB, p string) [2]uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		t.Fatalf("stat %s: %v", p, err)
	}
	return [2]uint64{st.Dev, st.Ino}
}

// firstField reads f and returns its first space-separated field.
func firstField(t testing.TB, f *File) string {
	t.Helper()
	buf := make([]byte, 128)
	n, err := f.Read(buf)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatalf("read %s: %v", f.Name(), err)
	}
	field, _, _ := strings.Cut(string(buf[:n]), " ")
	return field
}

// lookupCase is one Open or OpenFollow call and its expected outcome.
type lookupCase struct {
	name    string
	base    Base
	subpath string
	flags   int
	follow  bool                            // OpenFollow instead of Open
	wantErr error                           // nil: success expected
	check   func(t *testing.T, f *File)     // property of the opened file
	skip    func() string                   // non-empty: skip with this reason
	setup   func(t *testing.T) (sub string) // computes the subpath when set
}

func lookupCases(t *testing.T) []lookupCase {
	pid := strconv.Itoa(os.Getpid())
	tmp := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(tmp, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	isLink := func(t *testing.T, f *File) {
		var st unix.Stat_t
		if err := unix.Fstat(int(f.Fd()), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFLNK {
			t.Errorf("%s: mode %#o (err %v), want a symlink", f.Name(), st.Mode, err)
		}
	}
	openTmp := func(t *testing.T) string {
		g, err := os.Open(tmp)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = g.Close() })
		return "fd/" + strconv.Itoa(int(g.Fd()))
	}
	notRoot := func() string {
		if _, err := os.Readlink("/proc/1/exe"); err != nil {
			return "pid 1 is not ptraceable here (" + err.Error() + "), and hidepid=ptraceable hides it"
		}
		return ""
	}
	return []lookupCase{
		{name: "self-stat", base: ProcSelf, subpath: "stat", check: func(t *testing.T, f *File) {
			if got := firstField(t, f); got != pid {
				t.Errorf("self/stat pid: got %q, want %s", got, pid)
			}
		}},
		{name: "thread-self-stat", base: ProcThreadSelf, subpath: "stat", check: func(t *testing.T, f *File) {
			// The file holds the thread locked, so gettid is its thread.
			if got, want := firstField(t, f), strconv.Itoa(unix.Gettid()); got != want {
				t.Errorf("thread-self/stat tid: got %q, want %s", got, want)
			}
		}},
		{name: "pid-stat", base: ProcPid(os.Getpid()), subpath: "stat", check: func(t *testing.T, f *File) {
			if got := firstField(t, f); got != pid {
				t.Errorf("%s/stat pid: got %q", pid, got)
			}
		}},
		{name: "pid1-stat", base: ProcPid(1), subpath: "stat", skip: notRoot, check: func(t *testing.T, f *File) {
			if got := firstField(t, f); got != "1" {
				t.Errorf("1/stat pid: got %q, want 1", got)
			}
		}},
		{name: "self-dir", base: ProcSelf, flags: unix.O_DIRECTORY, check: func(t *testing.T, f *File) {
			names, err := f.Readdirnames(-1)
			if err != nil || !strings.Contains(" "+strings.Join(names, " ")+" ", " status ") {
				t.Errorf("self/ listing lacks status: %v %v", names, err)
			}
		}},
		{name: "root-sysctl-unmasked-retry", base: ProcRoot, subpath: "sys/kernel/ostype", check: func(t *testing.T, f *File) {
			if got := firstField(t, f); got != "Linux\n" {
				t.Errorf("sys/kernel/ostype: got %q, want Linux", got)
			}
		}},
		{name: "root-self-link-opath", base: ProcRoot, subpath: "self", flags: unix.O_PATH, check: isLink},
		{name: "root-self-link-nofollow", base: ProcRoot, subpath: "self", wantErr: unix.ELOOP},
		{name: "exe-nofollow", base: ProcSelf, subpath: "exe", wantErr: unix.ELOOP},
		{name: "exe-opath", base: ProcSelf, subpath: "exe", flags: unix.O_PATH, check: isLink},
		{name: "magic-intermediate", base: ProcSelf, subpath: "cwd/" + filepath.Base(tmp), wantErr: unix.ELOOP},
		{name: "magic-intermediate-follow", base: ProcSelf, subpath: "root/etc/passwd", follow: true, wantErr: unix.ELOOP},
		{name: "trailing-slash-file", base: ProcSelf, subpath: "status/", wantErr: unix.ENOTDIR},
		{name: "missing", base: ProcSelf, subpath: "no-such-file", wantErr: unix.ENOENT},
		{name: "root-missing-after-retry", base: ProcRoot, subpath: "no-such-file", wantErr: unix.ENOENT},
		{name: "dotdot", base: ProcSelf, subpath: "../1/environ", wantErr: unix.EINVAL},
		{name: "dotdot-late", base: ProcSelf, subpath: "task/..", wantErr: unix.EINVAL},
		{name: "absolute", base: ProcSelf, subpath: "/etc/passwd", wantErr: unix.EINVAL},
		{name: "nul", base: ProcSelf, subpath: "sta\x00tus", wantErr: unix.EINVAL},
		{name: "too-long", base: ProcSelf, subpath: strings.Repeat("a/", 2100), wantErr: unix.ENAMETOOLONG},
		{name: "o-creat", base: ProcSelf, subpath: "status", flags: unix.O_CREAT, wantErr: unix.EINVAL},
		{name: "o-tmpfile", base: ProcSelf, subpath: "", flags: unix.O_TMPFILE | unix.O_RDWR, wantErr: unix.EINVAL},
		{name: "invalid-base", base: ProcPid(0), subpath: "stat", wantErr: unix.EINVAL},
		{name: "follow-exe", base: ProcSelf, subpath: "exe", follow: true, check: func(t *testing.T, f *File) {
			exe, _ := os.Executable()
			if fileID(t, int(f.Fd())) != pathID(t, exe) {
				t.Errorf("OpenFollow self/exe is not %s", exe)
			}
		}},
		{name: "follow-fd", base: ProcSelf, setup: openTmp, follow: true, check: func(t *testing.T, f *File) {
			if fileID(t, int(f.Fd())) != pathID(t, tmp) {
				t.Errorf("OpenFollow %s is not %s", f.Name(), tmp)
			}
		}},
		{name: "follow-cwd-slash", base: ProcSelf, subpath: "cwd/", follow: true, check: func(t *testing.T, f *File) {
			if fileID(t, int(f.Fd())) != pathID(t, ".") {
				t.Errorf("OpenFollow self/cwd/ is not the working directory")
			}
		}},
		{name: "follow-plain-symlink", base: ProcRoot, subpath: "self", follow: true, flags: unix.O_DIRECTORY, check: func(t *testing.T, f *File) {
			if got, err := Readlink(ProcRoot, "self"); err != nil || filepath.Base(f.Name()) == "" || got != pid {
				t.Errorf("self: %q %v", got, err)
			}
			if fileID(t, int(f.Fd()))[1] == 1 {
				t.Errorf("OpenFollow self gave the procfs root")
			}
		}},
		{name: "follow-mounts", base: ProcRoot, subpath: "mounts", follow: true, check: func(t *testing.T, f *File) {
			data, err := io.ReadAll(f)
			if err != nil || !strings.Contains(string(data), " / ") {
				t.Errorf("mounts has no root entry: %v", err)
			}
		}},
	}
}

// TestOpen runs the lookup cases through the package functions under every
// resolver and mount-id variant.
func TestOpen(t *testing.T) {
	forEachVariant(t, func(t *testing.T) {
		for _, tc := range lookupCases(t) {
			t.Run(tc.name, func(t *testing.T) {
				if tc.skip != nil {
					if why := tc.skip(); why != "" {
						t.Skip(why)
					}
				}
				sub := tc.subpath
				if tc.setup != nil {
					sub = tc.setup(t)
				}
				open := Open
				if tc.follow {
					open = OpenFollow
				}
				f, err := open(tc.base, sub, tc.flags)
				if tc.wantErr != nil {
					if !errors.Is(err, tc.wantErr) {
						t.Fatalf("open %s: got err %v, want %v", tc.base.display(sub), err, tc.wantErr)
					}
					if _, ok := errors.AsType[*os.PathError](err); !ok {
						t.Errorf("open %s: error %T is not *os.PathError", tc.base.display(sub), err)
					}
					return
				}
				if err != nil {
					t.Fatalf("open %s: %v", tc.base.display(sub), err)
				}
				defer f.Close()
				if fl, _ := unix.FcntlInt(f.Fd(), unix.F_GETFD, 0); fl&unix.FD_CLOEXEC == 0 {
					t.Errorf("%s is not close-on-exec", f.Name())
				}
				tc.check(t, f)
			})
		}
	})
}

func TestReadlink(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(t.TempDir(), "f")
	g, err := os.Create(tmp)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	forEachVariant(t, func(t *testing.T) {
		for _, tc := range []struct {
			base    Base
			subpath string
			want    string // exact target; "" with wantErr
			prefix  bool   // want is a prefix
			wantErr error
		}{
			{ProcSelf, "exe", exe, false, nil},
			{ProcRoot, "self", strconv.Itoa(os.Getpid()), false, nil},
			{ProcSelf, "fd/" + strconv.Itoa(int(g.Fd())), tmp, false, nil},
			{ProcThreadSelf, "ns/mnt", "mnt:[", true, nil},
			{ProcSelf, "status", "", false, unix.EINVAL},
			{ProcSelf, "no-such-link", "", false, unix.ENOENT},
			{ProcSelf, "../self", "", false, unix.EINVAL},
		} {
			got, err := Readlink(tc.base, tc.subpath)
			switch {
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("Readlink(%s): got %q, err %v; want err %v", tc.base.display(tc.subpath), got, err, tc.wantErr)
				}
			case err != nil:
				t.Errorf("Readlink(%s): %v", tc.base.display(tc.subpath), err)
			case tc.prefix && !strings.HasPrefix(got, tc.want), !tc.prefix && got != tc.want:
				t.Errorf("Readlink(%s): got %q, want %q", tc.base.display(tc.subpath), got, tc.want)
			}
		}
	})
}

// TestThreadSelfFallback pretends thread-self does not exist (Linux < 3.17):
// self/task/<tid> must be used, and name the same thread.
func TestThreadSelfFallback(t *testing.T) {
	swap(t, &threadSelfDir, func() string { return "thread-self-missing" })
	forEachVariant(t, func(t *testing.T) {
		f, err := Open(ProcThreadSelf, "stat", unix.O_RDONLY)
		if err != nil {
			t.Fatalf("Open thread-self/stat without thread-self: %v", err)
		}
		defer f.Close()
		if got, want := firstField(t, f), strconv.Itoa(unix.Gettid()); got != want {
			t.Errorf("fallback stat names thread %s, want %s", got, want)
		}
		if !strings.Contains(f.Name(), "/task/") {
			t.Errorf("fallback file name %q does not use self/task/<tid>", f.Name())
		}
		p, err := FdPath(int(f.Fd()))
		if err != nil || !strings.HasSuffix(p, "/stat") {
			t.Errorf("FdPath without thread-self: %q, %v", p, err)
		}
	})
}

func TestCheckSubpath(t *testing.T) {
	for _, tc := range []struct {
		subpath string
		want    error
	}{
		{"", nil},
		{"status", nil},
		{"fd/3/", nil},
		{"./attr//current", nil},
		{"..", unix.EINVAL},
		{"a/../b", unix.EINVAL},
		{"a/..", unix.EINVAL},
		{"/status", unix.EINVAL},
		{"a\x00", unix.EINVAL},
		{strings.Repeat("x", maxPathLen+1), unix.ENAMETOOLONG},
	} {
		if got := checkSubpath(tc.subpath); !errors.Is(got, tc.want) && got != tc.want {
			t.Errorf("checkSubpath(%.20q): got %v, want %v", tc.subpath, got, tc.want)
		}
	}
}

func TestMagicTarget(t *testing.T) {
	for _, tc := range []struct {
		target string
		want   bool
	}{
		{"1234", false},
		{"1234/task/1235", false},
		{"self/mounts", false},
		{"", true},
		{"/usr/bin/foo", true},
		{"pipe:[1234]", true},
		{"anon_inode:[eventfd]", true},
		{"anon_inode:inotify", true},
		{"mnt:[4026531841]", true},
	} {
		if got := magicTarget(tc.target); got != tc.want {
			t.Errorf("magicTarget(%q): got %t, want %t", tc.target, got, tc.want)
		}
	}
}

func TestSplitComponents(t *testing.T) {
	for _, tc := range []struct {
		in    string
		parts string // joined with "|"
		slash bool
	}{
		{"", "", false},
		{"self/status", "self|status", false},
		{"./a//b/./", "a|b", true},
		{"self/.", "self", true},
		{".", "", false},
		{"./", "", false},
		{"fd/3/", "fd|3", true},
	} {
		parts, slash := splitComponents(tc.in)
		if got := strings.Join(parts, "|"); got != tc.parts || slash != tc.slash {
			t.Errorf("splitComponents(%q): got %q %t, want %q %t", tc.in, got, slash, tc.parts, tc.slash)
		}
	}
}

// TestHidepidPtraceable checks that private instances hide processes this
// one may not ptrace, while the host /proc (mounted without hidepid) shows
// them.
func TestHidepidPtraceable(t *testing.T) {
	if _, err := os.Readlink("/proc/1/exe"); err == nil {
		t.Skip("pid 1 is ptraceable by this process: hidepid=ptraceable hides nothing to test")
	}
	testutil.RequireRoot(t)
	h := buildRungOrSkip(t, RungFsopen, true)
	if _, err := h.Open(ProcPid(1), "stat", unix.O_RDONLY); !errors.Is(err, unix.ENOENT) {
		t.Errorf("fsopen handle, pid 1 not ptraceable: got err %v, want ENOENT (hidden)", err)
	}
	host := buildRungOrSkip(t, RungHostProc, false)
	f, err := host.Open(ProcPid(1), "stat", unix.O_RDONLY)
	if err != nil {
		t.Fatalf("host handle: open 1/stat: %v", err)
	}
	defer f.Close()
	if got := firstField(t, f); got != "1" {
		t.Errorf("host 1/stat: got pid %q, want 1", got)
	}
}

func TestCheckOpenFlags(t *testing.T) {
	for _, tc := range []struct {
		in, want int
		err      error
	}{
		{unix.O_RDONLY, unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOCTTY, nil},
		{unix.O_WRONLY | unix.O_TRUNC, unix.O_WRONLY | unix.O_TRUNC | unix.O_CLOEXEC | unix.O_NOCTTY, nil},
		{unix.O_PATH | unix.O_RDWR | unix.O_NOFOLLOW, unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC, nil},
		{unix.O_PATH | unix.O_DIRECTORY, unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC, nil},
		{unix.O_RDWR | unix.O_CREAT, 0, unix.EINVAL},
		{unix.O_RDONLY | unix.O_EXCL, 0, unix.EINVAL},
		{unix.O_TMPFILE | unix.O_RDWR, 0, unix.EINVAL},
	} {
		got, err := checkOpenFlags(tc.in)
		if err != tc.err || (err == nil && got != tc.want) {
			t.Errorf("checkOpenFlags(%#o): got %#o, %v; want %#o, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

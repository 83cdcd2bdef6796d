package procfs

import (
	"errors"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseFdinfo(t *testing.T) {
	for _, tc := range []struct {
		name    string
		data    string
		mnt     uint64
		ino     uint64
		haveIno bool
		unsafe  bool // want ErrUnsafeProcfs
	}{
		{"kernel-6.x", "pos:\t0\nflags:\t02100000\nmnt_id:\t27\nino:\t611\n", 27, 611, true, false},
		{"kernel-5.8-no-ino", "pos:\t0\nflags:\t02100000\nmnt_id:\t27\n", 27, 0, false, false},
		{"epoll-extra-lines", "pos:\t0\nflags:\t02\nmnt_id:\t15\nino:\t1057\ntfd:        5 events:       19 data:                5  pos:0 ino:6f sdev:c\n", 15, 1057, true, false},
		{"no-mnt-id", "pos:\t0\nflags:\t02\nino:\t1\n", 0, 0, false, true},
		{"garbage-mnt-id", "mnt_id:\tx27\nino:\t1\n", 0, 0, false, true},
		{"garbage-ino", "mnt_id:\t27\nino:\t-1\n", 0, 0, false, true},
		{"repeated-mnt-id", "mnt_id:\t27\nmnt_id:\t28\n", 0, 0, false, true},
		{"empty", "", 0, 0, false, true},
	} {
		mnt, ino, haveIno, err := parseFdinfo([]byte(tc.data))
		if tc.unsafe {
			wantUnsafe(t, "parseFdinfo("+tc.name+")", err)
			continue
		}
		if err != nil || mnt != tc.mnt || ino != tc.ino || haveIno != tc.haveIno {
			t.Errorf("parseFdinfo(%s): got %d %d %t %v, want %d %d %t", tc.name, mnt, ino, haveIno, err, tc.mnt, tc.ino, tc.haveIno)
		}
	}
}

// TestFdinfoMountID reads mount ids from fdinfo, through openat2 and
// through the best-effort walk, and compares them with statx.
func TestFdinfoMountID(t *testing.T) {
	f, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stx unix.Statx_t
	if err := unix.Statx(int(f.Fd()), "", unix.AT_EMPTY_PATH, unix.STATX_MNT_ID|unix.STATX_INO, &stx); err != nil {
		t.Fatal(err)
	}
	if stx.Mask&unix.STATX_MNT_ID == 0 {
		t.Skip("statx gives no mount id on this kernel (< 5.8): nothing to compare with")
	}
	for _, v := range []variant{variants[0], variants[1]} {
		t.Run(v.name, func(t *testing.T) {
			v.apply(t)
			h, err := OpenHandle()
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			mnt, err := fdinfoMountID(h.fd, int(f.Fd()), stx.Ino)
			if err != nil {
				t.Fatalf("fdinfoMountID: %v", err)
			}
			if mnt.id != stx.Mnt_id || mnt.src != srcFdinfo {
				t.Errorf("fdinfoMountID: got %d (%s), statx says %d", mnt.id, mnt.src, stx.Mnt_id)
			}
			// An fdinfo whose ino line names another inode is refused.
			_, err = fdinfoMountID(h.fd, int(f.Fd()), stx.Ino+1)
			wantUnsafe(t, "fdinfoMountID with the wrong inode", err)
			// A closed fd has no fdinfo.
			if _, err := fdinfoMountID(h.fd, 1<<20, 0); !errors.Is(err, unix.ENOENT) {
				t.Errorf("fdinfoMountID of a closed fd: got err %v, want ENOENT", err)
			}
		})
	}
}

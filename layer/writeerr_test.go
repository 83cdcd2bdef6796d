package layer

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/safeunpack/safeunpack/internal/testutil"
	"github.com/safeunpack/safeunpack/pathrs"
)

// TestWriteErrorNamesEntry fills a 256 KiB tmpfs: the file data is written
// straight out of the stream's chunks (streamReader.sink), so a failing
// write must still come back as that entry's write error, ENOSPC and all,
// not as a read error or a short file reported as success.
func TestWriteErrorNamesEntry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, res pathrs.Resolver) {
		testutil.PrivateMountNS(t)
		dir := t.TempDir()
		if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=256k"); err != nil {
			t.Fatalf("mount tmpfs: %v", err)
		}
		t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
		// Spans several chunks, so the failure comes from a later write.
		big := strings.Repeat("x", 3*chunkSize+17)
		data := newTar(t).File("small", 0o644, "ok").File("big", 0o644, big).Bytes()
		_, err := applyTo(t, dir, res, data, Options{})
		var ee *EntryError
		if !errors.As(err, &ee) || ee.Entry != "big" {
			t.Fatalf("Apply = %v, want an *EntryError for entry big", err)
		}
		if !errors.Is(err, unix.ENOSPC) || !strings.Contains(err.Error(), "write") {
			t.Fatalf("Apply = %v, want a write error matching ENOSPC", err)
		}
	})
}

package layer_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/safeunpack/safeunpack/layer"
	"github.com/safeunpack/safeunpack/pathrs"
)

// Apply a small layer whose symlink points out of the rootfs: the file
// written through it lands inside the root.
func ExampleApply() {
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	uid, gid := os.Geteuid(), os.Getegid()
	for _, h := range []*tar.Header{
		{Typeflag: tar.TypeDir, Name: "etc/", Mode: 0o755, Uid: uid, Gid: gid},
		{Typeflag: tar.TypeSymlink, Name: "link", Linkname: "/etc", Uid: uid, Gid: gid},
		{Typeflag: tar.TypeReg, Name: "link/hostname", Mode: 0o644, Size: 4, Uid: uid, Gid: gid},
	} {
		if err := w.WriteHeader(h); err != nil {
			log.Fatal(err)
		}
	}
	if _, err := w.Write([]byte("box\n")); err != nil {
		log.Fatal(err)
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}

	dir, err := os.MkdirTemp("", "rootfs-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	root, err := pathrs.OpenRoot(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer root.Close()

	res, err := layer.Apply(context.Background(), root, &buf, layer.Options{MediaType: "application/vnd.oci.image.layer.v1.tar"})
	if err != nil {
		log.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "etc", "hostname"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d entries: %d dir, %d symlink, %d file\n", res.Entries, res.Counts.Dirs, res.Counts.Symlinks, res.Counts.Files)
	fmt.Printf("etc/hostname: %q\n", b)
	// Output:
	// 3 entries: 1 dir, 1 symlink, 1 file
	// etc/hostname: "box\n"
}

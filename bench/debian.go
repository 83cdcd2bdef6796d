//go:build linux

package main

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// debianVersion changes whenever buildDebian's output changes.
const debianVersion = 1

// buildDebian writes the Debian layer: a minbase rootfs made by mmdebstrap
// (cached in dir as mmdebstrap.tar), rewritten as an image builder would:
// names without "./", no root entry, no device nodes (images never ship
// them: runtimes mount /dev, and unpackers differ on mknod, e.g. rootless
// ones skip them), times rounded to seconds, xattrs kept.
func buildDebian(ctx context.Context, cfg *config, dir string, lw *layerWriter) error {
	src, err := ensureMmdebstrap(ctx, cfg, dir)
	if err != nil {
		return err
	}
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(bufio.NewReaderSize(ctxReader{ctx, f}, ioBufSize))
	buf := make([]byte, ioBufSize)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", src, err)
		}
		name := strings.TrimPrefix(hdr.Name, "./")
		if name == "" || name == "." || hdr.Typeflag == tar.TypeChar || hdr.Typeflag == tar.TypeBlock {
			continue
		}
		out := &tar.Header{
			Typeflag:   hdr.Typeflag,
			Name:       name,
			Linkname:   hdr.Linkname,
			Size:       hdr.Size,
			Mode:       hdr.Mode,
			Uid:        hdr.Uid,
			Gid:        hdr.Gid,
			ModTime:    hdr.ModTime.Truncate(time.Second),
			PAXRecords: xattrRecords(hdr.PAXRecords),
		}
		if hdr.Typeflag == tar.TypeLink {
			out.Linkname = strings.TrimPrefix(hdr.Linkname, "./")
		}
		if err := lw.WriteHeader(out); err != nil {
			return fmt.Errorf("writing %q: %w", name, err)
		}
		if out.Typeflag == tar.TypeReg {
			if _, err := io.CopyBuffer(lw, tr, buf); err != nil {
				return fmt.Errorf("copying %q: %w", name, err)
			}
		}
	}
}

// xattrRecords keeps the PAX records that carry xattrs (SCHILY.xattr.*);
// the writer derives every other record from the header fields.
func xattrRecords(recs map[string]string) map[string]string {
	var out map[string]string
	for k, v := range recs {
		if strings.HasPrefix(k, "SCHILY.xattr.") {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	return out
}

// ensureMmdebstrap builds dir/mmdebstrap.tar once; delete it to rebuild.
func ensureMmdebstrap(ctx context.Context, cfg *config, dir string) (string, error) {
	path := filepath.Join(dir, "mmdebstrap.tar")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if _, err := exec.LookPath("mmdebstrap"); err != nil {
		return "", fmt.Errorf("building the Debian rootfs: %w (apt-get install mmdebstrap)", err)
	}
	tmp := filepath.Join(dir, "mmdebstrap.tmp.tar")
	logf("building a Debian %s minbase rootfs with mmdebstrap (mirror %s)", cfg.suite, cfg.mirror)
	cmd := exec.CommandContext(ctx, "mmdebstrap", "--variant=minbase", "--format=tar", cfg.suite, tmp, cfg.mirror)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("mmdebstrap: %w", err)
	}
	return path, os.Rename(tmp, path)
}

package testutil

import (
	"archive/tar"
	"bytes"
	"fmt"
	"testing"
	"time"
)

// TarTime is the modification time TarBuilder gives entries by default.
var TarTime = time.Date(2020, 2, 2, 2, 2, 2, 0, time.UTC)

// TarBuilder writes a tar stream from Go test code (threats.md: generate
// hostile archives with archive/tar.Writer rather than commit binaries).
// Entries get TarTime, the owner in UID/GID, and PAX format when they need
// it (nanosecond times, xattrs, long names). Methods return the builder for
// chaining; write errors fail the test.
type TarBuilder struct {
	t   testing.TB
	buf bytes.Buffer
	w   *tar.Writer
	// UID and GID are the default owner of new entries.
	UID, GID int
	// ModTime is the default modification time of new entries.
	ModTime time.Time
}

// NewTarBuilder starts an archive whose entries are owned by uid:gid.
func NewTarBuilder(t testing.TB, uid, gid int) *TarBuilder {
	b := &TarBuilder{t: t, UID: uid, GID: gid, ModTime: TarTime}
	b.w = tar.NewWriter(&b.buf)
	return b
}

// Header writes hdr as is (after filling a zero ModTime and Format, except
// for PAX global headers, which may carry nothing else) and, for entries
// with data, body.
func (b *TarBuilder) Header(hdr *tar.Header, body []byte) *TarBuilder {
	b.t.Helper()
	if hdr.Typeflag != tar.TypeXGlobalHeader {
		if hdr.ModTime.IsZero() {
			hdr.ModTime = b.ModTime
		}
		if hdr.Format == tar.FormatUnknown {
			hdr.Format = tar.FormatPAX
		}
	}
	if err := b.w.WriteHeader(hdr); err != nil {
		b.t.Fatalf("tar header %q: %v", hdr.Name, err)
	}
	if len(body) > 0 {
		if _, err := b.w.Write(body); err != nil {
			b.t.Fatalf("tar body %q: %v", hdr.Name, err)
		}
	}
	return b
}

func (b *TarBuilder) hdr(typ byte, name string, mode int64) *tar.Header {
	return &tar.Header{Typeflag: typ, Name: name, Mode: mode, Uid: b.UID, Gid: b.GID, ModTime: b.ModTime}
}

// File adds a regular file with contents.
func (b *TarBuilder) File(name string, mode int64, contents string) *TarBuilder {
	b.t.Helper()
	h := b.hdr(tar.TypeReg, name, mode)
	h.Size = int64(len(contents))
	return b.Header(h, []byte(contents))
}

// Dir adds a directory.
func (b *TarBuilder) Dir(name string, mode int64) *TarBuilder {
	b.t.Helper()
	return b.Header(b.hdr(tar.TypeDir, name, mode), nil)
}

// Symlink adds name -> target.
func (b *TarBuilder) Symlink(name, target string) *TarBuilder {
	b.t.Helper()
	h := b.hdr(tar.TypeSymlink, name, 0o777)
	h.Linkname = target
	return b.Header(h, nil)
}

// Hardlink adds name as a hard link to target.
func (b *TarBuilder) Hardlink(name, target string) *TarBuilder {
	b.t.Helper()
	h := b.hdr(tar.TypeLink, name, 0o644)
	h.Linkname = target
	return b.Header(h, nil)
}

// Fifo adds a named pipe.
func (b *TarBuilder) Fifo(name string, mode int64) *TarBuilder {
	b.t.Helper()
	return b.Header(b.hdr(tar.TypeFifo, name, mode), nil)
}

// Char adds a character device.
func (b *TarBuilder) Char(name string, mode, major, minor int64) *TarBuilder {
	b.t.Helper()
	h := b.hdr(tar.TypeChar, name, mode)
	h.Devmajor, h.Devminor = major, minor
	return b.Header(h, nil)
}

// Block adds a block device.
func (b *TarBuilder) Block(name string, mode, major, minor int64) *TarBuilder {
	b.t.Helper()
	h := b.hdr(tar.TypeBlock, name, mode)
	h.Devmajor, h.Devminor = major, minor
	return b.Header(h, nil)
}

// Whiteout adds the empty regular file name (use ".wh."-prefixed names).
func (b *TarBuilder) Whiteout(name string) *TarBuilder {
	b.t.Helper()
	return b.File(name, 0o644, "")
}

// Raw appends bytes as they are (hand-made headers; see PatchTarHeader).
func (b *TarBuilder) Raw(p []byte) *TarBuilder {
	b.t.Helper()
	if err := b.w.Flush(); err != nil {
		b.t.Fatalf("tar flush: %v", err)
	}
	b.buf.Write(p)
	return b
}

// Bytes finishes the archive (end-of-archive blocks) and returns it.
func (b *TarBuilder) Bytes() []byte {
	b.t.Helper()
	if err := b.w.Close(); err != nil {
		b.t.Fatalf("tar close: %v", err)
	}
	return b.buf.Bytes()
}

// PatchTarHeader rewrites field [start, start+len(value)) of the 512-byte
// header block at off in archive (for example the name, bytes 0..99, or
// the type flag, byte 156) and recomputes the block's checksum, to build
// headers archive/tar's Writer refuses to write.
func PatchTarHeader(archive []byte, off, start int, value []byte) {
	blk := archive[off : off+512]
	copy(blk[start:], value)
	for i := 148; i < 156; i++ {
		blk[i] = ' '
	}
	sum := 0
	for _, c := range blk {
		sum += int(c)
	}
	copy(blk[148:], fmt.Sprintf("%06o\x00 ", sum))
}

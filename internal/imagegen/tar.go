package imagegen

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"path"
	"time"

	"github.com/klauspost/compress/zstd"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Epoch is the modification time of every generated entry that does not
// set its own.
var Epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// Entry is one tar entry: a header and, for regular files, its contents.
type Entry struct {
	Header tar.Header
	Body   []byte
}

// Dir is a directory entry.
func Dir(name string, mode int64, uid, gid int) Entry {
	return Entry{Header: tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, Uid: uid, Gid: gid}}
}

// File is a regular file entry.
func File(name string, mode int64, uid, gid int, body string) Entry {
	return Entry{Header: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Uid: uid, Gid: gid, Size: int64(len(body))}, Body: []byte(body)}
}

// BinFile is a regular file entry with binary contents.
func BinFile(name string, mode int64, uid, gid int, body []byte) Entry {
	return Entry{Header: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Uid: uid, Gid: gid, Size: int64(len(body))}, Body: body}
}

// Symlink is a symbolic link entry name -> target.
func Symlink(name, target string) Entry {
	return Entry{Header: tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777}}
}

// Hardlink is a hard link entry name to the earlier entry target; its mode
// is 0644 like the targets the generators link to (GNU tar records the
// target's mode, extractors ignore it).
func Hardlink(name, target string) Entry {
	return Entry{Header: tar.Header{Typeflag: tar.TypeLink, Name: name, Linkname: target, Mode: 0o644}}
}

// Char is a character device entry.
func Char(name string, mode int64, major, minor int64) Entry {
	return Entry{Header: tar.Header{Typeflag: tar.TypeChar, Name: name, Mode: mode, Devmajor: major, Devminor: minor}}
}

// Fifo is a FIFO entry.
func Fifo(name string, mode int64) Entry {
	return Entry{Header: tar.Header{Typeflag: tar.TypeFifo, Name: name, Mode: mode}}
}

// Whiteout removes name of dir from lower layers (an empty ".wh.name" file).
func Whiteout(dir, name string) Entry {
	return Entry{Header: tar.Header{Typeflag: tar.TypeReg, Name: path.Join(dir, ".wh."+name), Mode: 0o644}}
}

// Opaque hides everything lower layers put in dir (".wh..wh..opq").
func Opaque(dir string) Entry {
	return Entry{Header: tar.Header{Typeflag: tar.TypeReg, Name: path.Join(dir, ".wh..wh..opq"), Mode: 0o644}}
}

// WithXattr returns e with an extended attribute (a SCHILY.xattr PAX
// record).
func (e Entry) WithXattr(name, value string) Entry {
	recs := map[string]string{}
	for k, v := range e.Header.PAXRecords {
		recs[k] = v
	}
	recs["SCHILY.xattr."+name] = value
	e.Header.PAXRecords = recs
	e.Header.Format = tar.FormatPAX
	return e
}

// Tar writes entries as a tar stream. Entries without a ModTime get Epoch.
func Tar(entries []Entry) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.Header
		if h.ModTime.IsZero() {
			h.ModTime = Epoch
		}
		if err := tw.WriteHeader(&h); err != nil {
			return nil, fmt.Errorf("tar header %s: %w", h.Name, err)
		}
		if len(e.Body) > 0 {
			if _, err := tw.Write(e.Body); err != nil {
				return nil, fmt.Errorf("tar body %s: %w", h.Name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Compression of a generated layer.
type Compression int

const (
	// None is a plain tar.
	None Compression = iota
	// Gzip is gzip at the default level, without a name or time in the
	// gzip header.
	Gzip
	// Zstd is zstd at the default level, single-threaded.
	Zstd
)

// MediaType is the OCI layer media type for c.
func (c Compression) MediaType() string {
	switch c {
	case Gzip:
		return v1.MediaTypeImageLayerGzip
	case Zstd:
		return v1.MediaTypeImageLayerZstd
	}
	return v1.MediaTypeImageLayer
}

// Compress compresses data with c.
func Compress(data []byte, c Compression) ([]byte, error) {
	var buf bytes.Buffer
	switch c {
	case None:
		return data, nil
	case Gzip:
		zw, err := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
		if err != nil {
			return nil, err
		}
		if _, err := zw.Write(data); err != nil {
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
	case Zstd:
		zw, err := zstd.NewWriter(&buf, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedDefault))
		if err != nil {
			return nil, err
		}
		if _, err := zw.Write(data); err != nil {
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unknown compression %d", c)
	}
	return buf.Bytes(), nil
}

package layer

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// blobBufferSize is the read buffer in front of the blob: large reads keep
// the syscall count low for files and pipes, and gzip needs an
// io.ByteReader so that it never reads past a member's end.
const blobBufferSize = 256 << 10

// gunzipFunc is an external gzip decompressor ([Options.Gunzip]).
type gunzipFunc = func(io.Reader) (io.ReadCloser, error)

// decompressor is the uncompressed view of a blob plus whatever must be
// released afterwards.
type decompressor struct {
	r     io.Reader
	close func()
}

// openDecompressor chooses the decompressor for br (by comp, or by magic
// bytes for CompressionAuto) and returns it with the compression chosen.
func openDecompressor(br *bufio.Reader, comp Compression, lim Limits, gunzip gunzipFunc) (*decompressor, Compression, error) {
	if comp == CompressionAuto {
		head, err := br.Peek(magicLen)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, comp, err
		}
		if comp, err = detectCompression(head); err != nil {
			return nil, comp, err
		}
	}
	switch comp {
	case CompressionNone:
		return &decompressor{r: br, close: func() {}}, comp, nil
	case CompressionGzip:
		if gunzip != nil {
			rc, err := gunzip(br)
			if err != nil {
				return nil, comp, fmt.Errorf("starting the gzip decompressor: %w", err)
			}
			return &decompressor{r: rc, close: func() { _ = rc.Close() }}, comp, nil
		}
		// Multistream (the default): concatenated members are one stream,
		// as gzip(1) and every unpacker treat them. klauspost's inflate
		// has no recursion on empty members (CVE-2022-30631 class).
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, comp, decompressError(comp, lim, err)
		}
		return &decompressor{r: zr, close: func() { _ = zr.Close() }}, comp, nil
	case CompressionZstd:
		// One decoder goroutine-free stream (concurrency 1 decodes
		// synchronously and was fastest, performance.md), an explicit
		// window cap, and the same cap as the memory bound (for streams
		// klauspost applies WithDecoderMaxMemory to the window too).
		zr, err := zstd.NewReader(br,
			zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxWindow(lim.ZstdMaxWindow),
			zstd.WithDecoderMaxMemory(lim.ZstdMaxWindow),
		)
		if err != nil {
			return nil, comp, decompressError(comp, lim, err)
		}
		return &decompressor{r: zr, close: zr.Close}, comp, nil
	}
	return nil, comp, fmt.Errorf("%w: %s", ErrUnsupportedCompression, comp)
}

// decompressError classifies an error from a decompressor: a window larger
// than the limit is a LimitError, anything else about the data is an
// invalid archive.
func decompressError(comp Compression, lim Limits, err error) error {
	if errors.Is(err, zstd.ErrWindowSizeExceeded) || errors.Is(err, zstd.ErrDecoderSizeExceeded) {
		return &LimitError{Limit: "ZstdMaxWindow", Value: int64(lim.ZstdMaxWindow), Err: err}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: %s stream truncated: %w", ErrInvalidArchive, comp, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("%w: %s: %w", ErrInvalidArchive, comp, err)
}

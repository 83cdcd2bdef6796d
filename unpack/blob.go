package unpack

import (
	"context"
	_ "crypto/sha256" // registers sha256 for go-digest
	_ "crypto/sha512" // registers sha384 and sha512 for go-digest
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"strings"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

// MaxJSONSize caps every JSON document read from a layout: oci-layout,
// index.json, manifests, indexes and configs. Real ones are a few KiB (a
// config with a long history is rarely over 100 KiB; Docker Hub refuses
// manifests over 4 MiB), so 4 MiB never rejects a real image while keeping
// memory bounded against CVE-2023-25153-style unbounded reads. Larger
// documents fail with [ErrBlobTooLarge] before a byte is read.
const MaxJSONSize = 4 << 20

// blobPath is the layout-relative path of a blob. d must be validated.
func blobPath(d digest.Digest) string {
	return path.Join(v1.ImageBlobsDir, d.Algorithm().String(), d.Encoded())
}

// shortDigest abbreviates a digest for messages: "sha256:0123456789ab".
// It works on any string (go-digest's accessors panic on a digest without
// a ':').
func shortDigest(d digest.Digest) string {
	s := string(d)
	alg, enc, ok := strings.Cut(s, ":")
	if !ok || len(enc) <= 12 {
		return s
	}
	return alg + ":" + enc[:12]
}

// checkDescriptor validates a descriptor before it is used for any I/O:
// a well-formed digest of an available algorithm and a non-negative size.
func checkDescriptor(desc v1.Descriptor, what string) error {
	if err := desc.Digest.Validate(); err != nil {
		return fmt.Errorf("%w: %s descriptor has digest %q: %w", ErrInvalidLayout, what, desc.Digest, err)
	}
	if desc.Size < 0 {
		return fmt.Errorf("%w: %s %s: descriptor size %d is negative", ErrInvalidLayout, what, desc.Digest, desc.Size)
	}
	return nil
}

// openRegular opens name inside the layout without blocking on a FIFO and
// refuses anything but a regular file, returning the file and its size.
func (l *layout) openRegular(name string) (*os.File, int64, error) {
	f, err := l.root.OpenFile(name, os.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, 0, err
	}
	if !st.Mode().IsRegular() {
		_ = f.Close()
		return nil, 0, fmt.Errorf("%w: %s is not a regular file (%s)", ErrInvalidLayout, name, st.Mode().Type())
	}
	return f, st.Size(), nil
}

// openBlob opens the blob of desc for verified streaming. Before any byte is
// read it checks that the descriptor is well formed and that the file's size
// equals the descriptor's; a missing blob is [ErrNotFound]. what names the
// blob's role in messages ("layer 2/3", "config").
func (l *layout) openBlob(ctx context.Context, desc v1.Descriptor, what string) (*blobReader, error) {
	if err := checkDescriptor(desc, what); err != nil {
		return nil, err
	}
	name := blobPath(desc.Digest)
	f, size, err := l.openRegular(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s blob %s is missing from the layout (%s)", ErrNotFound, what, desc.Digest, name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s blob %s: %w", what, desc.Digest, err)
	}
	if size != desc.Size {
		_ = f.Close()
		return nil, fmt.Errorf("%w: %s blob %s: descriptor says %d bytes, file has %d", ErrSizeMismatch, what, desc.Digest, desc.Size, size)
	}
	return &blobReader{
		ctx:  ctx,
		f:    f,
		desc: desc,
		what: what,
		hash: desc.Digest.Algorithm().Hash(),
	}, nil
}

// statBlob checks that desc's blob is present with the right size, without
// reading it.
func (l *layout) statBlob(desc v1.Descriptor, what string) error {
	r, err := l.openBlob(context.Background(), desc, what)
	if err != nil {
		return err
	}
	return r.Close()
}

// blobReader streams a blob, hashing and counting as it goes. Read never
// returns more than the descriptor's size plus one byte; at the end of the
// file it returns an error wrapping [ErrSizeMismatch] or [ErrDigestMismatch]
// instead of io.EOF when the content is wrong. Only after Read has returned
// io.EOF is the content verified (see Verified). It also stops with the
// context's error once ctx is done.
type blobReader struct {
	ctx      context.Context //nolint:containedctx // checked on each Read so cancellation reaches a long copy
	f        *os.File
	desc     v1.Descriptor
	what     string
	hash     hash.Hash
	n        int64
	err      error
	verified bool
	// deferDigest skips hashing while reading: the caller checks the
	// digest itself (see deferDigestTo). At the end only the size is
	// checked and verified stays false.
	deferDigest bool
	// complete is set when the blob was read to its end at the right size.
	complete bool
}

// deferDigestTo makes the reader skip its own hash when the caller computes
// the same one anyway: an uncompressed layer's DiffID is the sha256 of
// exactly the blob's bytes, so hashing them twice would only halve the
// speed of plain layers (profiled: the second SHA-256 was a third of the
// CPU). It applies only to sha256 digests; the caller must then call
// checkDeferred with the digest it computed, or verifyFromStart on error.
func (b *blobReader) deferDigestTo() bool {
	if b.desc.Digest.Algorithm() != digest.SHA256 {
		return false
	}
	b.deferDigest = true
	return true
}

// checkDeferred compares the digest the caller computed over the whole blob
// with the descriptor's.
func (b *blobReader) checkDeferred(got digest.Digest) error {
	if !b.complete {
		return fmt.Errorf("%w: %s blob %s was not read to its end", ErrSizeMismatch, b.what, b.desc.Digest)
	}
	if got != b.desc.Digest {
		return fmt.Errorf("%w: %s blob %s: content hashes to %s", ErrDigestMismatch, b.what, b.desc.Digest, got)
	}
	b.verified = true
	return nil
}

// verifyFromStart hashes the blob file from its first byte, for the error
// path of a deferred digest: a tampered blob must be reported as a digest
// mismatch, not as whatever the corrupt content made the reader fail with.
func (b *blobReader) verifyFromStart() error {
	h := b.desc.Digest.Algorithm().Hash()
	sr := io.NewSectionReader(b.f, 0, b.desc.Size+1)
	n, err := io.Copy(h, sr)
	if err != nil {
		return fmt.Errorf("reading %s blob %s: %w", b.what, b.desc.Digest, err)
	}
	if n != b.desc.Size {
		return fmt.Errorf("%w: %s blob %s has %d bytes, its descriptor %d", ErrSizeMismatch, b.what, b.desc.Digest, n, b.desc.Size)
	}
	if got := digest.NewDigest(b.desc.Digest.Algorithm(), h); got != b.desc.Digest {
		return fmt.Errorf("%w: %s blob %s: content hashes to %s", ErrDigestMismatch, b.what, b.desc.Digest, got)
	}
	return nil
}

// Read implements io.Reader.
func (b *blobReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if err := b.ctx.Err(); err != nil {
		b.err = context.Cause(b.ctx)
		return 0, b.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if room := b.desc.Size - b.n + 1; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := b.f.Read(p)
	b.n += int64(n)
	if !b.deferDigest {
		b.hash.Write(p[:n])
	}
	switch {
	case b.n > b.desc.Size:
		b.err = fmt.Errorf("%w: %s blob %s is longer than its descriptor's %d bytes", ErrSizeMismatch, b.what, b.desc.Digest, b.desc.Size)
		return n, b.err
	case errors.Is(err, io.EOF):
		b.err = b.finish()
		return n, b.err
	case err != nil:
		b.err = fmt.Errorf("reading %s blob %s: %w", b.what, b.desc.Digest, err)
		return n, b.err
	}
	return n, nil
}

func (b *blobReader) finish() error {
	if b.n != b.desc.Size {
		return fmt.Errorf("%w: %s blob %s is truncated: %d of %d bytes", ErrSizeMismatch, b.what, b.desc.Digest, b.n, b.desc.Size)
	}
	b.complete = true
	if b.deferDigest {
		return io.EOF
	}
	got := digest.NewDigest(b.desc.Digest.Algorithm(), b.hash)
	if got != b.desc.Digest {
		return fmt.Errorf("%w: %s blob %s: content hashes to %s", ErrDigestMismatch, b.what, b.desc.Digest, got)
	}
	b.verified = true
	return io.EOF
}

// Drain reads what is left (bounded by the descriptor's size) so that the
// digest (or, when deferred, the size) is checked, and reports whether the
// blob verified.
func (b *blobReader) Drain() error {
	if b.verified || b.complete {
		return nil
	}
	buf := make([]byte, 32<<10)
	for {
		_, err := b.Read(buf)
		if errors.Is(err, io.EOF) && (b.verified || b.complete) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// Close closes the file.
func (b *blobReader) Close() error { return b.f.Close() }

// readJSON reads and decodes a JSON blob capped at MaxJSONSize, verifying
// its digest and size; the cap is checked against the descriptor before the
// file is opened.
func (l *layout) readJSON(ctx context.Context, desc v1.Descriptor, what string, v any) error {
	if err := checkDescriptor(desc, what); err != nil {
		return err
	}
	if desc.Size > MaxJSONSize {
		return fmt.Errorf("%w: %s %s is %d bytes, over the %d-byte cap for JSON documents", ErrBlobTooLarge, what, desc.Digest, desc.Size, MaxJSONSize)
	}
	r, err := l.openBlob(ctx, desc, what)
	if err != nil {
		return err
	}
	defer r.Close()
	buf := make([]byte, 0, desc.Size)
	buf, err = readAllInto(buf, r)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(buf, v); err != nil {
		return fmt.Errorf("%w: %s %s: %w", ErrInvalidLayout, what, desc.Digest, err)
	}
	return nil
}

// readAllInto appends r's content to buf until EOF; r must be bounded.
func readAllInto(buf []byte, r io.Reader) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

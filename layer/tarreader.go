package layer

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"slices"
)

// maxReusedHeaderBuffer bounds the buffer tarReader keeps between entries
// for PAX and GNU long-name headers: typical records (a long name, a few
// xattrs) fit; a rare huge one is not kept alive for the rest of the
// layer.
const maxReusedHeaderBuffer = 64 << 10

// maxMetaRecord is archive/tar's own cap on one PAX or GNU long-name
// record (maxSpecialFileSize, since CVE-2022-2879); a larger one is handed
// over for archive/tar to refuse.
const maxMetaRecord = 1 << 20

// maxSequence bounds the bytes tarReader.sequence holds for one entry,
// whatever Limits.MaxHeaderSize says: past it, archive/tar streams through
// the records itself.
const maxSequence = 8 << 20

// tarReader reads a tar stream with Next and Read like archive/tar's
// Reader and returns the same headers and data, faster:
//
//   - a plain ustar or GNU header block, the bulk of every layer, is
//     parsed by parseUSTAR;
//   - PAX extended headers and GNU long names and links are collected with
//     the block they describe, and archive/tar parses that copy alone;
//   - for anything else (the end of the archive, sparse files, PAX global
//     headers, other types, malformed or truncated input) the bytes read
//     for the entry are given back to the stream and archive/tar reads
//     the rest of the stream itself (handOver). It then sees exactly the
//     bytes it would have seen from the start.
//
// So archive/tar keeps deciding everything unusual, and the framing in
// between (data, padding, skipping) follows its rules: FuzzTarReader
// compares the two on arbitrary input.
type tarReader struct {
	sr  *streamReader
	lim Limits
	blk [blockSize]byte
	// remaining and pad are the current entry's unread data bytes and the
	// padding after them.
	remaining, pad int64
	// err is sticky, as in archive/tar: after a failure, or io.EOF, Next
	// and Read return it again.
	err error
	// slow is archive/tar's reader after the hand-over, else nil.
	slow *tar.Reader
	// hdrStart and hdrEnd delimit the last header read, PAX and GNU
	// records included: the offset of its first byte and the offset after
	// its last block.
	hdrStart, hdrEnd int64
	seq              []byte
}

func newTarReader(sr *streamReader, lim Limits) *tarReader {
	return &tarReader{sr: sr, lim: lim}
}

// Next advances to the next entry and returns its header; io.EOF at the
// end of the archive.
func (t *tarReader) Next() (*tar.Header, error) {
	if t.slow != nil {
		return t.slowNext()
	}
	if t.err != nil {
		return nil, t.err
	}
	hdr, err := t.next()
	if err != nil && t.slow == nil {
		t.err = err
	}
	return hdr, err
}

func (t *tarReader) next() (*tar.Header, error) {
	if err := t.skipRest(); err != nil {
		return nil, err
	}
	t.hdrStart = t.sr.pos
	if n, err := t.readBlock(); n < blockSize {
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		return t.handOver(t.blk[:n])
	}
	if hdr, ok := parseUSTAR(&t.blk); ok {
		t.hdrEnd = t.sr.pos
		t.setData(hdr)
		return hdr, nil
	}
	if isMetaHeader(&t.blk) {
		return t.sequence()
	}
	return t.handOver(t.blk[:])
}

// sequence reads the PAX and GNU records starting at t.blk and the header
// block they describe, and has archive/tar parse a copy of those bytes.
func (t *tarReader) sequence() (*tar.Header, error) {
	seq := append(t.seq[:0], t.blk[:]...)
	for isMetaHeader(&t.blk) {
		size, ok := octal(t.blk[ustarSize : ustarSize+12])
		padded := (size + blockSize - 1) / blockSize * blockSize
		// Beyond MaxHeaderSize archive/tar reads the records, each capped
		// at 1 MiB, and the entry reader then reports the limit.
		total := int64(len(seq)) + padded + blockSize
		if !ok || size > maxMetaRecord || total > t.lim.MaxHeaderSize || total > maxSequence {
			return t.handOver(seq)
		}
		start := len(seq)
		seq = slices.Grow(seq, int(padded)+blockSize)[:start+int(padded)+blockSize]
		n, err := readFull(t.sr, seq[start:])
		if n < len(seq)-start {
			if err != nil && !errors.Is(err, io.EOF) {
				return nil, err
			}
			return t.handOver(seq[:start+n])
		}
		copy(t.blk[:], seq[len(seq)-blockSize:])
	}
	if _, ok := plainType(t.blk[ustarTypeflag]); !ok || bytes.Contains(seq, []byte("GNU.sparse")) {
		return t.handOver(seq)
	}
	in := bytes.NewReader(seq)
	hdr, err := nextAnyName(tar.NewReader(in))
	if err != nil || in.Len() != 0 {
		// Let archive/tar fail (or do what it does) on the stream itself.
		return t.handOver(seq)
	}
	if cap(seq) <= maxReusedHeaderBuffer {
		t.seq = seq
	}
	t.hdrEnd = t.sr.pos
	t.setData(hdr)
	return hdr, nil
}

// plainType reports whether typeflag is one parseUSTAR handles, and
// whether entries of that type have data in the archive (as archive/tar's
// isHeaderOnlyType, inverted).
func plainType(typeflag byte) (hasData, ok bool) {
	switch typeflag {
	case tar.TypeReg, typeRegA:
		return true, true
	case tar.TypeLink, tar.TypeSymlink, tar.TypeChar, tar.TypeBlock, tar.TypeDir, tar.TypeFifo:
		return false, true
	}
	return false, false
}

// setData sets up reading the data of the entry hdr describes.
func (t *tarReader) setData(hdr *tar.Header) {
	t.remaining = 0
	if hasData, _ := plainType(hdr.Typeflag); hasData {
		t.remaining = hdr.Size
	}
	t.pad = -t.remaining & (blockSize - 1)
}

// skipRest skips the data the caller left unread and the padding after it,
// as archive/tar does at the start of Next: a stream that ends inside the
// data is truncated, one that ends inside the padding is not.
func (t *tarReader) skipRest() error {
	if t.remaining > 0 {
		n := t.remaining
		t.remaining = 0
		if _, err := t.sr.Seek(n, io.SeekCurrent); err != nil {
			return err
		}
	}
	if t.pad > 0 {
		n := t.pad
		t.pad = 0
		if m, err := readFull(t.sr, t.blk[:n]); int64(m) < n {
			if err == nil {
				err = io.ErrNoProgress
			}
			return err
		}
	}
	return nil
}

// readBlock reads the next block into t.blk; n < blockSize at the end of
// the stream or on an error.
func (t *tarReader) readBlock() (int, error) {
	return readFull(t.sr, t.blk[:])
}

// handOver gives read back to the stream and lets archive/tar read
// everything from there on, starting with this entry.
func (t *tarReader) handOver(read []byte) (*tar.Header, error) {
	t.sr.unread(bytes.Clone(read))
	t.seq = nil
	t.slow = tar.NewReader(t.sr)
	return t.slowNext()
}

// slowNext is Next after the hand-over. Header bounds come from the
// stream position: archive/tar first skipped what the previous entry left
// unread (through streamReader.Seek to the last byte, then reading it),
// then the padding, so the headers started at the first block boundary
// after that.
func (t *tarReader) slowNext() (*tar.Header, error) {
	start := t.sr.pos
	t.sr.skipped = 0
	hdr, err := nextAnyName(t.slow)
	if err != nil {
		return nil, err
	}
	dataEnd := start
	if t.sr.skipped > 0 {
		dataEnd += t.sr.skipped + 1
	}
	t.hdrStart = (dataEnd + blockSize - 1) / blockSize * blockSize
	t.hdrEnd = t.sr.pos
	return hdr, nil
}

// Read reads the current entry's data, as archive/tar's Reader.Read.
func (t *tarReader) Read(p []byte) (int, error) {
	if t.slow != nil {
		return t.slow.Read(p)
	}
	if t.err != nil {
		return 0, t.err
	}
	if int64(len(p)) > t.remaining {
		p = p[:t.remaining]
	}
	var n int
	var err error
	if len(p) > 0 {
		n, err = t.sr.Read(p)
		t.remaining -= int64(n)
	}
	// Compared with ==, as archive/tar does.
	switch {
	case err == io.EOF && t.remaining > 0:
		err = io.ErrUnexpectedEOF
	case err == nil && t.remaining == 0:
		err = io.EOF
	}
	if err != nil && err != io.EOF {
		t.err = err
	}
	return n, err
}

// nextAnyName is tr.Next, except that a name archive/tar calls insecure is
// not an error: with GODEBUG=tarinsecurepath=0 it returns ErrInsecurePath
// along with the header of an absolute or ".." name. Cleaning names is
// layer's job (names.go), for every entry alike; parseUSTAR never makes
// that check, so without this the same name would apply or fail depending
// on which path read its header.
func nextAnyName(tr *tar.Reader) (*tar.Header, error) {
	hdr, err := tr.Next()
	if hdr != nil && errors.Is(err, tar.ErrInsecurePath) {
		err = nil
	}
	return hdr, err
}

package layer

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"math/bits"
	"strings"
	"time"
)

// Offsets of the header block fields parseUSTAR reads (POSIX ustar, and
// the GNU format's variant of it).
const (
	ustarName     = 0   // [0:100]
	ustarMode     = 100 // [100:108]
	ustarUID      = 108 // [108:116]
	ustarGID      = 116 // [116:124]
	ustarSize     = 124 // [124:136]
	ustarMtime    = 136 // [136:148]
	ustarChksum   = 148 // [148:156]
	ustarTypeflag = 156
	ustarLinkname = 157 // [157:257]
	ustarMagic    = 257 // [257:263]
	ustarVersion  = 263 // [263:265]
	ustarUname    = 265 // [265:297]
	ustarGname    = 297 // [297:329]
	ustarDevmajor = 329 // [329:337]
	ustarDevminor = 337 // [337:345]
	ustarPrefix   = 345 // [345:500]; the GNU format has atime here
	gnuAtime      = 345 // [345:357]
	gnuCtime      = 357 // [357:369]
	starTrailer   = 508 // [508:512]
)

// typeRegA is the pre-POSIX typeflag of a regular file, NUL
// (tar.TypeRegA, deprecated because archive/tar maps it on reading).
const typeRegA = '\x00'

// parseUSTAR parses one header block the way archive/tar's Reader.Next
// does, for the blocks that make up nearly every layer: the ustar or GNU
// format, a valid checksum, a plain entry type (file, hard link, symlink,
// device, directory, FIFO) and every number in canonical octal. For any
// other block ok is false and archive/tar parses it (tarReader.handOver).
//
// Within that subset the header is field for field the one archive/tar
// returns, FuzzTarReader checks it, except Format, which layer never
// reads: archive/tar spends about 0.9 us per block decoding it as UTF-8
// only to decide whether the format is "unknown" (docs/performance.md).
func parseUSTAR(blk *[blockSize]byte) (hdr *tar.Header, ok bool) {
	// The type first: a PAX or GNU record header is declined here
	// without summing it, since isMetaHeader checks its sum next.
	typeflag := blk[ustarTypeflag]
	if _, ok := plainType(typeflag); !ok {
		return nil, false
	}
	if !checksumOK(blk) {
		return nil, false
	}
	format := tar.FormatUSTAR
	switch {
	case string(blk[ustarMagic:ustarMagic+6]) == "ustar\x00":
		if string(blk[starTrailer:]) == "tar\x00" {
			return nil, false // the STAR format: other fields at 345
		}
	case string(blk[ustarMagic:ustarMagic+6]) == "ustar " && string(blk[ustarVersion:ustarVersion+2]) == " \x00":
		format = tar.FormatGNU
		if blk[gnuAtime] != 0 || blk[gnuCtime] != 0 {
			return nil, false
		}
	default:
		return nil, false // V7 or unknown
	}
	var nums [7]int64
	for i, f := range [7][2]int{
		{ustarSize, 12}, {ustarMode, 8}, {ustarUID, 8}, {ustarGID, 8},
		{ustarMtime, 12}, {ustarDevmajor, 8}, {ustarDevminor, 8},
	} {
		v, ok := octal(blk[f[0] : f[0]+f[1]])
		if !ok {
			return nil, false
		}
		nums[i] = v
	}
	name := cString(blk[ustarName : ustarName+100])
	if format == tar.FormatUSTAR {
		if prefix := cString(blk[ustarPrefix:500]); prefix != "" {
			name = prefix + "/" + name
		}
	}
	if typeflag == typeRegA {
		// As archive/tar: the old "regular file" type, a directory when
		// the name ends in a slash.
		typeflag = tar.TypeReg
		if strings.HasSuffix(name, "/") {
			typeflag = tar.TypeDir
		}
	}
	return &tar.Header{
		Typeflag: typeflag,
		Name:     name,
		Linkname: cString(blk[ustarLinkname : ustarLinkname+100]),
		Size:     nums[0],
		Mode:     nums[1],
		Uid:      int(nums[2]),
		Gid:      int(nums[3]),
		Uname:    cString(blk[ustarUname : ustarUname+32]),
		Gname:    cString(blk[ustarGname : ustarGname+32]),
		ModTime:  time.Unix(nums[4], 0),
		Devmajor: nums[5],
		Devminor: nums[6],
		Format:   format,
	}, true
}

// isMetaHeader reports whether blk is a well-formed PAX extended header or
// GNU long name or long link header: records about the entry that
// follows, which tarReader.sequence collects for archive/tar to merge.
func isMetaHeader(blk *[blockSize]byte) bool {
	switch blk[ustarTypeflag] {
	case tar.TypeXHeader, tar.TypeGNULongName, tar.TypeGNULongLink:
	default:
		return false
	}
	magic := string(blk[ustarMagic : ustarMagic+6])
	return (magic == "ustar\x00" || magic == "ustar ") && checksumOK(blk)
}

// checksumOK reports whether the checksum field holds, in canonical
// octal, the sum of the block's bytes with the field itself counted as
// spaces, either unsigned or (as some old tars wrote it) signed.
func checksumOK(blk *[blockSize]byte) bool {
	want, ok := octal(blk[ustarChksum : ustarChksum+8])
	if !ok {
		return false
	}
	// Eight bytes at a time: the bytes are summed pairwise into 16-bit
	// lanes (64 words of at most 2*255 per lane stay under 65536), and
	// the bytes >= 0x80 counted for the signed sum. The checksum field
	// (not word-aligned) is then swapped for eight spaces.
	var lanes, high uint64
	for i := 0; i < blockSize; i += 8 {
		w := binary.LittleEndian.Uint64(blk[i:])
		lanes += w&0x00ff00ff00ff00ff + (w>>8)&0x00ff00ff00ff00ff
		high += uint64(bits.OnesCount64(w & 0x8080808080808080))
	}
	unsigned := int64(lanes&0xffff + (lanes>>16)&0xffff + (lanes>>32)&0xffff + lanes>>48)
	for _, c := range blk[ustarChksum : ustarChksum+8] {
		unsigned += ' ' - int64(c)
		if c >= 0x80 {
			high--
		}
	}
	signed := unsigned - 256*int64(high)
	return want == unsigned || want == signed
}

// octal parses a numeric field in the canonical form: octal digits,
// optionally surrounded by spaces and NULs (empty means 0). ok is false
// for anything else (base-256, a NUL inside the digits, ...), which
// archive/tar's more liberal parser then handles. Fields are at most 12
// bytes, so the value cannot overflow.
func octal(b []byte) (v int64, ok bool) {
	b = trimPadding(b)
	for _, c := range b {
		if c < '0' || c > '7' {
			return 0, false
		}
		v = v<<3 | int64(c-'0')
	}
	return v, true
}

// trimPadding trims spaces and NULs from both ends of b, as
// bytes.Trim(b, " \x00") does.
func trimPadding(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == 0) {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == 0) {
		b = b[:len(b)-1]
	}
	return b
}

// cString returns b up to its first NUL.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return string(b[:i])
	}
	return string(b)
}

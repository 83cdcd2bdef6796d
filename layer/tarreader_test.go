package layer

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

// tarEvent is one step of reading an archive: a header, the data read
// for it, or the error that ended the walk.
type tarEvent struct {
	hdr  *tar.Header
	data string
	err  error
}

func (e tarEvent) String() string {
	if e.hdr != nil {
		return fmt.Sprintf("hdr %+v data %q", *e.hdr, e.data)
	}
	return fmt.Sprintf("err %v", e.err)
}

// maxWalkEntries bounds walks of fuzzed archives (a small input can hold
// thousands of empty entries).
const maxWalkEntries = 512

// maxWalkData bounds the data read per entry: a sparse entry can declare
// terabytes of holes, which both readers would synthesise.
const maxWalkData = 64 << 10

// walkTar reads an archive the way the applier does, except that it reads
// all, a part or none of each entry's data (by entry number), so that the
// skipping of unread data is compared too.
func walkTar(next func() (*tar.Header, error), read func([]byte) (int, error)) []tarEvent {
	var out []tarEvent
	buf := make([]byte, 4096)
	for i := 0; i < maxWalkEntries; i++ {
		hdr, err := next()
		if err != nil {
			return append(out, tarEvent{err: err})
		}
		h := *hdr
		h.Format = tar.FormatUnknown // parseUSTAR does not compute it
		if h.Typeflag == tar.TypeXGlobalHeader {
			// archive/tar merges a global header's records in map order and
			// stops at the first bad one, so with a bad record its Name,
			// Xattrs and PAXRecords differ from run to run. The applier
			// ignores global headers; what follows them is still compared.
			h = tar.Header{Typeflag: h.Typeflag}
		}
		ev := tarEvent{hdr: &h}
		var data []byte
		switch i % 3 {
		case 0: // everything, up to maxWalkData
			for len(data) < maxWalkData {
				n, err := read(buf)
				data = append(data, buf[:n]...)
				if err != nil {
					if !errors.Is(err, io.EOF) {
						ev.err = err
					}
					break
				}
			}
		case 1: // a few bytes
			n, err := read(buf[:7])
			data = append(data, buf[:n]...)
			if err != nil && !errors.Is(err, io.EOF) {
				ev.err = err
			}
		}
		ev.data = string(data)
		out = append(out, ev)
		if ev.err != nil {
			return out
		}
	}
	return out
}

// tarReaderFor runs the stream over data and returns the tarReader on it
// and a function that stops the stream.
func tarReaderFor(t testing.TB, data []byte, lim Limits) (*tarReader, func()) {
	lim, err := lim.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	s := startStream(context.Background(), bytes.NewReader(data), CompressionNone, lim, nil)
	sr := &streamReader{s: s}
	return newTarReader(sr, lim), func() {
		sr.release()
		s.stopAndWait()
	}
}

// sameTarEvents compares two walks: headers and data exactly; errors by
// identity for the sentinels both readers share, and otherwise only as
// "some error" (a stream error is wrapped differently by the two).
func sameTarEvents(t *testing.T, want, got []tarEvent) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("%d events, archive/tar has %d:\ngot  %v\nwant %v", len(got), len(want), got, want)
	}
	for i := range want {
		w, g := want[i], got[i]
		if !reflect.DeepEqual(w.hdr, g.hdr) || w.data != g.data {
			t.Fatalf("event %d:\ngot  %v\nwant %v", i, g, w)
		}
		for _, sentinel := range []error{io.EOF, io.ErrUnexpectedEOF, tar.ErrHeader, tar.ErrFieldTooLong} {
			if errors.Is(w.err, sentinel) != errors.Is(g.err, sentinel) {
				t.Fatalf("event %d: error %v, archive/tar says %v", i, g.err, w.err)
			}
		}
		if (w.err == nil) != (g.err == nil) {
			t.Fatalf("event %d: error %v, archive/tar says %v", i, g.err, w.err)
		}
	}
}

// compareWithArchiveTar walks data with archive/tar and with tarReader and
// requires the same headers, data and errors; it returns tarReader, for
// checks of the path it took.
func compareWithArchiveTar(t *testing.T, data []byte, lim Limits) *tarReader {
	t.Helper()
	want := func() []tarEvent {
		tr := tar.NewReader(bytes.NewReader(data))
		return walkTar(tr.Next, tr.Read)
	}()
	tr, stop := tarReaderFor(t, data, lim)
	defer stop()
	got := walkTar(tr.Next, tr.Read)
	sameTarEvents(t, want, got)
	return tr
}

// tarReaderSeeds are archives for every path of tarReader: plain ustar and
// GNU headers, PAX and GNU long-name records, and what is handed over
// (sparse files, global headers, V7 and odd numbers).
func tarReaderSeeds(t testing.TB) map[string][]byte {
	long := strings.Repeat("long/", 30) + "name"
	mtime := time.Unix(1700000000, 0)
	build := func(hdrs ...*tar.Header) []byte {
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		for _, h := range hdrs {
			if err := tw.WriteHeader(h); err != nil {
				t.Fatal(err)
			}
			if h.Typeflag == tar.TypeReg {
				if _, err := tw.Write(bytes.Repeat([]byte{'x'}, int(h.Size))); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	file := func(name string, size int64, format tar.Format) *tar.Header {
		return &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o644, Uid: 1000, Gid: 100,
			Uname: "user", Gname: "users", ModTime: mtime, Format: format}
	}
	seeds := map[string][]byte{
		"ustar": build(
			&tar.Header{Typeflag: tar.TypeDir, Name: "d/", Mode: 0o755, ModTime: mtime},
			file("d/a", 1000, tar.FormatUSTAR), file("d/empty", 0, tar.FormatUSTAR),
			&tar.Header{Typeflag: tar.TypeSymlink, Name: "d/s", Linkname: "a", ModTime: mtime},
			&tar.Header{Typeflag: tar.TypeLink, Name: "d/h", Linkname: "d/a", ModTime: mtime},
			&tar.Header{Typeflag: tar.TypeChar, Name: "d/c", Devmajor: 1, Devminor: 3, ModTime: mtime},
			&tar.Header{Typeflag: tar.TypeFifo, Name: "d/f", ModTime: mtime},
			file(strings.Repeat("p", 120)+"/"+strings.Repeat("n", 90), 512, tar.FormatUSTAR), // prefix
		),
		"gnu": build(file("g/a", 513, tar.FormatGNU), file(long, 3, tar.FormatGNU),
			&tar.Header{Typeflag: tar.TypeSymlink, Name: "g/s", Linkname: long, ModTime: mtime, Format: tar.FormatGNU}),
		"pax": build(file(long, 5, tar.FormatPAX), file("x", 1, tar.FormatPAX),
			&tar.Header{Typeflag: tar.TypeReg, Name: "caps", ModTime: mtime, Format: tar.FormatPAX,
				PAXRecords: map[string]string{"SCHILY.xattr.security.capability": "\x01\x00\x00\x02"}},
			&tar.Header{Typeflag: tar.TypeReg, Name: "frac", ModTime: mtime.Add(time.Millisecond), Format: tar.FormatPAX}),
		"global": build(&tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "g", PAXRecords: map[string]string{"comment": "c"}},
			file("after-global", 10, tar.FormatUSTAR)),
		"gnu-atime": build(&tar.Header{Typeflag: tar.TypeReg, Name: "t", ModTime: mtime, AccessTime: mtime, Format: tar.FormatGNU}),
		"big-uid":   build(&tar.Header{Typeflag: tar.TypeReg, Name: "b", Uid: 1 << 30, ModTime: mtime, Format: tar.FormatGNU}),
	}
	// The old "regular file" type with a trailing slash: a directory.
	rega := build(file("olddir", 0, tar.FormatUSTAR))
	rega[len("olddir")] = '/'
	rega[ustarTypeflag] = typeRegA
	fixChecksum(rega[:blockSize])
	seeds["rega-dir"] = rega
	// Checksums: one wrong, one signed (an old tar's sum with bytes >=
	// 0x80 counted negative), after a good entry.
	bad := build(file("good", 1, tar.FormatUSTAR), file("bad", 1, tar.FormatUSTAR))
	bad[2*blockSize+ustarChksum]++
	seeds["bad-checksum"] = bad
	signed := build(file("signed", 0, tar.FormatUSTAR))
	signed[0] = 0xe9
	var sum int64
	for i, c := range signed[:blockSize] {
		if i >= ustarChksum && i < ustarChksum+8 {
			c = ' '
		}
		sum += int64(int8(c))
	}
	copy(signed[ustarChksum:], fmt.Sprintf("%06o\x00 ", sum))
	seeds["signed-checksum"] = signed
	// Sparse files (GNU 'S', PAX 0.x and 1.0), V7, STAR and GNU
	// incremental archives from Go's corpus.
	for _, name := range []string{"sparse-formats.tar", "pax-nil-sparse-data.tar", "v7.tar", "star.tar", "gnu-incremental.tar"} {
		if data := goTestdata(t, name); data != nil {
			seeds[name] = data
		}
	}
	// A PAX record declaring 8 GiB: refused by archive/tar, never buffered
	// by tarReader, whatever MaxHeaderSize allows.
	x := build(file("pax-header", 0, tar.FormatUSTAR))[:blockSize]
	x[ustarTypeflag] = tar.TypeXHeader
	copy(x[ustarSize:], "77777777777\x00")
	fixChecksum(x)
	huge := append(build(file("first", 1, tar.FormatUSTAR))[:2*blockSize], x...)
	seeds["huge-pax-record"] = append(huge, make([]byte, 4*blockSize)...)
	// The PAX sparse entries of sparse-formats.tar without the GNU 'S'
	// ones before them, which would hand over at once.
	if data := seeds["sparse-formats.tar"]; len(data) > 3584 {
		seeds["pax-sparse"] = data[3584:]
	}
	return seeds
}

// afterPlainEntry puts a plain ustar entry in front of an archive, so that
// tarReader meets the archive's first entry on its fast path rather than
// at the start, where anything odd is handed over at once.
func afterPlainEntry(t testing.TB, archive []byte) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "first", Size: 3, Mode: 0o644, Format: tar.FormatUSTAR}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	if err := tw.Flush(); err != nil { // no end-of-archive blocks
		t.Fatal(err)
	}
	return append(b.Bytes(), archive...)
}

// TestTarReaderMatchesArchiveTar walks every seed and archive/tar's own
// corpus with both readers, with a MaxHeaderSize that fits the records and
// one that does not (tarReader then hands the stream over earlier).
func TestTarReaderMatchesArchiveTar(t *testing.T) {
	all := tarReaderSeeds(t)
	for name, data := range goTestdataSeeds(t) {
		all["go/"+name] = data
	}
	for name, data := range all {
		all["after-plain/"+name] = afterPlainEntry(t, data)
	}
	for name, data := range all {
		for _, maxHdr := range []int64{1024, DefaultMaxHeaderSize, 1 << 40} {
			t.Run(fmt.Sprintf("%s/%d", name, maxHdr), func(t *testing.T) {
				compareWithArchiveTar(t, data, Limits{MaxHeaderSize: maxHdr})
			})
		}
	}
}

// TestTarReaderPaths checks that the fast paths are taken where they
// should be (otherwise the comparison above would pass with everything
// handed to archive/tar) and that unusual entries are handed over.
func TestTarReaderPaths(t *testing.T) {
	seeds := tarReaderSeeds(t)
	for _, tc := range []struct {
		seed string
		// entries is how many entries are read before looking; slow is
		// whether tarReader must have handed over by then.
		entries int
		slow    bool
	}{
		{"ustar", 8, false},
		{"gnu", 3, false},
		{"pax", 4, false},
		{"big-uid", 1, true}, // base-256 uid
		{"gnu-atime", 1, true},
		{"signed-checksum", 1, false},
		{"rega-dir", 1, false},
		{"global", 1, true},
		{"sparse-formats.tar", 1, true},
		{"v7.tar", 1, true},
		{"star.tar", 1, true},
	} {
		t.Run(tc.seed, func(t *testing.T) {
			data, ok := seeds[tc.seed]
			if !ok {
				t.Skipf("seed %s is not available (Go's testdata missing)", tc.seed)
			}
			compareWithArchiveTar(t, data, Limits{})
			// compareWithArchiveTar read to the end, which always hands
			// over (archive/tar reads the end-of-archive blocks); so walk
			// again and stop before the end.
			tr, stop := tarReaderFor(t, data, Limits{})
			defer stop()
			for i := 0; i < tc.entries; i++ {
				if _, err := tr.Next(); err != nil {
					t.Fatalf("entry %d: %v", i, err)
				}
			}
			if got := tr.slow != nil; got != tc.slow {
				t.Errorf("handed over to archive/tar: %v, want %v", got, tc.slow)
			}
		})
	}
}

// TestTarReaderHugeRecord: a PAX record declaring 8 GiB is not buffered,
// even when MaxHeaderSize would allow it; archive/tar refuses it.
func TestTarReaderHugeRecord(t *testing.T) {
	data := tarReaderSeeds(t)["huge-pax-record"]
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	compareWithArchiveTar(t, data, Limits{MaxHeaderSize: 1 << 40})
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
		t.Errorf("allocated %d MiB walking a 4 KiB archive", grew>>20)
	}
}

// FuzzTarReader checks tarReader against archive/tar on arbitrary input:
// the same headers (Format aside), the same data, the same errors, with
// every amount of each entry's data read. With fixSums, every block that
// looks like a header gets a valid checksum first, so that mutated fields
// reach parseUSTAR rather than failing the checksum.
func FuzzTarReader(f *testing.F) {
	for _, data := range tarReaderSeeds(f) {
		f.Add(data, false, false)
		f.Add(data, false, true)
	}
	for _, data := range goTestdataSeeds(f) {
		f.Add(data, true, false)
		f.Add(afterPlainEntry(f, data), false, true)
	}
	f.Fuzz(func(t *testing.T, data []byte, smallHeaders, fixSums bool) {
		lim := Limits{}
		if smallHeaders {
			lim.MaxHeaderSize = 1024
		}
		if fixSums {
			for off := 0; off+blockSize <= len(data); off += blockSize {
				if bytes.HasPrefix(data[off+ustarMagic:], []byte("ustar")) {
					fixChecksum(data[off : off+blockSize])
				}
			}
		}
		compareWithArchiveTar(t, data, lim)
	})
}

// BenchmarkTarHeaders walks a layer of 10,000 entries without data (100
// directories of 99 empty files): archive/tar's Reader against tarReader,
// both over the same stream machinery, so the difference is the cost of
// parsing headers.
func BenchmarkTarHeaders(b *testing.B) {
	tb := newTar(b)
	for d := range 100 {
		dir := fmt.Sprintf("usr/share/d%03d", d)
		tb.Dir(dir, 0o755)
		for f := range 99 {
			tb.File(fmt.Sprintf("%s/f%03d", dir, f), 0o644, "")
		}
	}
	data := tb.Bytes()
	walk := func(b *testing.B, next func() (*tar.Header, error)) {
		n := 0
		for {
			_, err := next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 10_000 {
			b.Fatalf("%d entries", n)
		}
	}
	b.Run("archive-tar", func(b *testing.B) {
		for b.Loop() {
			s := startStream(context.Background(), bytes.NewReader(data), CompressionNone, DefaultLimits(), nil)
			sr := &streamReader{s: s}
			walk(b, tar.NewReader(sr).Next)
			sr.release()
			s.stopAndWait()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10_000, "ns/entry")
	})
	b.Run("tarReader", func(b *testing.B) {
		for b.Loop() {
			tr, stop := tarReaderFor(b, data, Limits{})
			walk(b, tr.Next)
			stop()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10_000, "ns/entry")
	})
}

// TestTarReaderInsecurePathGodebug: with GODEBUG=tarinsecurepath=0,
// archive/tar's Next returns ErrInsecurePath with the header of an
// absolute or ".." name. Names are layer's to clean (names.go), so every
// path of tarReader returns such a header without error, as parseUSTAR
// does, and the same layer applies the same way whatever GODEBUG says.
func TestTarReaderInsecurePathGodebug(t *testing.T) {
	long := "../" + strings.Repeat("d/", 150) + "pax" // too long for ustar: a PAX record
	b := newTar(t).File("/abs", 0o644, "a").File(long, 0o644, "b")
	b.Header(&tar.Header{Typeflag: tar.TypeXGlobalHeader, PAXRecords: map[string]string{"comment": "x"}}, nil)
	data := b.File("../slow", 0o644, "c").Bytes()
	t.Setenv("GODEBUG", "tarinsecurepath=0")
	tr, stop := tarReaderFor(t, data, Limits{})
	defer stop()
	var names []string
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("after %q: %v", names, err)
		}
		names = append(names, hdr.Name)
		if hdr.Name == long && tr.slow != nil {
			t.Errorf("the PAX name %q was handed over to archive/tar", long)
		}
	}
	if want := []string{"/abs", long, "GlobalHead.0.0", "../slow"}; !reflect.DeepEqual(names, want) {
		t.Errorf("names %q, want %q", names, want)
	}
}

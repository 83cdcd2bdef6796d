package layer

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// umociRecords are user.rootlesscontainers values that umoci 0.4.7
// (Debian's 0.4.7+ds-3+b7) wrote for files of these owners when it
// unpacked an image with --rootless as uid 65534 (getfattr -e hex; see
// docs/rootless.md). A field equal to NoopID is the id umoci did not
// record: container id 0, the unpacking user.
var umociRecords = []struct {
	name     string // the file in that experiment
	uid, gid uint32 // the tar header's owner
	rec      RecordedOwner
	hex      string // the attribute's bytes
}{
	{"f1000", 1000, 1000, RecordedOwner{1000, 1000}, "08e80710e807"},
	{"f1000_0", 1000, 0, RecordedOwner{1000, NoopID}, "08e80710ffffffff0f"},
	{"f0_1000", 0, 1000, RecordedOwner{NoopID, 1000}, "08ffffffff0f10e807"},
	{"f65534", 65534, 65534, RecordedOwner{65534, 65534}, "08feff0310feff03"},
	{"f1_2", 1, 2, RecordedOwner{1, 2}, "08011002"},
	{"fbig", 300000, 4294967294, RecordedOwner{300000, 4294967294}, "08e0a71210feffffff0f"},
	{"sda (block device placeholder)", 0, 6, RecordedOwner{NoopID, 6}, "08ffffffff0f1006"},
	{"null1000 (char device placeholder)", 1000, 5, RecordedOwner{1000, 5}, "08e8071005"},
}

func TestRecordedOwnerMatchesUmociBytes(t *testing.T) {
	for _, tc := range umociRecords {
		t.Run(tc.name, func(t *testing.T) {
			want, err := hex.DecodeString(tc.hex)
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.rec.Marshal(); !bytes.Equal(got, want) {
				t.Errorf("Marshal(%+v) = %x, want umoci's %s", tc.rec, got, tc.hex)
			}
			got, err := ParseRecordedOwner(want)
			if err != nil || got != tc.rec {
				t.Errorf("ParseRecordedOwner(%s) = %+v, %v; want %+v", tc.hex, got, err, tc.rec)
			}
			if u, g := got.Apply(0, 0); u != tc.uid || g != tc.gid {
				t.Errorf("Apply(0, 0) = %d:%d, want the image's %d:%d", u, g, tc.uid, tc.gid)
			}
		})
	}
	// 0:0 is not recorded at all: both fields NoopID.
	if noop := (RecordedOwner{NoopID, NoopID}); !noop.Noop() {
		t.Error("NoopID:NoopID is not Noop")
	}
}

func TestParseRecordedOwner(t *testing.T) {
	for _, tc := range []struct {
		name    string
		hex     string        // the attribute's bytes
		want    RecordedOwner // decoded, when ok
		wantErr bool
	}{
		{name: "empty: both fields 0 (proto3 omits zero values)", hex: "", want: RecordedOwner{}},
		{name: "uid only", hex: "0805", want: RecordedOwner{UID: 5}},
		{name: "fields out of order", hex: "10020801", want: RecordedOwner{UID: 1, GID: 2}},
		{name: "last occurrence wins", hex: "080108021003", want: RecordedOwner{UID: 2, GID: 3}},
		{name: "unknown varint field skipped", hex: "18ff010805", want: RecordedOwner{UID: 5}},
		{name: "unknown length-delimited field skipped", hex: "2203616263" + "1007", want: RecordedOwner{GID: 7}},
		{name: "unknown fixed32 and fixed64 skipped", hex: "2d01020304" + "310102030405060708" + "0809", want: RecordedOwner{UID: 9}},
		{name: "truncated varint", hex: "08ff", wantErr: true},
		{name: "truncated key", hex: "ff", wantErr: true},
		{name: "value wider than 32 bits", hex: "0880808080" + "10", wantErr: true},
		{name: "uid as length-delimited", hex: "0a0101", wantErr: true},
		{name: "length past the end", hex: "2205ab", wantErr: true},
		{name: "group wire type", hex: "0b", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := hex.DecodeString(tc.hex)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseRecordedOwner(b)
			if (err != nil) != tc.wantErr || (!tc.wantErr && got != tc.want) {
				t.Errorf("ParseRecordedOwner(%s) = %+v, %v; want %+v, error %v", tc.hex, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

// FuzzParseRecordedOwner: any bytes parse without panicking, and what
// parses re-encodes to a record that parses to the same owner.
func FuzzParseRecordedOwner(f *testing.F) {
	for _, tc := range umociRecords {
		b, _ := hex.DecodeString(tc.hex)
		f.Add(b)
	}
	f.Add([]byte{0x22, 0x05, 0xab})
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := ParseRecordedOwner(b)
		if err != nil {
			return
		}
		again, err := ParseRecordedOwner(o.Marshal())
		if err != nil || again != o {
			t.Fatalf("round trip of %x: %+v -> %x -> %+v, %v", b, o, o.Marshal(), again, err)
		}
	})
}

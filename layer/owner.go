package layer

import (
	"encoding/binary"
	"fmt"
)

// RootlessXattr is the extended attribute in which a rootless unpack
// records the owner a file has in the image when the process cannot apply
// it with chown: the `user.rootlesscontainers` attribute of the
// rootlesscontainers-proto project, which umoci writes (and reads back when
// it repacks) and PRoot-based rootless runtimes read. Its value is a
// protobuf `Resource { uint32 uid = 1; uint32 gid = 2; }` ([RecordedOwner]).
const RootlessXattr = "user.rootlesscontainers"

// NoopID in a [RecordedOwner] field means "no override": the id the file
// really has on disk is the right one. In umoci's encoding (and ours) a
// field is NoopID when the image's id is the one the unpacking user stands
// for, container id 0 by default, and the attribute is left out entirely
// when both fields are NoopID. It is (uid_t)-1, which chown(2) reserves and
// which is therefore never a real owner.
const NoopID = 1<<32 - 1

// RecordedOwner is the payload of [RootlessXattr]: the image's uid and gid
// of a file, or [NoopID] for an id that the file's real owner already
// represents.
type RecordedOwner struct {
	UID, GID uint32
}

// Protobuf wire format of Resource: field 1 (uid) and field 2 (gid), both
// varints, so the keys are (1<<3)|0 and (2<<3)|0.
const (
	ownerUIDKey = 1<<3 | wireVarint
	ownerGIDKey = 2<<3 | wireVarint
)

// Protobuf wire types (protobuf.dev/programming-guides/encoding).
const (
	wireVarint = 0
	wireI64    = 1
	wireLen    = 2
	wireI32    = 5
)

// maxOwnerRecord bounds what ParseRecordedOwner accepts: XATTR_SIZE_MAX,
// the most an xattr value can hold. Real records are at most 12 bytes.
const maxOwnerRecord = 64 << 10

// Marshal encodes o exactly as the protobuf reference implementation (and
// therefore umoci) does: fields in number order, each a one-byte key and a
// base-128 varint, and a field whose value is 0 omitted (proto3 default
// values are not serialised). A record of two zero fields is the empty
// string.
func (o RecordedOwner) Marshal() []byte {
	b := make([]byte, 0, 12)
	if o.UID != 0 {
		b = append(b, ownerUIDKey)
		b = binary.AppendUvarint(b, uint64(o.UID))
	}
	if o.GID != 0 {
		b = append(b, ownerGIDKey)
		b = binary.AppendUvarint(b, uint64(o.GID))
	}
	return b
}

// Noop reports whether o overrides nothing (both fields [NoopID]), the case
// in which no attribute is written.
func (o RecordedOwner) Noop() bool { return o.UID == NoopID && o.GID == NoopID }

// Apply returns the owner o describes for a file whose real owner on disk
// is uid:gid: each field of o that is not [NoopID] wins.
func (o RecordedOwner) Apply(uid, gid uint32) (uint32, uint32) {
	if o.UID != NoopID {
		uid = o.UID
	}
	if o.GID != NoopID {
		gid = o.GID
	}
	return uid, gid
}

// ParseRecordedOwner decodes a [RootlessXattr] value as a protobuf parser
// does: missing fields are 0, the last occurrence of a field wins, fields
// of other numbers are skipped, and a truncated or malformed record (or a
// value wider than 32 bits in a uint32 field, which protobuf truncates but
// no writer produces) is an error.
func ParseRecordedOwner(b []byte) (RecordedOwner, error) {
	var o RecordedOwner
	if len(b) > maxOwnerRecord {
		return o, fmt.Errorf("layer: %s record of %d bytes is too long", RootlessXattr, len(b))
	}
	for len(b) > 0 {
		key, n := binary.Uvarint(b)
		if n <= 0 {
			return o, fmt.Errorf("layer: %s record: bad field key", RootlessXattr)
		}
		b = b[n:]
		field, wire := key>>3, key&7
		switch wire {
		case wireVarint:
			v, n := binary.Uvarint(b)
			if n <= 0 {
				return o, fmt.Errorf("layer: %s record: bad varint in field %d", RootlessXattr, field)
			}
			b = b[n:]
			if (field == 1 || field == 2) && v > NoopID {
				return o, fmt.Errorf("layer: %s record: field %d value %d exceeds 32 bits", RootlessXattr, field, v)
			}
			switch field {
			case 1:
				o.UID = uint32(v)
			case 2:
				o.GID = uint32(v)
			}
		case wireI64, wireI32:
			size := 8
			if wire == wireI32 {
				size = 4
			}
			if len(b) < size {
				return o, fmt.Errorf("layer: %s record: truncated field %d", RootlessXattr, field)
			}
			b = b[size:]
		case wireLen:
			l, n := binary.Uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return o, fmt.Errorf("layer: %s record: truncated field %d", RootlessXattr, field)
			}
			b = b[n+int(l):]
		default:
			return o, fmt.Errorf("layer: %s record: unsupported wire type %d in field %d", RootlessXattr, wire, field)
		}
		if field == 1 || field == 2 {
			if wire != wireVarint {
				return o, fmt.Errorf("layer: %s record: field %d has wire type %d, want varint", RootlessXattr, field, wire)
			}
		}
	}
	return o, nil
}

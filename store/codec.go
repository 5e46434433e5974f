package store

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"time"
)

// itob encodes v big-endian so byte order is numeric order.
func itob(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

func btoi(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// timeKey is a sortable 8-byte time prefix (unix ns; times before 1970 clamp to 0).
func timeKey(t time.Time) []byte {
	ns := t.UnixNano()
	if ns < 0 || t.IsZero() {
		ns = 0
	}
	return itob(uint64(ns))
}

// join concatenates key parts into a new slice.
func join(parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]byte, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// clone copies a value out of its transaction.
func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

func encode(v any) ([]byte, error) { return json.Marshal(v) }

func decode(b []byte, v any) error { return json.Unmarshal(b, v) }

// Sortable IDs: 48 bits of milliseconds then 80 random bits in Crockford's
// base32 (the ULID layout), 26 characters whose string order is time order.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewID returns a new time-sortable ID for time t.
func NewID(t time.Time) string {
	var b [16]byte
	ms := uint64(t.UnixMilli())
	if t.UnixMilli() < 0 {
		ms = 0
	}
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	rand.Read(b[6:])
	return encodeID(b)
}

// minID is the smallest ID of millisecond t, for range seeks.
func minID(t time.Time) string {
	var b [16]byte
	ms := uint64(max(t.UnixMilli(), 0))
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	return encodeID(b)
}

func encodeID(b [16]byte) string {
	// 128 bits as 26 base32 digits, most significant first (the first digit carries 3 bits).
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	out := make([]byte, 26)
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out)
}

// IDTime returns the time encoded in an ID made by NewID.
func IDTime(id string) (time.Time, error) {
	if len(id) != 26 {
		return time.Time{}, errors.New("malformed id")
	}
	var hi, lo uint64
	for i := 0; i < 26; i++ {
		d := strings.IndexByte(crockford, id[i])
		if d < 0 || (i == 0 && d > 7) {
			return time.Time{}, errors.New("malformed id")
		}
		hi = hi<<5 | lo>>59
		lo = lo<<5 | uint64(d)
	}
	ms := hi >> 16
	if ms > math.MaxInt64 {
		return time.Time{}, errors.New("malformed id")
	}
	return time.UnixMilli(int64(ms)), nil
}

// randomString returns n characters from alphabet, uniformly.
func randomString(n int, alphabet string) string {
	out := make([]byte, n)
	buf := make([]byte, 1)
	limit := 256 - 256%len(alphabet)
	for i := 0; i < n; {
		rand.Read(buf)
		if int(buf[0]) >= limit {
			continue
		}
		out[i] = alphabet[int(buf[0])%len(alphabet)]
		i++
	}
	return string(out)
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// newUUID returns a random UUID in upper case, the form of Tencent's BizTokens.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hex = "0123456789ABCDEF"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hex[c>>4], hex[c&15])
	}
	return string(out)
}

// embeddingBytes packs float32s little-endian.
func embeddingBytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

func bytesEmbedding(b []byte) []float32 {
	if len(b) == 0 {
		return nil
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

package engine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/jpeg"
	"image/png"
	"testing"
)

func encodeJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pngHeader is a PNG signature and IHDR claiming w×h, with an IEND: a
// decompression bomb's header without its pixels.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		crc := crc32.ChecksumIEEE(append([]byte(typ), data...))
		binary.Write(&b, binary.BigEndian, crc)
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk("IHDR", ihdr)
	chunk("IEND", nil)
	return b.Bytes()
}

// withOrientation inserts an APP1 Exif segment with the given orientation
// after the SOI marker.
func withOrientation(jpg []byte, o uint16, order binary.ByteOrder) []byte {
	var tiff bytes.Buffer
	if order == binary.LittleEndian {
		tiff.WriteString("II")
	} else {
		tiff.WriteString("MM")
	}
	binary.Write(&tiff, order, uint16(42))
	binary.Write(&tiff, order, uint32(8))
	binary.Write(&tiff, order, uint16(1))      // one entry
	binary.Write(&tiff, order, uint16(0x0112)) // orientation
	binary.Write(&tiff, order, uint16(3))      // SHORT
	binary.Write(&tiff, order, uint32(1))
	binary.Write(&tiff, order, o)
	binary.Write(&tiff, order, uint16(0))
	binary.Write(&tiff, order, uint32(0))
	seg := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	var out bytes.Buffer
	out.Write(jpg[:2])
	out.Write([]byte{0xFF, 0xE1})
	binary.Write(&out, binary.BigEndian, uint16(len(seg)+2))
	out.Write(seg)
	out.Write(jpg[2:])
	return out.Bytes()
}

func TestInspectImage(t *testing.T) {
	jpg := encodeJPEG(t, 64, 48)
	var pngBuf bytes.Buffer
	png.Encode(&pngBuf, image.NewGray(image.Rect(0, 0, 10, 20)))
	tests := []struct {
		name   string
		data   []byte
		reason string // "" = accepted
		w, h   int
		orient int
	}{
		{"jpeg", jpg, "", 64, 48, 1},
		{"png", pngBuf.Bytes(), "", 10, 20, 1},
		{"empty", nil, ReasonEmpty, 0, 0, 0},
		{"text", []byte("hello, this is not an image at all"), ReasonUnknownFormat, 0, 0, 0},
		{"truncated jpeg", jpg[:len(jpg)/2], ReasonTruncated, 0, 0, 0},
		{"jpeg header only", jpg[:4], ReasonTruncated, 0, 0, 0},
		{"jpeg garbage after SOI", append([]byte{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x41, 0x41}, bytes.Repeat([]byte{0x41}, 100)...), ReasonTruncated, 0, 0, 0},
		{"jpeg bad marker", append(append([]byte(nil), jpg[:20]...), append([]byte{0x41, 0x41, 0x41, 0x41}, jpg[20:]...)...), ReasonCorrupt, 0, 0, 0},
		{"png bomb 20000x20000", pngHeader(20000, 20000), ReasonTooLarge, 0, 0, 0},
		{"png truncated", pngBuf.Bytes()[:len(pngBuf.Bytes())-20], ReasonTruncated, 0, 0, 0},
		{"exif orientation 6 (II)", withOrientation(jpg, 6, binary.LittleEndian), "", 64, 48, 6},
		{"exif orientation 8 (MM)", withOrientation(jpg, 8, binary.BigEndian), "", 64, 48, 8},
		{"exif orientation out of range", withOrientation(jpg, 42, binary.BigEndian), "", 64, 48, 1},
		{"bmp truncated", append([]byte("BM"), make([]byte, 10)...), ReasonTruncated, 0, 0, 0},
		{"webp truncated", []byte("RIFF\xff\xff\x00\x00WEBPVP8 "), ReasonTruncated, 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			info, err := InspectImage(tc.data, DefaultImageLimits)
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("got error %v, want none", err)
				}
				if info.Width != tc.w || info.Height != tc.h || info.Orientation != tc.orient {
					t.Fatalf("got %dx%d orientation %d, want %dx%d orientation %d", info.Width, info.Height, info.Orientation, tc.w, tc.h, tc.orient)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want an *Error with reason %s", err, tc.reason)
			}
			if e.Reason != tc.reason || e.Code == "" || e.Message == "" {
				t.Fatalf("got %+v, want reason %s with a code and a message", e, tc.reason)
			}
		})
	}
}

func TestInspectImageLimits(t *testing.T) {
	jpg := encodeJPEG(t, 64, 48)
	for _, lim := range []ImageLimits{{MaxBytes: 100}, {MaxSide: 50}, {MaxPixels: 1000}} {
		_, err := InspectImage(jpg, lim)
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeImageSizeTooLarge {
			t.Errorf("limits %+v: got %v, want %s", lim, err, CodeImageSizeTooLarge)
		}
	}
	info, err := InspectImage(withOrientation(jpg, 6, binary.LittleEndian), DefaultImageLimits)
	if err != nil || info.Oriented() != image.Pt(48, 64) {
		t.Fatalf("rotated size: got %v %v, want 48x64", info.Oriented(), err)
	}
}

// FuzzInspectImage: no input may panic, and accepted input must respect the limits.
func FuzzInspectImage(f *testing.F) {
	jpg := encodeJPEG(f, 16, 16)
	f.Add(jpg)
	f.Add(withOrientation(jpg, 3, binary.BigEndian))
	f.Add(pngHeader(20000, 20000))
	f.Add(pngHeader(4, 4))
	f.Add([]byte("RIFF\x30\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x00\x00\x00\x00\x0f\x00\x00\x0f\x00\x00"))
	f.Add([]byte("BM\x3e\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x01\x00\x18\x00\x00\x00\x00\x00"))
	lim := ImageLimits{MaxBytes: 1 << 20, MaxSide: 4000, MaxPixels: 4_000_000}
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := InspectImage(data, lim)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code == "" {
				t.Fatalf("error without a code: %v", err)
			}
			return
		}
		if info.Width <= 0 || info.Height <= 0 || info.Width > lim.MaxSide || info.Height > lim.MaxSide || info.Width*info.Height > lim.MaxPixels {
			t.Fatalf("accepted %dx%d beyond limits", info.Width, info.Height)
		}
		if info.Orientation < 1 || info.Orientation > 8 {
			t.Fatalf("orientation %d", info.Orientation)
		}
	})
}

package engine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/jpeg"
	"image/png"
	"io"
)

// ImageLimits bound what the engine agrees to decode. They are checked on
// the encoded bytes and the header, before any pixel is decoded, so a small
// file claiming 20000×20000 pixels is refused without allocating for it.
type ImageLimits struct {
	MaxBytes  int // encoded size
	MaxSide   int // width or height
	MaxPixels int // width × height
}

// DefaultImageLimits admit phone photos (up to ~50 MP) and refuse bombs.
var DefaultImageLimits = ImageLimits{MaxBytes: 20 << 20, MaxSide: 12000, MaxPixels: 50_000_000}

// ImageInfo is what the header says about an encoded image.
type ImageInfo struct {
	Format      string // jpeg, png, bmp
	Width       int
	Height      int
	Orientation int // EXIF orientation 1–8 (1 = as stored)
}

// InspectImage checks an encoded image against the limits and for
// structural damage without decoding its pixels. Every failure is an *Error
// with a FailedOperation code and its own reason.
func InspectImage(data []byte, lim ImageLimits) (ImageInfo, error) {
	var info ImageInfo
	if len(data) == 0 {
		return info, &Error{Code: CodeEmptyImage, Reason: ReasonEmpty, Message: "图片为空", EN: "the image is empty"}
	}
	if lim.MaxBytes > 0 && len(data) > lim.MaxBytes {
		return info, &Error{Code: CodeImageSizeTooLarge, Reason: ReasonTooLarge,
			Message: "图片文件过大", EN: "the image file is too large"}
	}
	var err error
	switch {
	case bytes.HasPrefix(data, []byte{0xFF, 0xD8, 0xFF}):
		info.Format = "jpeg"
		info.Width, info.Height, info.Orientation, err = inspectJPEG(data)
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		info.Format = "png"
		info.Width, info.Height, err = inspectPNG(data)
	case bytes.HasPrefix(data, []byte("BM")):
		info.Format = "bmp"
		info.Width, info.Height, err = inspectBMP(data)
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		info.Format = "webp"
		info.Width, info.Height, err = inspectWebP(data)
	default:
		return info, &Error{Code: CodeImageDecodeFailed, Reason: ReasonUnknownFormat,
			Message: "不支持的图片格式（仅支持 JPEG、PNG、BMP、WebP）", EN: "unsupported image format (JPEG, PNG, BMP or WebP only)"}
	}
	if err != nil {
		return info, err
	}
	if info.Orientation < 1 || info.Orientation > 8 {
		info.Orientation = 1
	}
	if info.Width <= 0 || info.Height <= 0 {
		return info, corrupt("image has no pixels")
	}
	if (lim.MaxSide > 0 && (info.Width > lim.MaxSide || info.Height > lim.MaxSide)) ||
		(lim.MaxPixels > 0 && info.Width*info.Height > lim.MaxPixels) {
		return info, &Error{Code: CodeImageSizeTooLarge, Reason: ReasonTooLarge,
			Message: "图片尺寸过大", EN: "the image dimensions are too large"}
	}
	return info, nil
}

func corrupt(en string) *Error {
	return &Error{Code: CodeImageDecodeFailed, Reason: ReasonCorrupt, Message: "图片已损坏，无法解码", EN: en}
}

func truncated() *Error {
	return &Error{Code: CodeImageDecodeFailed, Reason: ReasonTruncated, Message: "图片数据不完整（被截断）", EN: "the image data is truncated"}
}

// inspectJPEG walks the marker segments up to the first scan, reading the
// frame size and the EXIF orientation, then requires an end-of-image marker
// after the scan: entropy-coded data cannot contain 0xFFD9, so its absence
// means the file was cut short.
func inspectJPEG(data []byte) (w, h, orient int, err error) {
	cfg, cerr := jpeg.DecodeConfig(bytes.NewReader(data))
	if errors.Is(cerr, io.ErrUnexpectedEOF) || errors.Is(cerr, io.EOF) {
		return 0, 0, 0, truncated()
	}
	if cerr != nil {
		return 0, 0, 0, corrupt("corrupt JPEG header: " + cerr.Error())
	}
	orient = 1
	i := 2
	for {
		// Skip fill bytes, then read the marker.
		for i < len(data) && data[i] == 0xFF && i+1 < len(data) && data[i+1] == 0xFF {
			i++
		}
		if i+4 > len(data) {
			return 0, 0, 0, truncated()
		}
		if data[i] != 0xFF {
			return 0, 0, 0, corrupt("JPEG marker expected")
		}
		marker := data[i+1]
		if marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01 {
			i += 2
			continue
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if n < 2 || i+2+n > len(data) {
			return 0, 0, 0, truncated()
		}
		seg := data[i+4 : i+2+n]
		if marker == 0xE1 && orient == 1 {
			orient = exifOrientation(seg)
		}
		i += 2 + n
		if marker == 0xDA { // start of scan
			break
		}
		if marker == 0xD9 {
			return 0, 0, 0, truncated()
		}
	}
	if !bytes.Contains(data[i:], []byte{0xFF, 0xD9}) {
		return 0, 0, 0, truncated()
	}
	return cfg.Width, cfg.Height, orient, nil
}

// exifOrientation reads tag 0x0112 from an APP1 Exif segment; 1 when absent
// or malformed.
func exifOrientation(seg []byte) int {
	if len(seg) < 14 || !bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
		return 1
	}
	tiff := seg[6:]
	var bo binary.ByteOrder
	switch string(tiff[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	if bo.Uint16(tiff[2:]) != 42 {
		return 1
	}
	off := int(bo.Uint32(tiff[4:]))
	if off < 8 || off+2 > len(tiff) {
		return 1
	}
	count := int(bo.Uint16(tiff[off:]))
	for k := 0; k < count; k++ {
		e := off + 2 + 12*k
		if e+12 > len(tiff) {
			return 1
		}
		if bo.Uint16(tiff[e:]) == 0x0112 {
			v := int(bo.Uint16(tiff[e+8:]))
			if v >= 1 && v <= 8 {
				return v
			}
			return 1
		}
	}
	return 1
}

func inspectPNG(data []byte) (int, int, error) {
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return 0, 0, truncated()
	}
	if err != nil {
		return 0, 0, corrupt("corrupt PNG header: " + err.Error())
	}
	tail := data[max(0, len(data)-64):]
	if !bytes.Contains(tail, []byte("IEND")) {
		return 0, 0, truncated()
	}
	return cfg.Width, cfg.Height, nil
}

func inspectBMP(data []byte) (int, int, error) {
	if len(data) < 30 {
		return 0, 0, truncated()
	}
	pixOff := int(binary.LittleEndian.Uint32(data[10:]))
	hdr := int(binary.LittleEndian.Uint32(data[14:]))
	if hdr < 40 || len(data) < 14+hdr {
		return 0, 0, corrupt("unsupported BMP header")
	}
	w := int(int32(binary.LittleEndian.Uint32(data[18:])))
	h := int(int32(binary.LittleEndian.Uint32(data[22:])))
	if h < 0 {
		h = -h
	}
	bpp := int(binary.LittleEndian.Uint16(data[28:]))
	compression := binary.LittleEndian.Uint32(data[30:])
	if w <= 0 || h <= 0 || w > 1<<16 || h > 1<<16 || bpp == 0 {
		return 0, 0, corrupt("bad BMP dimensions")
	}
	if compression == 0 { // uncompressed: the pixel array size is known
		stride := ((w*bpp + 31) / 32) * 4
		if pixOff < 0 || pixOff+stride*h > len(data) {
			return 0, 0, truncated()
		}
	}
	return w, h, nil
}

// inspectWebP reads the canvas size from the first chunk (lossy VP8,
// lossless VP8L or extended VP8X) and checks the RIFF length.
func inspectWebP(data []byte) (int, int, error) {
	if len(data) < 30 {
		return 0, 0, truncated()
	}
	if int(binary.LittleEndian.Uint32(data[4:]))+8 > len(data) {
		return 0, 0, truncated()
	}
	p := data[20:]
	switch string(data[12:16]) {
	case "VP8 ":
		if p[3] != 0x9d || p[4] != 0x01 || p[5] != 0x2a {
			return 0, 0, corrupt("bad VP8 start code")
		}
		return int(binary.LittleEndian.Uint16(p[6:]) & 0x3fff), int(binary.LittleEndian.Uint16(p[8:]) & 0x3fff), nil
	case "VP8L":
		if p[0] != 0x2f {
			return 0, 0, corrupt("bad VP8L signature")
		}
		v := binary.LittleEndian.Uint32(p[1:])
		return int(v&0x3fff) + 1, int((v>>14)&0x3fff) + 1, nil
	case "VP8X":
		w := int(p[4]) | int(p[5])<<8 | int(p[6])<<16
		h := int(p[7]) | int(p[8])<<8 | int(p[9])<<16
		return w + 1, h + 1, nil
	}
	return 0, 0, corrupt("unknown WebP chunk")
}

// Oriented returns the displayed size of an image whose stored size is w×h.
func (i ImageInfo) Oriented() image.Point {
	if i.Orientation >= 5 {
		return image.Pt(i.Height, i.Width)
	}
	return image.Pt(i.Width, i.Height)
}

package capture

/*
#cgo pkg-config: libavcodec libavutil libswscale
#include <stdlib.h>
#include "decoder.h"
*/
import "C"

import (
	"fmt"
	"sync/atomic"
	"unsafe"
)

// Codec numbers shared with decoder.c.
const (
	codecVP8  = C.HS_CODEC_VP8
	codecH264 = C.HS_CODEC_H264
)

// maxPixels bounds the picture a peer may make us decode (1920×1080).
const maxPixels = 1920 * 1080

// decoder decodes one video stream; it is used by a single goroutine
// because inter frames depend on earlier ones.
type decoder struct {
	d    *C.hs_dec
	live *atomic.Int64 // the server's count of open decoders (leak check)
}

func newDecoder(codec int, live *atomic.Int64) (*decoder, error) {
	d := C.hs_dec_open(C.int(codec))
	if d == nil {
		return nil, fmt.Errorf("libavcodec: cannot open decoder %d", codec)
	}
	live.Add(1)
	return &decoder{d: d, live: live}, nil
}

// decode feeds one compressed frame. It returns the picture size when a
// picture is ready, (0, 0, nil) when the decoder needs more data.
func (d *decoder) decode(data []byte) (w, h int, err error) {
	if len(data) == 0 {
		return 0, 0, fmt.Errorf("empty frame")
	}
	var cw, ch C.int
	ret := C.hs_dec_decode(d.d, (*C.uint8_t)(unsafe.Pointer(&data[0])), C.int(len(data)), &cw, &ch)
	if ret < 0 {
		return 0, 0, fmt.Errorf("libavcodec: decode error %d", int(ret))
	}
	if ret == 0 {
		return 0, 0, nil
	}
	w, h = int(cw), int(ch)
	if w <= 0 || h <= 0 || w*h > maxPixels {
		return 0, 0, fmt.Errorf("picture size %dx%d out of range", w, h)
	}
	return w, h, nil
}

// bgr converts the last picture into out, which must hold w*h*3 bytes.
func (d *decoder) bgr(out []byte, w, h int) error {
	if len(out) < w*h*3 {
		return fmt.Errorf("buffer too small")
	}
	if ret := C.hs_dec_bgr(d.d, (*C.uint8_t)(unsafe.Pointer(&out[0])), C.int(w), C.int(h)); ret < 0 {
		return fmt.Errorf("libswscale: convert error %d", int(ret))
	}
	return nil
}

func (d *decoder) close() {
	if d.d != nil {
		C.hs_dec_close(d.d)
		d.d = nil
		d.live.Add(-1)
	}
}

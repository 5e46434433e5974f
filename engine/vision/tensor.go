package vision

import (
	"fmt"
	"image"
	"image/color"

	"gocv.io/x/gocv"
)

// toCHW converts a packed 8-bit BGR Mat of exactly w×h into a planar float
// tensor: out[c] = (pixel[c] - mean[c]) * scale[c], channels in RGB order
// when rgb is set.
func toCHW(m gocv.Mat, w, h int, rgb bool, mean, scale [3]float32) ([]float32, error) {
	if m.Cols() != w || m.Rows() != h || m.Type() != gocv.MatTypeCV8UC3 {
		return nil, fmt.Errorf("tensor: got %dx%d type %v, want %dx%d BGR", m.Cols(), m.Rows(), m.Type(), w, h)
	}
	px, err := m.DataPtrUint8()
	if err != nil {
		return nil, err
	}
	n := w * h
	if len(px) < 3*n {
		return nil, fmt.Errorf("tensor: short pixel buffer")
	}
	out := make([]float32, 3*n)
	for i := 0; i < n; i++ {
		b, g, r := float32(px[3*i]), float32(px[3*i+1]), float32(px[3*i+2])
		if rgb {
			b, r = r, b
		}
		out[i] = (b - mean[0]) * scale[0]
		out[n+i] = (g - mean[1]) * scale[1]
		out[2*n+i] = (r - mean[2]) * scale[2]
	}
	return out, nil
}

// toGray converts an 8-bit single-channel Mat of exactly w×h to floats × scale.
func toGray(m gocv.Mat, w, h int, scale float32) ([]float32, error) {
	if m.Cols() != w || m.Rows() != h || m.Type() != gocv.MatTypeCV8UC1 {
		return nil, fmt.Errorf("tensor: got %dx%d type %v, want %dx%d grey", m.Cols(), m.Rows(), m.Type(), w, h)
	}
	px, err := m.DataPtrUint8()
	if err != nil {
		return nil, err
	}
	if len(px) < w*h {
		return nil, fmt.Errorf("tensor: short pixel buffer")
	}
	out := make([]float32, w*h)
	for i := range out {
		out[i] = float32(px[i]) * scale
	}
	return out, nil
}

// cropResize copies the region r of src (clipped to the image) resized to
// w×h. It refuses empty regions, which OpenCV would abort on.
func cropResize(src gocv.Mat, r image.Rectangle, w, h int, gray bool) (gocv.Mat, error) {
	r = r.Intersect(image.Rect(0, 0, src.Cols(), src.Rows()))
	if r.Dx() < 2 || r.Dy() < 2 {
		return gocv.NewMat(), fmt.Errorf("crop: empty region")
	}
	roi := src.Region(r)
	defer roi.Close()
	dst := gocv.NewMat()
	gocv.Resize(roi, &dst, image.Pt(w, h), 0, 0, gocv.InterpolationLinear)
	if gray {
		g := gocv.NewMat()
		gocv.CvtColor(dst, &g, gocv.ColorBGRToGray)
		dst.Close()
		dst = g
	}
	return dst, nil
}

// letterbox resizes src to fit w×h keeping its aspect ratio, padding the
// right and bottom with black; it returns the scale applied.
func letterbox(src gocv.Mat, w, h int) (gocv.Mat, float64) {
	s := min(float64(w)/float64(src.Cols()), float64(h)/float64(src.Rows()))
	rw := max(1, min(w, int(float64(src.Cols())*s+0.5)))
	rh := max(1, min(h, int(float64(src.Rows())*s+0.5)))
	small := gocv.NewMat()
	gocv.Resize(src, &small, image.Pt(rw, rh), 0, 0, gocv.InterpolationArea)
	if rw == w && rh == h {
		return small, s
	}
	dst := gocv.NewMat()
	gocv.CopyMakeBorder(small, &dst, 0, h-rh, 0, w-rw, gocv.BorderConstant, color.RGBA{})
	small.Close()
	return dst, s
}

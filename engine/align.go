package engine

import "math"

// AlignSize is the side of the aligned face fed to the embedder.
const AlignSize = 112

// ReferencePoints are the 5 landmarks of a canonical 112×112 face (ArcFace
// layout): left eye, right eye, nose tip, left and right mouth corners.
var ReferencePoints = [5]Point{
	{38.2946, 51.6963}, {73.5318, 51.5014}, {56.0252, 71.7366}, {41.5493, 92.3655}, {70.7299, 92.2041},
}

// FivePoints reduces 68 iBUG landmarks to the 5 alignment points: each eye
// is the mean of its 4 lid points, the nose its tip, each mouth corner the
// mean of the outer and inner lip corner.
func FivePoints(lm []Point) ([5]Point, bool) {
	var p [5]Point
	if len(lm) != 68 {
		return p, false
	}
	mean := func(idx ...int) Point {
		var x, y float32
		for _, i := range idx {
			x += lm[i].X
			y += lm[i].Y
		}
		n := float32(len(idx))
		return Point{x / n, y / n}
	}
	p[0] = mean(37, 38, 40, 41)
	p[1] = mean(43, 44, 46, 47)
	p[2] = lm[30]
	p[3] = mean(48, 60)
	p[4] = mean(54, 64)
	return p, true
}

// Similarity estimates the least-squares similarity transform (rotation,
// uniform scale, translation; Umeyama 1991) taking src onto dst, as a 2×3
// affine matrix. ok is false for degenerate input (all points equal).
func Similarity(src, dst []Point) (m [2][3]float64, ok bool) {
	n := len(src)
	if n < 2 || n != len(dst) {
		return m, false
	}
	var sx, sy, dx, dy float64
	for i := range n {
		sx += float64(src[i].X)
		sy += float64(src[i].Y)
		dx += float64(dst[i].X)
		dy += float64(dst[i].Y)
	}
	fn := float64(n)
	sx, sy, dx, dy = sx/fn, sy/fn, dx/fn, dy/fn
	// With complex numbers z = x+iy, the best similarity is dst ≈ a·src + t
	// where a = Σ conj(s)·d / Σ |s|² over centred points.
	var num, numI, den float64
	for i := range n {
		ax, ay := float64(src[i].X)-sx, float64(src[i].Y)-sy
		bx, by := float64(dst[i].X)-dx, float64(dst[i].Y)-dy
		num += ax*bx + ay*by
		numI += ax*by - ay*bx
		den += ax*ax + ay*ay
	}
	if den < 1e-9 || math.IsNaN(num) || math.IsNaN(numI) {
		return m, false
	}
	a, b := num/den, numI/den // scale·cos, scale·sin
	m[0] = [3]float64{a, -b, dx - (a*sx - b*sy)}
	m[1] = [3]float64{b, a, dy - (b*sx + a*sy)}
	return m, true
}

package engine

import "math"

// SimPass is the Sim at or above which two faces are the same person
// (Tencent's fixed threshold; calibrated here to a false-accept rate ≤ 1e-4).
const SimPass = 70.0

// Cosine is the cosine similarity of two L2-normalised embeddings.
func Cosine(a, b []float32) float64 {
	if len(a) != len(b) || len(a) == 0 {
		return -1
	}
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// Normalize scales v to unit length in place; a zero vector stays zero.
func Normalize(v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= inv
	}
}

// Sim maps the cosine of two embeddings onto Tencent's 0–100 scale.
func Sim(a, b []float32) float64 { return SimFromCosine(Cosine(a, b)) }

// simCurve is the calibrated cosine→Sim mapping: piecewise linear through
// these knots, measured on LFW (A–C) with `heshen eval --calibrate`; see
// docs/accuracy.md for how each knot was placed.
var simCurve = [...][2]float64{
	{-1.0, 0},
	{0.0, 20},
	{0.2414, 50}, // FAR 1e-2 on LFW A–C (100,000 different pairs)
	{0.3369, 60}, // FAR 1e-3
	{0.4200, 70}, // FAR 1e-4: between the measured 0.409 and the tail fit's 0.430
	{0.5232, 80}, // FAR 1e-5: exponential tail fit (no different pair scored above 0.472)
	{0.6166, 85}, // FAR 1e-6: same fit, extrapolated
	{0.80, 93},
	{1.0, 100},
}

// SimFromCosine applies the calibrated mapping, rounded to 2 decimals.
func SimFromCosine(c float64) float64 {
	if math.IsNaN(c) {
		return 0
	}
	c = math.Max(-1, math.Min(1, c))
	for i := 1; i < len(simCurve); i++ {
		x0, y0 := simCurve[i-1][0], simCurve[i-1][1]
		x1, y1 := simCurve[i][0], simCurve[i][1]
		if c <= x1 {
			s := y0 + (c-x0)*(y1-y0)/(x1-x0)
			return math.Round(s*100) / 100
		}
	}
	return 100
}

// CosineFromSim inverts SimFromCosine (for reporting thresholds in cosine).
func CosineFromSim(s float64) float64 {
	s = math.Max(0, math.Min(100, s))
	for i := 1; i < len(simCurve); i++ {
		x0, y0 := simCurve[i-1][0], simCurve[i-1][1]
		x1, y1 := simCurve[i][0], simCurve[i][1]
		if s <= y1 {
			return x0 + (s-y0)*(x1-x0)/(y1-y0)
		}
	}
	return 1
}

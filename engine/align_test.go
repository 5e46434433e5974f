package engine

import (
	"math"
	"testing"
)

func TestSimilarityRecoversTransform(t *testing.T) {
	// dst = 1.5·R(30°)·src + (10, -4)
	th := 30 * math.Pi / 180
	a, b := 1.5*math.Cos(th), 1.5*math.Sin(th)
	src := []Point{{10, 20}, {50, 22}, {30, 40}, {15, 60}, {45, 61}}
	var dst []Point
	for _, p := range src {
		x, y := float64(p.X), float64(p.Y)
		dst = append(dst, Point{float32(a*x - b*y + 10), float32(b*x + a*y - 4)})
	}
	m, ok := Similarity(src, dst)
	if !ok {
		t.Fatal("degenerate")
	}
	want := [2][3]float64{{a, -b, 10}, {b, a, -4}}
	for r := range 2 {
		for c := range 3 {
			if math.Abs(m[r][c]-want[r][c]) > 1e-3 {
				t.Fatalf("m[%d][%d] = %v, want %v", r, c, m[r][c], want[r][c])
			}
		}
	}
	if _, ok := Similarity([]Point{{1, 1}, {1, 1}}, []Point{{0, 0}, {2, 2}}); ok {
		t.Fatal("coincident points accepted")
	}
	if _, ok := FivePoints(make([]Point, 5)); ok {
		t.Fatal("FivePoints accepted 5 landmarks")
	}
}

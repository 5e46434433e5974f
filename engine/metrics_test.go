package engine

import (
	"math"
	"testing"
)

func TestMetrics(t *testing.T) {
	var pairs []ScoredPair
	// 100 same pairs at 0.5..0.99, 1000 different at -0.5..0.499: separable.
	for i := range 100 {
		pairs = append(pairs, ScoredPair{0.5 + float64(i)*0.005, true})
	}
	for i := range 1000 {
		pairs = append(pairs, ScoredPair{-0.5 + float64(i)*0.001, false})
	}
	if auc := AUC(pairs); math.Abs(auc-1) > 1e-12 {
		t.Fatalf("AUC = %v, want 1", auc)
	}
	acc, th := Accuracy10Fold(pairs)
	if acc < 0.99 || th <= 0.499 || th > 0.5 {
		t.Fatalf("accuracy %v threshold %v", acc, th)
	}
	// One different pair above every same pair: FAR 1e-3 admits it, FAR 1e-4 does not.
	pairs = append(pairs, ScoredPair{0.999, false})
	t3, _ := ThresholdAtFAR(pairs, 1e-3)
	t4, measured := ThresholdAtFAR(pairs, 1e-4)
	if t3 > 0.5 || t4 <= 0.999 || measured {
		t.Fatalf("thresholds %v %v measured=%v", t3, t4, measured)
	}
	far, tar := Rates(pairs, t4)
	if far != 0 || tar != 0 {
		t.Fatalf("at %v: far %v tar %v", t4, far, tar)
	}
	if auc := AUC([]ScoredPair{{0.1, true}, {0.1, false}}); auc != 0.5 {
		t.Fatalf("tied AUC = %v, want 0.5", auc)
	}
}

func TestSimScale(t *testing.T) {
	if s := SimFromCosine(CosineFromSim(70)); math.Abs(s-70) > 0.01 {
		t.Fatalf("round trip 70 → %v", s)
	}
	prev := -1.0
	for c := -1.0; c <= 1.0; c += 0.001 {
		s := SimFromCosine(c)
		if s < prev || s < 0 || s > 100 {
			t.Fatalf("Sim not monotone in [0,100] at cos %v: %v after %v", c, s, prev)
		}
		prev = s
	}
	if SimFromCosine(math.NaN()) != 0 || SimFromCosine(2) != 100 {
		t.Fatal("out-of-range cosine")
	}
}

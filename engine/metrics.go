package engine

import (
	"math"
	"math/rand/v2"
	"sort"
)

// ScoredPair is one verification trial: a similarity score and whether the
// two images show the same person.
type ScoredPair struct {
	Score float64
	Same  bool
}

// BestThreshold returns the score threshold (same ⇔ score ≥ t) maximising
// accuracy on pairs, and that accuracy.
func BestThreshold(pairs []ScoredPair) (t, acc float64) {
	if len(pairs) == 0 {
		return 0, 0
	}
	s := append([]ScoredPair(nil), pairs...)
	sort.Slice(s, func(i, j int) bool { return s[i].Score < s[j].Score })
	pos := 0
	for _, p := range s {
		if p.Same {
			pos++
		}
	}
	// Threshold below everything: all called same.
	correct := pos
	best, bestT := correct, s[0].Score-1e-9
	for i := 0; i < len(s); i++ {
		if s[i].Same {
			correct--
		} else {
			correct++
		}
		if i+1 < len(s) && s[i+1].Score == s[i].Score {
			continue
		}
		if correct > best {
			best = correct
			if i+1 < len(s) {
				bestT = (s[i].Score + s[i+1].Score) / 2
			} else {
				bestT = s[i].Score + 1e-9
			}
		}
	}
	return bestT, float64(best) / float64(len(s))
}

// Accuracy10Fold is LFW's protocol: pairs (shuffled with a fixed seed so
// files grouped by label spread over the folds) are split into 10 folds; each
// fold is scored at the threshold best on the other nine. It returns the mean
// accuracy and the threshold best on all pairs.
func Accuracy10Fold(pairs []ScoredPair) (acc, threshold float64) {
	if len(pairs) < 10 {
		t, a := BestThreshold(pairs)
		return a, t
	}
	s := append([]ScoredPair(nil), pairs...)
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
	var sum float64
	for k := range 10 {
		lo, hi := k*len(s)/10, (k+1)*len(s)/10
		train := append(append([]ScoredPair(nil), s[:lo]...), s[hi:]...)
		t, _ := BestThreshold(train)
		ok := 0
		for _, p := range s[lo:hi] {
			if (p.Score >= t) == p.Same {
				ok++
			}
		}
		sum += float64(ok) / float64(hi-lo)
	}
	threshold, _ = BestThreshold(pairs)
	return sum / 10, threshold
}

// AUC is the area under the ROC curve (probability that a random same pair
// scores above a random different pair; ties count half).
func AUC(pairs []ScoredPair) float64 {
	s := append([]ScoredPair(nil), pairs...)
	sort.Slice(s, func(i, j int) bool { return s[i].Score < s[j].Score })
	var pos, neg, rankSum float64
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j].Score == s[i].Score {
			j++
		}
		avgRank := float64(i+j+1) / 2 // 1-based ranks i+1..j
		for k := i; k < j; k++ {
			if s[k].Same {
				pos++
				rankSum += avgRank
			} else {
				neg++
			}
		}
		i = j
	}
	if pos == 0 || neg == 0 {
		return math.NaN()
	}
	return (rankSum - pos*(pos+1)/2) / (pos * neg)
}

// Rates returns the false-accept and true-accept rates at same ⇔ score ≥ t.
func Rates(pairs []ScoredPair, t float64) (far, tar float64) {
	var fa, ta, neg, pos float64
	for _, p := range pairs {
		if p.Same {
			pos++
			if p.Score >= t {
				ta++
			}
		} else {
			neg++
			if p.Score >= t {
				fa++
			}
		}
	}
	if neg > 0 {
		far = fa / neg
	}
	if pos > 0 {
		tar = ta / pos
	}
	return far, tar
}

// ThresholdAtFAR returns the lowest threshold whose false-accept rate is at
// most far, and whether the data had enough different pairs to measure it
// (at least 1/far of them).
func ThresholdAtFAR(pairs []ScoredPair, far float64) (t float64, measured bool) {
	var neg []float64
	for _, p := range pairs {
		if !p.Same {
			neg = append(neg, p.Score)
		}
	}
	if len(neg) == 0 {
		return math.Inf(1), false
	}
	sort.Sort(sort.Reverse(sort.Float64Slice(neg)))
	k := int(math.Floor(far * float64(len(neg)))) // false accepts allowed
	if k >= len(neg) {
		return neg[len(neg)-1], true
	}
	// Just above the (k+1)-th highest different-pair score.
	return math.Nextafter(neg[k], math.Inf(1)), float64(len(neg))*far >= 1
}

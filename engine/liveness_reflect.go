package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// liveColour is a screen colour of the reflection challenge.
type liveColour struct {
	hex     string
	b, g, r float64 // 0–1
}

// livePalette is saturated colours far apart in chromaticity.
func livePalette() [6]liveColour {
	return [...]liveColour{
		{"#ff0000", 0, 0, 1}, {"#00ff00", 0, 1, 0}, {"#0000ff", 1, 0, 0},
		{"#ffff00", 0, 1, 1}, {"#ff00ff", 1, 0, 1}, {"#00ffff", 1, 1, 0},
	}
}

func paletteColour(hex string) liveColour {
	for _, c := range livePalette() {
		if c.hex == hex {
			return c
		}
	}
	return liveColour{}
}

// planColours picks n colours (neighbours differ, at least 3 distinct) with
// random durations in [minMs, maxMs], in 50 ms steps.
func planColours(r *rand.Rand, n, minMs, maxMs int) []LivenessStep {
	palette := livePalette()
	for {
		out := make([]LivenessStep, n)
		seen := map[int]bool{}
		prev := -1
		for i := range out {
			k := r.IntN(len(palette))
			for k == prev {
				k = r.IntN(len(palette))
			}
			prev = k
			seen[k] = true
			ms := minMs + 50*r.IntN((maxMs-minMs)/50+1)
			out[i] = LivenessStep{Kind: StepColour, Colour: palette[k].hex, Ms: ms,
				Text: "请保持不动，屏幕将变换颜色", TextEN: "Hold still while the screen changes colour"}
		}
		if len(seen) >= 3 {
			return out
		}
	}
}

// colourSample is the face region's mean colour at a frame time.
type colourSample struct {
	at      time.Time
	b, g, r float64
}

// faceColour averages the inner face (cheeks, nose, lower forehead), which
// catches the screen's light while hair and background do not.
func faceColour(f Frame, box Rect) (b, g, r float64, ok bool) {
	if f.Width <= 0 || f.Height <= 0 || len(f.BGR) < f.Width*f.Height*3 {
		return 0, 0, 0, false
	}
	x1 := max(int(box.X1+0.2*box.W()), 0)
	x2 := min(int(box.X2-0.2*box.W()), f.Width)
	y1 := max(int(box.Y1+0.25*box.H()), 0)
	y2 := min(int(box.Y2-0.1*box.H()), f.Height)
	var sb, sg, sr, n float64
	for y := y1; y < y2; y += 2 {
		for x := x1; x < x2; x += 2 {
			p := (y*f.Width + x) * 3
			sb += float64(f.BGR[p])
			sg += float64(f.BGR[p+1])
			sr += float64(f.BGR[p+2])
			n++
		}
	}
	if n < 16 {
		return 0, 0, 0, false
	}
	return sb / n, sg / n, sr / n, true
}

func (s *LivenessSession) feedReflection(f Frame, face *Face, sig liveSignals, reject string) *LivenessVerdict {
	if !s.baseReady {
		s.baselineFeed(f, face, sig, reject)
		return nil
	}
	if s.colourStart.IsZero() || f.At.Before(s.colourStart) {
		return nil
	}
	if reject != LiveReasonCutOff && reject != LiveReasonTooFar {
		if b, g, r, ok := faceColour(f, face.Box); ok {
			s.samples = append(s.samples, colourSample{at: f.At, b: b, g: g, r: r})
		}
	}
	if !s.colourEnd.IsZero() && !f.At.Before(s.colourEnd.Add(s.cfg.MaxLag)) {
		return s.judgeReflection(f.At)
	}
	return nil
}

// judgeReflection checks that the face's chromaticity follows the colour
// sequence: it searches the screen→camera→server delay that best aligns
// them and requires a strong correlation, agreement in (almost) every
// colour, and a visible change at all.
func (s *LivenessSession) judgeReflection(now time.Time) *LivenessVerdict {
	c := &s.cfg
	var colours []liveColour
	var starts, ends []time.Time
	for i, st := range s.steps {
		if st.Kind != StepColour || s.results[i].Sent.IsZero() {
			continue
		}
		colours = append(colours, paletteColour(st.Colour))
		starts = append(starts, s.results[i].Sent)
		ends = append(ends, s.results[i].Sent.Add(time.Duration(st.Ms)*time.Millisecond))
	}
	for k := range len(starts) - 1 {
		ends[k] = starts[k+1] // actual send times beat planned durations
	}
	if !s.colourEnd.IsZero() && len(ends) > 0 {
		ends[len(ends)-1] = s.colourEnd
	}
	const guard = 80 * time.Millisecond // exposure settling around each switch
	type vec [3]float64
	chroma := func(b, g, r float64) vec {
		t := b + g + r
		if t <= 0 {
			return vec{}
		}
		return vec{b / t, g / t, r / t}
	}
	best := struct {
		corr, amp float64
		agree     int
		lag       time.Duration
		per       []float64
	}{corr: -2}
	for lag := time.Duration(0); lag <= c.MaxLag; lag += 20 * time.Millisecond {
		var obs, exp []vec
		var seg []int
		for _, smp := range s.samples {
			u := smp.at.Add(-lag)
			for k := range starts {
				if !u.Before(starts[k].Add(guard)) && u.Before(ends[k].Add(-guard)) {
					obs = append(obs, chroma(smp.b, smp.g, smp.r))
					col := colours[k]
					exp = append(exp, chroma(col.b+0.05, col.g+0.05, col.r+0.05))
					seg = append(seg, k)
					break
				}
			}
		}
		if len(obs) < 2*len(starts) {
			continue
		}
		var mo, me vec
		for i := range obs {
			for j := range 3 {
				mo[j] += obs[i][j] / float64(len(obs))
				me[j] += exp[i][j] / float64(len(obs))
			}
		}
		var sxy, sxx, syy float64
		perO := make([]vec, len(starts))
		perE := make([]vec, len(starts))
		for i := range obs {
			for j := range 3 {
				o, e := obs[i][j]-mo[j], exp[i][j]-me[j]
				sxy += o * e
				sxx += o * o
				syy += e * e
				perO[seg[i]][j] += o
				perE[seg[i]][j] = e
			}
		}
		if sxx == 0 || syy == 0 {
			continue
		}
		corr := sxy / math.Sqrt(sxx*syy)
		if corr <= best.corr {
			continue
		}
		agree := 0
		per := make([]float64, len(starts))
		for k := range starts {
			var d, no, ne float64
			for j := range 3 {
				d += perO[k][j] * perE[k][j]
				no += perO[k][j] * perO[k][j]
				ne += perE[k][j] * perE[k][j]
			}
			if no > 0 && ne > 0 {
				per[k] = d / math.Sqrt(no*ne)
			}
			if per[k] > 0.3 {
				agree++
			}
		}
		best.corr, best.amp, best.agree, best.lag, best.per = corr, math.Sqrt(sxx/float64(len(obs))), agree, lag, per
	}
	// Record per-colour agreement on the steps.
	k := 0
	for i, st := range s.steps {
		if st.Kind == StepColour && !s.results[i].Sent.IsZero() && k < len(best.per) {
			s.results[i].Value = math.Round(best.per[k]*1000) / 1000
			s.results[i].Pass = best.per[k] > 0.3
			k++
		}
	}
	var v *LivenessVerdict
	switch {
	case best.corr == -2:
		v = s.decide(now, LiveFailed, "FailedOperation.LivessDetectFail", LiveReasonStreamTooSlow,
			"有效画面不足，请保持人脸在画面中", fmt.Sprintf("too few face frames during the %d colours", len(starts)))
	case best.amp < c.MinAmplitude:
		v = s.decide(now, LiveFailed, "FailedOperation.LivessDetectFail", LiveReasonNoReflection,
			"未检测到屏幕反光，请调高屏幕亮度、靠近屏幕后重试",
			fmt.Sprintf("the face's colour did not change (%.4f < %.4f)", best.amp, c.MinAmplitude))
	case best.corr < c.MinCorr || best.agree < len(starts)-1:
		v = s.decide(now, LiveFakeRecording, "FailedOperation.LivessDetectFake", LiveReasonReflectWrong,
			"反光颜色与屏幕不符，疑似非真人", fmt.Sprintf("the face's colour does not follow the screen (correlation %.2f, %d of %d colours)",
				best.corr, best.agree, len(starts)))
	default:
		v = s.decide(now, LiveOK, "Success", LiveReasonPass, "活体检测通过",
			fmt.Sprintf("the person is live (colour correlation %.2f at %s delay)", best.corr, best.lag))
	}
	v.Score = math.Round(max(best.corr, 0)*10000) / 100
	return v
}

package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// liveSignals are per-frame measurements from the 68 landmarks (iBUG) and
// the pose/eye models.
type liveSignals struct {
	ok      bool    // 68 landmarks present
	ear     float64 // eye aspect ratio, both eyes averaged (≈0.3 open, <0.2 closed)
	mar     float64 // inner-lip gap / mouth width
	yaw     float64 // nose offset between the jaw ends, −1…1; positive = turned to the person's left
	pitch   float64 // nose tip height between eye line and chin, 0…1; grows when the head nods down
	eyeOpen float64 // the eye model's mean "open" probability
	pose    Pose
}

func liveSignalsOf(f *Face) liveSignals {
	s := liveSignals{eyeOpen: float64(f.EyeOpen[0]+f.EyeOpen[1]) / 2, pose: f.Pose}
	p := f.Landmarks
	if len(p) != 68 {
		return s
	}
	d := func(a, b int) float64 { return math.Hypot(float64(p[a].X-p[b].X), float64(p[a].Y-p[b].Y)) }
	ear := func(e int) float64 {
		w := d(e, e+3)
		if w == 0 {
			return 0
		}
		return (d(e+1, e+5) + d(e+2, e+4)) / (2 * w)
	}
	s.ear = (ear(36) + ear(42)) / 2
	if w := d(48, 54); w > 0 {
		s.mar = (d(61, 67) + d(62, 66) + d(63, 65)) / (3 * w)
	}
	// In the camera's (unmirrored) image the person's left is the image's
	// right: turning left moves the nose tip (30) away from jaw point 0.
	if l, r := d(30, 0), d(30, 16); l+r > 0 {
		s.yaw = (l - r) / (l + r)
	}
	eyeY := float64(p[36].Y+p[39].Y+p[42].Y+p[45].Y) / 4
	if h := float64(p[8].Y) - eyeY; h > 0 {
		s.pitch = (float64(p[30].Y) - eyeY) / h
	}
	s.ok = true
	return s
}

// medianSignals is the element-wise median of a baseline.
func medianSignals(in []liveSample) liveSignals {
	med := func(get func(liveSignals) float64) float64 {
		v := make([]float64, 0, len(in))
		for _, x := range in {
			v = append(v, get(x.sig))
		}
		slices.Sort(v)
		if len(v) == 0 {
			return 0
		}
		return v[len(v)/2]
	}
	return liveSignals{
		ok:      true,
		ear:     med(func(s liveSignals) float64 { return s.ear }),
		mar:     med(func(s liveSignals) float64 { return s.mar }),
		yaw:     med(func(s liveSignals) float64 { return s.yaw }),
		pitch:   med(func(s liveSignals) float64 { return s.pitch }),
		eyeOpen: med(func(s liveSignals) float64 { return s.eyeOpen }),
		pose: Pose{
			Yaw:   float32(med(func(s liveSignals) float64 { return float64(s.pose.Yaw) })),
			Pitch: float32(med(func(s liveSignals) float64 { return float64(s.pose.Pitch) })),
		},
	}
}

// planActions picks two different actions at random.
func planActions(r *rand.Rand, window time.Duration) []LivenessStep {
	all := []LivenessStep{
		{Kind: StepBlink, Text: "请缓慢眨眼", TextEN: "Blink slowly"},
		{Kind: StepMouth, Text: "请张张嘴", TextEN: "Open your mouth"},
		{Kind: StepLeft, Text: "请向左转头", TextEN: "Turn your head to your left"},
		{Kind: StepRight, Text: "请向右转头", TextEN: "Turn your head to your right"},
		{Kind: StepNod, Text: "请点点头", TextEN: "Nod your head"},
	}
	r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	out := all[:2]
	for i := range out {
		out[i].Ms = int(window / time.Millisecond)
	}
	return out
}

// baselineReady collects good frontal frames until the baseline is known.
func (s *LivenessSession) baselineFeed(f Frame, face *Face, sig liveSignals, reject string) {
	if reject != "" || !sig.ok {
		return
	}
	s.base = append(s.base, s.sample(f, face, sig))
	if len(s.base) >= s.cfg.BaselineFrames && s.base[len(s.base)-1].at.Sub(s.base[0].at) >= 300*time.Millisecond {
		s.baseline = medianSignals(s.base)
		s.baseReady = true
		s.results[0].Pass, s.results[0].Done = true, f.At
	}
}

func (s *LivenessSession) feedAction(f Frame, face *Face, sig liveSignals, reject string) *LivenessVerdict {
	if !s.baseReady {
		s.baselineFeed(f, face, sig, reject)
		return nil
	}
	i := s.next - 1
	if i < 1 || s.stepStart.IsZero() || f.At.Before(s.stepStart) || !sig.ok {
		return nil
	}
	s.stepSeen = append(s.stepSeen, sig)
	c, b := &s.cfg, s.baseline
	kind := s.steps[i].Kind
	var done bool
	var value float64
	switch kind {
	case StepBlink:
		// Closed (EAR well below the baseline), then open again.
		closedAt := -1
		for j, x := range s.stepSeen {
			if x.ear <= b.ear*(1-c.BlinkDrop) {
				if closedAt < 0 {
					closedAt = j
				}
				value = max(value, 1-x.ear/b.ear)
			}
		}
		if closedAt >= 0 {
			for _, x := range s.stepSeen[closedAt+1:] {
				if x.ear >= b.ear*(1-c.BlinkDrop/2) {
					done = true
				}
			}
		}
	case StepMouth:
		for _, x := range s.stepSeen {
			value = max(value, x.mar-b.mar)
		}
		done = value >= c.MouthOpen
	case StepLeft, StepRight:
		sign := 1.0
		if kind == StepRight {
			sign = -1
		}
		for _, x := range s.stepSeen {
			// The landmarks and the pose model must agree; the pose model's
			// yaw grows when the person turns to their right.
			dy := (x.yaw - b.yaw) * sign
			dp := -float64(x.pose.Yaw-b.pose.Yaw) * sign
			if dp >= c.MinPoseTurn {
				value = max(value, dy)
			}
			// Turning the other way first is not following the prompt.
			if dy <= -c.TurnDelta && dp <= -c.MinPoseTurn && value < c.TurnDelta {
				return s.decide(f.At, LiveFailed, "FailedOperation.LivessDetectFail", LiveReasonWrongAction,
					"动作不符合提示，请按提示转头", fmt.Sprintf("asked to turn %s, the head turned the other way", kind))
			}
		}
		done = value >= c.TurnDelta
	case StepNod:
		// Down (or up) and back.
		peak := -1
		for j, x := range s.stepSeen {
			if dp := math.Abs(x.pitch - b.pitch); dp >= c.NodDelta && math.Abs(float64(x.pose.Pitch-b.pose.Pitch)) >= c.MinPoseNod {
				if peak < 0 {
					peak = j
				}
				value = max(value, dp)
			}
		}
		if peak >= 0 {
			for _, x := range s.stepSeen[peak+1:] {
				if math.Abs(x.pitch-b.pitch) <= c.NodDelta/2 {
					done = true
				}
			}
		}
	}
	s.results[i].Value = math.Round(value*1000) / 1000
	if !done {
		return nil
	}
	s.results[i].Pass, s.results[i].Done = true, f.At
	s.stepStart = time.Time{}
	if i == len(s.steps)-1 {
		return s.decide(f.At, LiveOK, "Success", LiveReasonPass, "活体检测通过", "the person is live")
	}
	return nil
}

// stepTimeout fails the action whose window has passed.
func (s *LivenessSession) stepTimeout(now time.Time) *LivenessVerdict {
	i := s.next - 1
	kind := s.steps[i].Kind
	en := fmt.Sprintf("action %q not seen within %s", kind, s.cfg.StepTimeout)
	switch {
	case kind == StepBlink:
		return s.decide(now, LiveNoBlink, "FailedOperation.ActionCloseEye", LiveReasonStepTimeout, "未检测到眨眼动作", en)
	case kind == StepMouth:
		return s.decide(now, LiveNoMouth, "FailedOperation.ActionOpenMouth", LiveReasonStepTimeout, "未检测到张嘴动作", en)
	case i == 1:
		return s.decide(now, LiveNoFirstAction, "FailedOperation.ActionFirstAction", LiveReasonStepTimeout, "未检测到第一个动作", en)
	}
	return s.decide(now, LiveFailed, "FailedOperation.LivessDetectFail", LiveReasonStepTimeout, "未检测到指定动作", en)
}

package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// Synthetic streams: a drawn face whose 68 landmarks, embedding, model
// outputs and pixels follow a scripted person.

type person struct {
	yaw, pitch   float64 // head turn (+ = own left), nod (+ = down), roughly −0.5…0.5
	eye          float64 // eye opening, 1 = open, 0 = closed
	mouth        float64 // 0 closed … 1 wide open
	live         float32
	bright       float64
	sharp        float64
	tint         [3]float64 // BGR light added to the face, 0–1
	id           int        // identity: different ids have unrelated embeddings
	faces        int        // faces in view (default 1)
	still        bool       // no jitter at all (a still image)
	absent       bool
	dx           float64 // horizontal shift in pixels
	embNoiseSeed uint64
}

const synW, synH = 320, 240

// render draws person p at time at.
func render(p person, at time.Time, rng *rand.Rand) (Frame, *Analysis) {
	f := Frame{Width: synW, Height: synH, BGR: make([]byte, synW*synH*3), At: at}
	a := &Analysis{Width: synW, Height: synH, Chosen: -1}
	if p.absent {
		return f, a
	}
	jit := func() float32 {
		if p.still {
			return 0
		}
		return float32(rng.NormFloat64() * 0.6)
	}
	cx, cy := float32(160+p.dx), float32(120)
	const s = 0.5 // landmark scale: the face is 100 px wide
	pt := func(x, y float64) Point {
		return Point{cx + float32(x*s) + jit(), cy + float32(y*s) + jit()}
	}
	lm := make([]Point, 68)
	for i := 0; i <= 16; i++ { // jaw
		lm[i] = pt(-100+200*float64(i)/16, -20+100*math.Sin(math.Pi*float64(i)/16))
	}
	for i := 17; i <= 26; i++ { // brows
		lm[i] = pt(-80+160*float64(i-17)/9+p.yaw*20, -70)
	}
	nx, ny := p.yaw*60, p.pitch*60
	for i := 27; i <= 30; i++ { // bridge to tip
		lm[i] = pt(nx*float64(i-26)/4, -50+float64(i-27)*20+ny*float64(i-26)/4)
	}
	for i := 31; i <= 35; i++ {
		lm[i] = pt(nx-20+float64(i-31)*10, 20+ny)
	}
	eye := func(base int, ex float64) {
		h := 1 + 5*p.eye
		ex += p.yaw * 20
		pts := [6][2]float64{{-20, 0}, {-7, -h}, {7, -h}, {20, 0}, {7, h}, {-7, h}}
		for k, q := range pts {
			lm[base+k] = pt(ex+q[0], -40+q[1])
		}
	}
	eye(36, -45)
	eye(42, 45)
	mx, gap := p.yaw*20, 2+38*p.mouth
	for i := 48; i <= 59; i++ { // outer lip
		t := 2 * math.Pi * float64(i-48) / 12
		lm[i] = pt(mx-40*math.Cos(t), 45+(10+gap/2)*math.Sin(t))
	}
	lm[60], lm[64] = pt(mx-30, 45), pt(mx+30, 45)
	for k, x := range []float64{-10, 0, 10} {
		lm[61+k] = pt(mx+x, 45-gap/2)
		lm[67-k] = pt(mx+x, 45+gap/2)
	}
	box := Rect{cx - 50, cy - 50, cx + 50, cy + 50}
	emb := identity(p.id)
	for i := range emb {
		emb[i] += float32(rng.NormFloat64() * 0.01)
	}
	Normalize(emb)
	bright := p.bright
	if bright == 0 {
		bright = 130
	}
	sharp := p.sharp
	if sharp == 0 {
		sharp = 120
	}
	face := Face{Box: box, Score: 0.99, Landmarks: lm, Embedding: emb, Live: p.live,
		Pose:    Pose{Yaw: float32(-p.yaw * 60), Pitch: float32(p.pitch * 40)}, // the model's yaw grows turning right
		EyeOpen: [2]float32{float32(p.eye), float32(p.eye)}, Sharpness: sharp, Bright: bright}
	a.Faces = append(a.Faces, face)
	for k := 1; k < max(p.faces, 1); k++ {
		other := face
		other.Box = Rect{box.X1 - 110, box.Y1, box.X2 - 110, box.Y2}
		a.Faces = append(a.Faces, other)
	}
	a.Chosen = 0
	// Pixels: skin lit by the room plus the screen's tint, a little noise.
	skin := [3]float64{bright * 0.8, bright * 0.95, bright * 1.2}
	for y := int(box.Y1); y < int(box.Y2); y++ {
		for x := int(box.X1); x < int(box.X2); x++ {
			o := (y*synW + x) * 3
			for c := range 3 {
				v := skin[c] + 60*p.tint[c]
				if !p.still {
					v += rng.NormFloat64() * 2
				}
				f.BGR[o+c] = byte(min(max(v, 0), 255))
			}
		}
	}
	return f, a
}

// identity returns a fixed unit embedding per id.
func identity(id int) []float32 {
	r := rand.New(rand.NewPCG(uint64(id)+1, 7))
	v := make([]float32, EmbeddingSize)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	Normalize(v)
	return v
}

// script says how the person looks at time now, given the step the page
// currently shows and when it was sent.
type script func(now time.Time, step LivenessStep, sent time.Time) person

// run feeds the session at fps until a verdict or limit.
func run(t *testing.T, s *LivenessSession, fps float64, limit time.Duration, sc script) *LivenessVerdict {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	var cur LivenessStep
	var sent time.Time
	for now := start; now.Sub(start) < limit; now = now.Add(time.Duration(float64(time.Second) / fps)) {
		for _, st := range s.Due(now) {
			if st.Type != "step" || st.ID == "" || st.Text == "" || st.TextEN == "" {
				t.Fatalf("bad step %+v", st)
			}
			cur, sent = st, now
			s.Ack(st.ID, now.Add(20*time.Millisecond))
		}
		f, a := render(sc(now, cur, sent), now, rng)
		if v := s.Feed(f, a); v != nil {
			return v
		}
	}
	v := s.Tick(start.Add(limit + time.Hour))
	if v == nil {
		t.Fatal("no verdict")
	}
	return v
}

func newSession(t *testing.T, cfg LivenessConfig) *LivenessSession {
	t.Helper()
	if cfg.Rand == nil {
		cfg.Rand = rand.New(rand.NewPCG(42, 42))
	}
	s, err := NewLivenessSession(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func want(t *testing.T, v *LivenessVerdict, code int, reason string) {
	t.Helper()
	if v.ErrCode != code || v.Reason != reason || v.Pass != (code == 0) || v.Message == "" || v.EN == "" || v.Code == "" {
		t.Fatalf("verdict %d %s %s (%s), want %d %s", v.ErrCode, v.Code, v.Reason, v.EN, code, reason)
	}
}

func steady(p person) script { return func(time.Time, LivenessStep, time.Time) person { return p } }

func TestLivenessSilent(t *testing.T) {
	t.Run("pass", func(t *testing.T) {
		s := newSession(t, LivenessConfig{Mode: LivenessSilent})
		v := run(t, s, 10, 10*time.Second, steady(person{eye: 1, live: 0.9}))
		want(t, v, LiveOK, LiveReasonPass)
		if v.Best == nil || v.Best.Frame.Width != synW || v.Score != 90 || v.Sequence != "5" {
			t.Fatalf("best %v score %v seq %q", v.Best != nil, v.Score, v.Sequence)
		}
		if v.Duration < 2*time.Second || v.Duration > 2600*time.Millisecond { // 1.2 s warm-up + 0.8 s span
			t.Fatalf("decided after %s", v.Duration)
		}
	})
	scenarios := []struct {
		name   string
		p      person
		code   int
		reason string
	}{
		{"passive model says fake", person{eye: 1, live: 0.2}, LiveSilentFake, LiveReasonPassive},
		{"still image", person{eye: 1, live: 0.9, still: true}, LiveSilentFake, LiveReasonStatic},
		{"two people", person{eye: 1, live: 0.9, faces: 2}, LiveSeveralFaces, LiveReasonSeveralFaces},
		{"nobody", person{absent: true}, LiveNoFace, LiveReasonNoFace},
		{"too dark", person{eye: 1, live: 0.9, bright: 20}, LiveTooDark, LiveReasonTooDark},
		{"too bright", person{eye: 1, live: 0.9, bright: 240}, LiveTooBright, LiveReasonTooBright},
		{"blurred", person{eye: 1, live: 0.9, sharp: 3}, LiveSilentQuality, LiveReasonBlurred},
		{"turned away", person{eye: 1, live: 0.9, yaw: 0.6}, LiveSilentQuality, LiveReasonPose},
		{"cut off", person{eye: 1, live: 0.9, dx: 140}, LiveNoFullFace, LiveReasonCutOff},
	}
	for i, sc := range scenarios {
		t.Run(fmt.Sprintf("%d_%s", i, sc.name), func(t *testing.T) {
			s := newSession(t, LivenessConfig{Mode: LivenessSilent})
			want(t, run(t, s, 10, 25*time.Second, steady(sc.p)), sc.code, sc.reason)
		})
	}
	t.Run("face swapped", func(t *testing.T) {
		s := newSession(t, LivenessConfig{Mode: LivenessSilent, SilentFrames: 30})
		var start time.Time
		v := run(t, s, 10, 10*time.Second, func(now time.Time, _ LivenessStep, _ time.Time) person {
			if start.IsZero() {
				start = now
			}
			p := person{eye: 1, live: 0.9}
			if now.Sub(start) > time.Second {
				p.id = 2
			}
			return p
		})
		want(t, v, LiveNotSamePerson, LiveReasonFaceChanged)
	})
}

func TestLivenessTiming(t *testing.T) {
	at := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(3, 4))
	p := person{eye: 1, live: 0.9}

	s := newSession(t, LivenessConfig{Mode: LivenessSilent})
	s.Due(at)
	f, a := render(p, at, rng)
	s.Feed(f, a)
	f, a = render(p, at.Add(-time.Second), rng)
	want(t, s.Feed(f, a), LiveFakeRecording, LiveReasonTiming)

	s = newSession(t, LivenessConfig{Mode: LivenessSilent})
	s.Due(at)
	f, a = render(p, at, rng)
	s.Feed(f, a)
	f, a = render(p, at.Add(5*time.Second), rng)
	want(t, s.Feed(f, a), LiveNetwork, LiveReasonTiming)

	s = newSession(t, LivenessConfig{Mode: LivenessSilent})
	s.Due(at)
	if v := s.Tick(at.Add(time.Second)); v != nil {
		t.Fatalf("early verdict %+v", v)
	}
	want(t, s.Tick(at.Add(21*time.Second)), LiveNoFace, LiveReasonNoFace)

	s = newSession(t, LivenessConfig{Mode: LivenessSilent})
	want(t, s.Abort(at, LiveNetwork, fmt.Errorf("peer gone")), LiveNetwork, LiveReasonNetwork)
	if _, err := NewLivenessSession(LivenessConfig{Mode: LivenessDigit}); AsError(err).Reason != LiveReasonUnsupported {
		t.Fatalf("digit mode: %v", err)
	}
}

// follow acts out the step shown: starts 300 ms after it is sent.
func follow(kind string, sent, now time.Time, p *person) {
	d := now.Sub(sent) - 300*time.Millisecond
	if d < 0 {
		return
	}
	ramp := func(peak float64) float64 { // up over 400 ms, hold 300, back over 400
		switch {
		case d < 400*time.Millisecond:
			return peak * float64(d) / float64(400*time.Millisecond)
		case d < 700*time.Millisecond:
			return peak
		case d < 1100*time.Millisecond:
			return peak * float64(1100*time.Millisecond-d) / float64(400*time.Millisecond)
		}
		return 0
	}
	switch kind {
	case StepBlink:
		if d < 250*time.Millisecond {
			p.eye = 0.05
		}
	case StepMouth:
		p.mouth = ramp(1)
	case StepLeft:
		p.yaw = ramp(0.7)
	case StepRight:
		p.yaw = -ramp(0.7)
	case StepNod:
		p.pitch = ramp(0.3)
	}
}

func TestLivenessAction(t *testing.T) {
	kinds := []string{StepBlink, StepMouth, StepLeft, StepRight, StepNod}
	for _, k1 := range kinds {
		for _, k2 := range kinds {
			if k1 == k2 {
				continue
			}
			t.Run(k1+"_"+k2, func(t *testing.T) {
				s := newSession(t, LivenessConfig{Mode: LivenessAction})
				s.steps[1].Kind, s.steps[2].Kind = k1, k2
				s.results[1].Kind, s.results[2].Kind = k1, k2
				v := run(t, s, 10, 30*time.Second, func(now time.Time, st LivenessStep, sent time.Time) person {
					p := person{eye: 1, live: 0.9}
					follow(st.Kind, sent, now, &p)
					return p
				})
				if !v.Pass {
					t.Logf("steps %+v", v.Steps)
				}
				want(t, v, LiveOK, LiveReasonPass)
				if v.Score != 2 || !v.Steps[1].Pass || !v.Steps[2].Pass {
					t.Fatalf("steps %+v", v.Steps)
				}
			})
		}
	}
	// Doing nothing fails with the first step's code.
	codes := map[string]int{StepBlink: LiveNoBlink, StepMouth: LiveNoMouth, StepLeft: LiveNoFirstAction,
		StepRight: LiveNoFirstAction, StepNod: LiveNoFirstAction}
	for _, k := range kinds {
		t.Run("idle_"+k, func(t *testing.T) {
			s := newSession(t, LivenessConfig{Mode: LivenessAction})
			s.steps[1].Kind, s.results[1].Kind = k, k
			v := run(t, s, 10, 30*time.Second, steady(person{eye: 1, live: 0.9}))
			want(t, v, codes[k], LiveReasonStepTimeout)
		})
	}
	t.Run("wrong way", func(t *testing.T) {
		s := newSession(t, LivenessConfig{Mode: LivenessAction})
		s.steps[1].Kind, s.results[1].Kind = StepLeft, StepLeft
		v := run(t, s, 10, 30*time.Second, func(now time.Time, st LivenessStep, sent time.Time) person {
			p := person{eye: 1, live: 0.9}
			if st.Kind == StepLeft {
				follow(StepRight, sent, now, &p)
			}
			return p
		})
		want(t, v, LiveFailed, LiveReasonWrongAction)
	})
	t.Run("random plan", func(t *testing.T) {
		seqs := map[string]bool{}
		for range 50 {
			s, err := NewLivenessSession(LivenessConfig{Mode: LivenessAction})
			if err != nil {
				t.Fatal(err)
			}
			st := s.Steps()
			if len(st) != 3 || st[0].Kind != StepLook || st[1].Kind == st[2].Kind || st[1].Ms != 6000 {
				t.Fatalf("plan %+v", st)
			}
			seqs[st[1].Kind+","+st[2].Kind] = true
		}
		if len(seqs) < 8 {
			t.Fatalf("only %d different plans in 50", len(seqs))
		}
	})
}

// reflect lights the face with the colour on screen, lag after it is sent.
func reflect(lag time.Duration, strength float64) script {
	var shown []struct {
		at  time.Time
		col string
	}
	return func(now time.Time, st LivenessStep, sent time.Time) person {
		if len(shown) == 0 || shown[len(shown)-1].at != sent {
			shown = append(shown, struct {
				at  time.Time
				col string
			}{sent, st.Colour})
		}
		p := person{eye: 1, live: 0.9}
		for i := len(shown) - 1; i >= 0; i-- {
			if !now.Before(shown[i].at.Add(lag)) {
				if c := paletteColour(shown[i].col); c.hex != "" {
					p.tint = [3]float64{c.b * strength, c.g * strength, c.r * strength}
				}
				break
			}
		}
		return p
	}
}

func TestLivenessReflection(t *testing.T) {
	t.Run("plan", func(t *testing.T) {
		for range 50 {
			s, err := NewLivenessSession(LivenessConfig{Mode: LivenessReflection})
			if err != nil {
				t.Fatal(err)
			}
			st := s.Steps()
			colours := st[1 : len(st)-1]
			if len(colours) < 4 || len(colours) > 6 || st[len(st)-1].Kind != StepDone {
				t.Fatalf("plan %+v", st)
			}
			distinct := map[string]bool{}
			for i, c := range colours {
				if c.Kind != StepColour || c.Ms < 700 || c.Ms > 1300 || (i > 0 && c.Colour == colours[i-1].Colour) {
					t.Fatalf("colour step %+v", c)
				}
				distinct[c.Colour] = true
			}
			if len(distinct) < 3 {
				t.Fatalf("only %d colours", len(distinct))
			}
		}
	})
	for _, lag := range []time.Duration{100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond} {
		t.Run(fmt.Sprintf("follows_%s", lag), func(t *testing.T) {
			s := newSession(t, LivenessConfig{Mode: LivenessReflection})
			v := run(t, s, 10, 30*time.Second, reflect(lag, 0.5))
			want(t, v, LiveOK, LiveReasonPass)
			t.Logf("%s (score %v)", v.EN, v.Score)
			if v.Score < 80 || !strings.Contains(v.EN, "correlation") {
				t.Fatalf("score %v: %s", v.Score, v.EN)
			}
		})
	}
	t.Run("no reflection", func(t *testing.T) {
		s := newSession(t, LivenessConfig{Mode: LivenessReflection})
		want(t, run(t, s, 10, 30*time.Second, steady(person{eye: 1, live: 0.9})), LiveFailed, LiveReasonNoReflection)
	})
	t.Run("replayed other sequence", func(t *testing.T) {
		// A recording made against another session's colours.
		other := newSession(t, LivenessConfig{Mode: LivenessReflection, Rand: rand.New(rand.NewPCG(9, 9))})
		otherSteps := other.Steps()
		s := newSession(t, LivenessConfig{Mode: LivenessReflection})
		var t0 time.Time
		v := run(t, s, 10, 30*time.Second, func(now time.Time, st LivenessStep, sent time.Time) person {
			p := person{eye: 1, live: 0.9}
			if st.Kind == StepColour && t0.IsZero() {
				t0 = sent
			}
			if t0.IsZero() {
				return p
			}
			el := now.Sub(t0)
			for _, o := range otherSteps[1 : len(otherSteps)-1] {
				if el < time.Duration(o.Ms)*time.Millisecond {
					c := paletteColour(o.Colour)
					p.tint = [3]float64{c.b * 0.5, c.g * 0.5, c.r * 0.5}
					break
				}
				el -= time.Duration(o.Ms) * time.Millisecond
			}
			return p
		})
		t.Logf("replay: %s", v.EN)
		if v.Pass || v.ErrCode != LiveFakeRecording {
			t.Fatalf("replay: %d %s %s", v.ErrCode, v.Reason, v.EN)
		}
	})
}

package engine

import (
	crand "crypto/rand"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"
)

// Live capture liveness: a LivenessSession consumes the analysed frames of
// one camera stream (server-decoded, the browser is never trusted), tells
// the driver which challenge steps to send to the page and when, and
// decides a verdict with the hosted flow's codes (reference §3.1).
//
// Every mode also requires: exactly one face, the same face throughout
// (embedding continuity), frames at a plausible rate, and time limits.

// Hosted-flow liveness codes (LiveStatus / ErrCode), reference §3.1. 1203–1210
// follow an unverified client mapping that matches the Action* code names.
const (
	LiveOK            = 0
	LiveEngineTimeout = 1001 // the analysis engine failed or was too slow
	LiveFakeRecording = 1002 // suspected non-live recording (replay, still image, wrong colours)
	LiveFailed        = 1003 // real-person check failed
	LiveNetwork       = 1008 // unstable network: the stream stalled or ended
	LiveTooDark       = 1201
	LiveTooBright     = 1202
	LiveTooClose      = 1203
	LiveTooFar        = 1205
	LiveNoBlink       = 1207
	LiveNoFirstAction = 1208
	LiveNoMouth       = 1209
	LiveNoFullFace    = 1210
	LiveSilentFake    = 1301
	LiveSilentQuality = 1302
	LiveSilentShort   = 1303
	LiveNoFace        = 2004 // no usable face in the video
	LiveNotSamePerson = 2011
	LiveSeveralFaces  = 2012
)

// Heshen reasons of a liveness verdict (LivenessVerdict.Reason).
const (
	LiveReasonPass          = "PASS"
	LiveReasonNoFace        = "NO_FACE"
	LiveReasonSeveralFaces  = "SEVERAL_FACES"
	LiveReasonFaceChanged   = "FACE_CHANGED"
	LiveReasonTooDark       = "TOO_DARK"
	LiveReasonTooBright     = "TOO_BRIGHT"
	LiveReasonTooFar        = "TOO_FAR"
	LiveReasonTooClose      = "TOO_CLOSE"
	LiveReasonCutOff        = "FACE_CUT_OFF"
	LiveReasonPose          = "NOT_FRONTAL"
	LiveReasonBlurred       = "BLURRED"
	LiveReasonStatic        = "STATIC_IMAGE"
	LiveReasonPassive       = "PASSIVE_MODEL"
	LiveReasonTimeout       = "SESSION_TIMEOUT"
	LiveReasonStepTimeout   = "STEP_TIMEOUT"
	LiveReasonWrongAction   = "WRONG_ACTION"
	LiveReasonNoReflection  = "REFLECTION_WEAK"
	LiveReasonReflectWrong  = "REFLECTION_MISMATCH"
	LiveReasonTiming        = "FRAME_TIMING"
	LiveReasonNetwork       = "NETWORK"
	LiveReasonEngine        = "ENGINE"
	LiveReasonUnsupported   = "UNSUPPORTED_MODE"
	LiveReasonStreamTooSlow = "TOO_FEW_FRAMES"
)

// Step kinds sent to the page.
const (
	StepLook   = "look"   // face the screen (baseline)
	StepBlink  = "blink"  // blink
	StepMouth  = "mouth"  // open the mouth
	StepLeft   = "left"   // turn the head to the person's own left
	StepRight  = "right"  // turn the head to the person's own right
	StepNod    = "nod"    // nod
	StepColour = "colour" // the whole screen shows Colour
	StepDone   = "done"   // challenge over; the page clears the screen
)

// LivenessStep is one challenge step, sent to the page as JSON text.
type LivenessStep struct {
	Type   string `json:"type"` // always "step"
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	Colour string `json:"colour,omitempty"` // #rrggbb for StepColour
	Ms     int    `json:"ms"`               // colour: how long it shows; action: the window
	Text   string `json:"text"`             // prompt, Chinese
	TextEN string `json:"text_en"`          // prompt, English
}

// LivenessStepResult records what happened to one step.
type LivenessStepResult struct {
	ID     string    `json:"id"`
	Kind   string    `json:"kind"`
	Colour string    `json:"colour,omitempty"`
	Sent   time.Time `json:"sent"`
	Acked  time.Time `json:"acked,omitzero"` // server time the page's ack arrived (pacing only)
	Done   time.Time `json:"done,omitzero"`  // frame time the step was seen done
	Pass   bool      `json:"pass"`
	Value  float64   `json:"value"` // the measured signal (EAR drop, yaw change, colour agreement…)
}

// LivenessFrame is a kept frame and its face.
type LivenessFrame struct {
	Frame Frame
	Face  Face
	Score float64 // best-frame score: sharpness × frontality × exposure
}

// LivenessVerdict is the outcome of a session.
type LivenessVerdict struct {
	Mode     int                  `json:"mode"`
	Pass     bool                 `json:"pass"`
	ErrCode  int                  `json:"err_code"` // hosted flow: 0, 1001–1008, 12xx, 13xx, 20xx
	Code     string               `json:"code"`     // pure-API Result: "Success" or FailedOperation.*
	Reason   string               `json:"reason"`
	Message  string               `json:"message"`
	EN       string               `json:"message_en"`
	Score    float64              `json:"score"`    // silent: combined live probability ×100; reflection: colour correlation ×100; action: steps passed
	Sequence string               `json:"sequence"` // Tencent's LivenessActionSequence for action mode ("1,2")
	Steps    []LivenessStepResult `json:"steps,omitempty"`
	Best     *LivenessFrame       `json:"-"`
	// Diagnostics: face motion (landmarks between frames, centre spread,
	// grey change; see motion) and the lowest embedding cosine with the
	// session's reference face.
	Motion    [3]float64    `json:"motion"`
	MinCosine float64       `json:"min_cosine"`
	Frames    int           `json:"frames"`   // analysed frames
	Duration  time.Duration `json:"duration"` // first frame → verdict
}

// LivenessConfig tunes a session. Zero values take the defaults noted;
// thresholds were measured on the appliance's models (see the tests).
type LivenessConfig struct {
	Mode int        // LivenessSilent, LivenessAction or LivenessReflection
	Rand *rand.Rand // challenge randomness; nil = ChaCha8 seeded from crypto/rand

	MaxDuration time.Duration // whole session (default 20 s; reflection 30 s)
	StepTimeout time.Duration // one action step's window (default 6 s)
	MaxGap      time.Duration // longest gap between analysed frames (default 3 s)

	// Face quality for a "good" frame.
	MinFaceFrac  float64 // face width / frame width (default 0.1); below: too far
	MaxFaceFrac  float64 // (default 0.85); above: too close
	MinBright    float64 // face mean grey (default 45)
	MaxBright    float64 // (default 225)
	MinSharpness float64 // variance of the Laplacian of the aligned face (default 40; sharp video frames measure 500–8000)
	MaxYaw       float64 // degrees (default 25)
	MaxPitch     float64 // degrees (default 25)

	// Continuity: cosine of a face's embedding with the session's reference
	// face; below it on two frames in a row the face has changed.
	MinCosine float64 // default 0.3

	// Silent.
	SilentFrames  int           // good frames combined (default 5)
	SilentSpan    time.Duration // they must span at least this (default 800 ms)
	SilentMinLive float64       // mean live probability to pass (default 0.5)
	// Frames before this (from the first frame) are not used: the browser's
	// encoder starts blurred and sharpens as its bandwidth estimate ramps
	// up, which makes even a still image change from frame to frame.
	SilentWarmup time.Duration // default 1.2 s
	// A still image: landmarks and face pixels barely move between frames.
	// Measured through Chromium: a still photo 0.0015 and 0.0063 (after
	// the warm-up), the live clip 0.21 and 0.36. Coding noise makes the grey
	// change of a still (≈2) too close to a still person's to be used.
	StaticLandmark float64 // mean landmark motion between frames / face width (default 0.003)
	StaticSpread   float64 // spread of the face centre / face width (default 0.01)

	// Action.
	BaselineFrames int // good frames before the first step (default 3)
	// The eye-state model is not used: it called wide-open eyes in the test
	// clip closed (0.00) and closed eyes on LFW open (0.93). The landmarks'
	// eye aspect ratio does separate them: open 0.24–0.47, closed 0.11–0.16.
	BlinkDrop   float64 // eye aspect ratio drop (fraction of baseline) for a blink (default 0.45)
	MouthOpen   float64 // rise of inner-lip gap / mouth width (default 0.25; talking reaches 0.11)
	TurnDelta   float64 // change of the nose's left/right offset (default 0.3, ≈ 15°: 0.02 per degree)
	MinPoseTurn float64 // and of the pose model's yaw, in the same direction (default 12°)
	NodDelta    float64 // change of the nose's up/down offset (default 0.07)
	MinPoseNod  float64 // and of the pose model's pitch (default 8°)

	// Reflection.
	Colours      int           // colours in the sequence (default 4–6 at random; at least 4)
	ColourMinMs  int           // shortest colour (default 700)
	ColourMaxMs  int           // longest colour (default 1300)
	MaxLag       time.Duration // screen → camera → server delay searched (default 900 ms)
	MinCorr      float64       // correlation of face colour with the sequence (default 0.6)
	MinAmplitude float64       // RMS chroma change of the face (default 0.004)
}

func (c *LivenessConfig) defaults() {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	defInt := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	if c.Mode == LivenessReflection {
		defDur(&c.MaxDuration, 30*time.Second)
	}
	defDur(&c.MaxDuration, 20*time.Second)
	defDur(&c.StepTimeout, 6*time.Second)
	defDur(&c.MaxGap, 3*time.Second)
	def(&c.MinFaceFrac, 0.1)
	def(&c.MaxFaceFrac, 0.85)
	def(&c.MinBright, 45)
	def(&c.MaxBright, 225)
	def(&c.MinSharpness, 40)
	def(&c.MaxYaw, 25)
	def(&c.MaxPitch, 25)
	def(&c.MinCosine, 0.3)
	defInt(&c.SilentFrames, 5)
	defDur(&c.SilentSpan, 800*time.Millisecond)
	def(&c.SilentMinLive, 0.5)
	defDur(&c.SilentWarmup, 1200*time.Millisecond)
	def(&c.StaticLandmark, 0.003)
	def(&c.StaticSpread, 0.01)
	defInt(&c.BaselineFrames, 3)
	def(&c.BlinkDrop, 0.45)
	def(&c.MouthOpen, 0.25)
	def(&c.TurnDelta, 0.3)
	def(&c.MinPoseTurn, 12)
	def(&c.NodDelta, 0.07)
	def(&c.MinPoseNod, 8)
	defInt(&c.ColourMinMs, 700)
	defInt(&c.ColourMaxMs, 1300)
	defDur(&c.MaxLag, 900*time.Millisecond)
	def(&c.MinCorr, 0.6)
	def(&c.MinAmplitude, 0.004)
	if c.Rand == nil {
		var seed [32]byte
		crand.Read(seed[:])
		c.Rand = rand.New(rand.NewChaCha8(seed))
	}
	if c.Colours == 0 {
		c.Colours = 4 + c.Rand.IntN(3)
	}
	c.Colours = max(c.Colours, 4)
}

// LivenessSession runs one live-capture liveness check. Use it from one
// goroutine: Due (send the steps it returns), Ack, Feed, Tick.
type LivenessSession struct {
	cfg     LivenessConfig
	steps   []LivenessStep
	results []LivenessStepResult
	next    int // index of the next step to send
	verdict *LivenessVerdict

	first, last time.Time // frame times
	frames      int
	ref         []float32 // reference embedding (first good face)
	changed     int       // consecutive frames whose face differs from ref
	several     int       // consecutive frames with several faces
	best        *LivenessFrame
	rejects     map[string]int // why frames were not good
	motion      [3]float64
	minCos      float64
	prevEmb     []float32 // last embedding known to be the reference person
	lastBox     Rect      // face box of the previous frame (reflection)
	jumps       int       // consecutive frames whose face jumped more than its width
	faceFrames  int

	// silent
	good []liveSample

	// action / reflection baseline
	base      []liveSample
	baseline  liveSignals
	baseReady bool
	stepStart time.Time
	stepSeen  []liveSignals // signals since the current step was sent

	// reflection
	colourStart time.Time   // when the first colour was sent
	colourEnd   time.Time   // when the last colour ends
	colourAt    []time.Time // send time of each colour step
	samples     []colourSample
}

// liveSample is what silent and baseline checks keep of a good frame.
type liveSample struct {
	at    time.Time
	live  float64
	sig   liveSignals
	marks []Point
	width float64 // face width
	thumb []byte  // 16×16 grey face thumbnail, for motion
}

// NewLivenessSession plans the challenge of cfg.Mode.
func NewLivenessSession(cfg LivenessConfig) (*LivenessSession, error) {
	cfg.defaults()
	s := &LivenessSession{cfg: cfg, rejects: map[string]int{}, minCos: 1}
	look := LivenessStep{Kind: StepLook, Text: "请正对屏幕", TextEN: "Face the screen"}
	switch cfg.Mode {
	case LivenessSilent:
		s.steps = []LivenessStep{look}
	case LivenessAction:
		s.steps = append([]LivenessStep{look}, planActions(cfg.Rand, cfg.StepTimeout)...)
	case LivenessReflection:
		s.steps = append([]LivenessStep{look}, planColours(cfg.Rand, cfg.Colours, cfg.ColourMinMs, cfg.ColourMaxMs)...)
		s.steps = append(s.steps, LivenessStep{Kind: StepDone, Text: "请保持不动", TextEN: "Hold still"})
	default:
		return nil, &Error{Code: CodeUnsupportedOperation, Reason: LiveReasonUnsupported,
			Message: "不支持该活体模式", EN: fmt.Sprintf("liveness mode %d is not supported for live capture", cfg.Mode)}
	}
	for i := range s.steps {
		s.steps[i].Type = "step"
		s.steps[i].ID = "s" + strconv.Itoa(i+1)
		s.results = append(s.results, LivenessStepResult{ID: s.steps[i].ID, Kind: s.steps[i].Kind, Colour: s.steps[i].Colour})
	}
	return s, nil
}

// AnalyzeOptions says what each frame's analysis must compute.
func (s *LivenessSession) AnalyzeOptions() AnalyzeOptions {
	return AnalyzeOptions{Policy: PickLargest, Liveness: true, Pose: true, Eyes: s.cfg.Mode == LivenessAction}
}

// Steps returns the planned challenge (for logs and tests).
func (s *LivenessSession) Steps() []LivenessStep { return slices.Clone(s.steps) }

// Verdict is the decision, nil until made.
func (s *LivenessSession) Verdict() *LivenessVerdict { return s.verdict }

// Sequence is Tencent's LivenessActionSequence for the planned actions
// (1 open mouth, 2 blink, 3 nod, 4 shake/turn).
func (s *LivenessSession) Sequence() string {
	var out []byte
	for _, st := range s.steps {
		var c byte
		switch st.Kind {
		case StepMouth:
			c = '1'
		case StepBlink:
			c = '2'
		case StepNod:
			c = '3'
		case StepLeft, StepRight:
			c = '4'
		default:
			continue
		}
		if len(out) > 0 {
			out = append(out, ',')
		}
		out = append(out, c)
	}
	if s.cfg.Mode == LivenessSilent {
		return "5"
	}
	return string(out)
}

// Due returns the steps to send now and records them as sent at now.
func (s *LivenessSession) Due(now time.Time) []LivenessStep {
	if s.verdict != nil {
		return nil
	}
	var out []LivenessStep
	for s.next < len(s.steps) {
		i := s.next
		st := s.steps[i]
		switch {
		case i == 0: // the look step goes out at once
		case s.cfg.Mode == LivenessAction:
			// An action goes out when the previous one is done (or the
			// baseline is ready).
			if !s.baseReady || (i > 1 && !s.results[i-1].Pass) {
				return out
			}
		case s.cfg.Mode == LivenessReflection:
			if !s.baseReady {
				return out
			}
			if i > 1 && now.Before(s.results[i-1].Sent.Add(time.Duration(s.steps[i-1].Ms)*time.Millisecond)) {
				return out
			}
		default:
			return out
		}
		s.results[i].Sent = now
		if st.Kind != StepLook {
			s.stepStart = now
			s.stepSeen = s.stepSeen[:0]
		}
		if st.Kind == StepColour {
			if s.colourStart.IsZero() {
				s.colourStart = now
			}
			s.colourAt = append(s.colourAt, now)
		}
		if st.Kind == StepDone {
			s.colourEnd = now
		}
		out = append(out, st)
		s.next++
	}
	return out
}

// Ack records the page's acknowledgement of step id (pacing and records only).
func (s *LivenessSession) Ack(id string, at time.Time) {
	for i := range s.results {
		if s.results[i].ID == id && s.results[i].Acked.IsZero() && !s.results[i].Sent.IsZero() {
			s.results[i].Acked = at
		}
	}
}

// Tick enforces the time limits when no frame arrives.
func (s *LivenessSession) Tick(now time.Time) *LivenessVerdict {
	if s.verdict != nil {
		return s.verdict
	}
	start := s.first
	if start.IsZero() && len(s.results) > 0 {
		start = s.results[0].Sent
	}
	if !start.IsZero() && now.Sub(start) > s.cfg.MaxDuration {
		return s.timeout(now)
	}
	if !s.last.IsZero() && now.Sub(s.last) > s.cfg.MaxGap {
		return s.decide(now, LiveNetwork, "FailedOperation.LivessUnknownError", LiveReasonTiming,
			"视频中断，请检查网络后重试", fmt.Sprintf("no analysed frame for %s", now.Sub(s.last).Round(time.Millisecond)))
	}
	if s.cfg.Mode == LivenessAction && !s.stepStart.IsZero() && now.Sub(s.stepStart) > s.cfg.StepTimeout {
		return s.stepTimeout(now)
	}
	if s.cfg.Mode == LivenessReflection && !s.colourEnd.IsZero() && now.Sub(s.colourEnd) > s.cfg.MaxLag+s.cfg.MaxGap {
		return s.judgeReflection(now)
	}
	return nil
}

// Abort ends the session from outside: errCode LiveNetwork for a lost
// stream, LiveEngineTimeout for an analysis failure.
func (s *LivenessSession) Abort(now time.Time, errCode int, err error) *LivenessVerdict {
	if s.verdict != nil {
		return s.verdict
	}
	e := AsError(err)
	reason, code := LiveReasonNetwork, "FailedOperation.LivessUnknownError"
	zh, en := "网络不稳定，请重试", "unstable network: "+e.EN
	if errCode == LiveEngineTimeout {
		reason, code = LiveReasonEngine, "FailedOperation.LivessSystemError"
		zh, en = "活体检测服务繁忙，请重试", "liveness engine failed: "+e.EN
	}
	if errCode == LiveSilentShort {
		reason, code = LiveReasonNetwork, CodeSilentTooShortLive
		zh, en = "视频时长过短，请重试", "the video ended too soon: "+e.EN
	}
	return s.decide(now, errCode, code, reason, zh, en)
}

// CodeSilentTooShortLive is the pure-API code of a stream that ended
// before silent liveness could decide.
const CodeSilentTooShortLive = "FailedOperation.SilentTooShort"

// Feed adds one analysed frame (f.At is its server receipt time) and
// returns the verdict once decided.
func (s *LivenessSession) Feed(f Frame, a *Analysis) *LivenessVerdict {
	if s.verdict != nil {
		return s.verdict
	}
	now := f.At
	if !s.last.IsZero() {
		if now.Before(s.last) {
			return s.decide(now, LiveFakeRecording, "FailedOperation.LivessDetectFake", LiveReasonTiming,
				"视频时间异常", "frame times go backwards")
		}
		if now.Sub(s.last) > s.cfg.MaxGap {
			return s.decide(now, LiveNetwork, "FailedOperation.LivessUnknownError", LiveReasonTiming,
				"视频中断，请检查网络后重试", fmt.Sprintf("no analysed frame for %s", now.Sub(s.last).Round(time.Millisecond)))
		}
	}
	if s.first.IsZero() {
		s.first = now
	}
	s.last = now
	s.frames++
	if v := s.Tick(now); v != nil {
		return v
	}
	face := a.Face()
	if face == nil {
		s.rejects[LiveReasonNoFace]++
		s.several = 0
		return nil
	}
	s.faceFrames++
	reject := s.quality(f, face)
	// Several faces: a second face of comparable size, on 3 frames in a row
	// (one stray detection is not a second person). Frames whose face is
	// too far to use do not count: a crowd far behind is not a second user.
	if reject != LiveReasonTooFar && s.countFaces(a, face) > 1 {
		if s.several++; s.several >= 3 {
			return s.decide(now, LiveSeveralFaces, "FailedOperation.SilentMultiFaceFail", LiveReasonSeveralFaces,
				"检测到多张人脸，请确保只有本人在镜头前", "several faces in view; only the person being verified may be in front of the camera")
		}
		return nil
	}
	s.several = 0
	sig := liveSignalsOf(face)
	// Continuity: compare good faces (blurred or turned ones embed poorly)
	// with the reference and with the previous one; a swapped face differs
	// from both, on two frames in a row. While the screen flashes colours
	// the embedding drifts with the tint (cosine down to 0.17 measured), so
	// there the face is tracked by position instead.
	flashing := s.cfg.Mode == LivenessReflection && !s.colourStart.IsZero()
	if flashing {
		if s.lastBox.W() > 0 {
			dx := (face.Box.X1 + face.Box.X2 - s.lastBox.X1 - s.lastBox.X2) / 2
			dy := (face.Box.Y1 + face.Box.Y2 - s.lastBox.Y1 - s.lastBox.Y2) / 2
			if math.Hypot(float64(dx), float64(dy)) <= float64(s.lastBox.W()) {
				s.jumps = 0
			} else if s.jumps++; s.jumps >= 2 {
				return s.decide(now, LiveNotSamePerson, "FailedOperation.LivessDetectFake", LiveReasonFaceChanged,
					"检测到人脸发生变化，请本人重新核验", "the face jumped during the colour sequence")
			}
		}
		s.lastBox = face.Box
	}
	if len(face.Embedding) > 0 && reject == "" && !flashing {
		if s.ref == nil {
			s.ref = slices.Clone(face.Embedding)
			s.prevEmb = s.ref
		} else {
			cr, cp := Cosine(s.ref, face.Embedding), Cosine(s.prevEmb, face.Embedding)
			s.minCos = min(s.minCos, cr)
			if cr < s.cfg.MinCosine && cp < s.cfg.MinCosine {
				if s.changed++; s.changed >= 2 {
					return s.decide(now, LiveNotSamePerson, "FailedOperation.LivessDetectFake", LiveReasonFaceChanged,
						"检测到人脸发生变化，请本人重新核验", "the face changed during the check")
				}
			} else {
				s.changed = 0
				s.prevEmb = slices.Clone(face.Embedding) // the last face known to be the same person
			}
		}
	}
	if reject != "" {
		s.rejects[reject]++
	} else {
		s.keepBest(f, face)
	}
	switch s.cfg.Mode {
	case LivenessSilent:
		if reject == "" {
			return s.feedSilent(f, face, sig)
		}
	case LivenessAction:
		return s.feedAction(f, face, sig, reject)
	case LivenessReflection:
		return s.feedReflection(f, face, sig, reject)
	}
	return nil
}

// countFaces counts faces at least half the chosen face's width.
func (s *LivenessSession) countFaces(a *Analysis, chosen *Face) int {
	n := 0
	for i := range a.Faces {
		if a.Faces[i].Box.W() >= chosen.Box.W()/2 {
			n++
		}
	}
	return n
}

// quality returns why the face is not good enough ("" if it is).
func (s *LivenessSession) quality(f Frame, face *Face) string {
	c := &s.cfg
	w := float64(face.Box.W()) / float64(max(f.Width, 1))
	margin := float32(2)
	switch {
	case face.Box.X1 < -margin || face.Box.Y1 < -margin || face.Box.X2 > float32(f.Width)+margin || face.Box.Y2 > float32(f.Height)+margin:
		return LiveReasonCutOff
	case w < c.MinFaceFrac:
		return LiveReasonTooFar
	case w > c.MaxFaceFrac:
		return LiveReasonTooClose
	case face.Bright < c.MinBright:
		return LiveReasonTooDark
	case face.Bright > c.MaxBright:
		return LiveReasonTooBright
	case math.Abs(float64(face.Pose.Yaw)) > c.MaxYaw || math.Abs(float64(face.Pose.Pitch)) > c.MaxPitch:
		return LiveReasonPose
	case face.Sharpness < c.MinSharpness:
		return LiveReasonBlurred
	}
	return ""
}

// keepBest keeps the sharpest, most frontal, best exposed frame.
func (s *LivenessSession) keepBest(f Frame, face *Face) {
	frontal := math.Cos(float64(face.Pose.Yaw)*math.Pi/180) * math.Cos(float64(face.Pose.Pitch)*math.Pi/180)
	exposure := 1 - math.Abs(face.Bright-128)/128
	score := math.Log1p(face.Sharpness) * frontal * frontal * (0.5 + exposure/2)
	if s.best == nil || score > s.best.Score {
		s.best = &LivenessFrame{Frame: f, Face: *face, Score: score}
	}
}

// sample makes the kept summary of a frame.
func (s *LivenessSession) sample(f Frame, face *Face, sig liveSignals) liveSample {
	return liveSample{at: f.At, live: float64(face.Live), sig: sig, marks: slices.Clone(face.Landmarks),
		width: float64(face.Box.W()), thumb: faceThumb(f, face.Box)}
}

func (s *LivenessSession) feedSilent(f Frame, face *Face, sig liveSignals) *LivenessVerdict {
	c := &s.cfg
	if f.At.Sub(s.first) < c.SilentWarmup {
		return nil
	}
	s.good = append(s.good, s.sample(f, face, sig))
	if len(s.good) < c.SilentFrames || s.good[len(s.good)-1].at.Sub(s.good[0].at) < c.SilentSpan {
		return nil
	}
	now := f.At
	mark, spread, pix := motion(s.good)
	s.motion = [3]float64{mark, spread, pix}
	if mark < c.StaticLandmark && spread < c.StaticSpread {
		return s.decide(now, LiveSilentFake, "FailedOperation.SilentPictureLiveFail", LiveReasonStatic,
			"疑似翻拍或静态图片，请本人实时核验", fmt.Sprintf("the face does not move (landmarks %.4f, spread %.4f, pixels %.2f): a still image", mark, spread, pix))
	}
	var live float64
	for _, g := range s.good {
		live += g.live
	}
	live /= float64(len(s.good))
	v := s.decide(now, LiveOK, "Success", LiveReasonPass, "活体检测通过", "the person is live")
	if live < c.SilentMinLive {
		v = s.decide(now, LiveSilentFake, "FailedOperation.SilentThreshold", LiveReasonPassive,
			"活体检测未通过，疑似非真人", fmt.Sprintf("passive liveness %.2f is below %.2f", live, c.SilentMinLive))
	}
	v.Score = math.Round(live*10000) / 100
	return v
}

// motion measures how much the face moves across good frames: the mean
// landmark motion between consecutive frames and the spread of the face
// centre over all of them (both per face width), and the mean grey change
// of the face thumbnail. A live face always moves a little; a still image
// moves only by coding noise.
func motion(g []liveSample) (mark, spread, pix float64) {
	n := 0
	var cx, cy []float64
	for i := range g {
		if len(g[i].marks) > 0 && g[i].width > 0 {
			var x, y float64
			for _, p := range g[i].marks {
				x += float64(p.X)
				y += float64(p.Y)
			}
			cx = append(cx, x/float64(len(g[i].marks))/g[i].width)
			cy = append(cy, y/float64(len(g[i].marks))/g[i].width)
		}
		if i == 0 {
			continue
		}
		a, b := g[i-1], g[i]
		if len(a.marks) != len(b.marks) || len(a.marks) == 0 || a.width <= 0 {
			continue
		}
		var d float64
		for j := range a.marks {
			d += math.Hypot(float64(a.marks[j].X-b.marks[j].X), float64(a.marks[j].Y-b.marks[j].Y))
		}
		mark += d / float64(len(a.marks)) / a.width
		pix += thumbDiff(a.thumb, b.thumb)
		n++
	}
	if n > 0 {
		mark /= float64(n)
		pix /= float64(n)
	}
	return mark, math.Hypot(stddev(cx), stddev(cy)), pix
}

func stddev(v []float64) float64 {
	if len(v) < 2 {
		return 0
	}
	var m, q float64
	for _, x := range v {
		m += x
	}
	m /= float64(len(v))
	for _, x := range v {
		q += (x - m) * (x - m)
	}
	return math.Sqrt(q / float64(len(v)))
}

// timeout decides when the session time is up: the dominant reason frames
// were not usable, or no face at all.
func (s *LivenessSession) timeout(now time.Time) *LivenessVerdict {
	if s.cfg.Mode == LivenessAction && !s.stepStart.IsZero() {
		return s.stepTimeout(now)
	}
	if s.faceFrames == 0 {
		return s.decide(now, LiveNoFace, "FailedOperation.ActionNodetectFace", LiveReasonNoFace,
			"未检测到人脸，请正对摄像头", "no face was found")
	}
	worst, n := "", 0
	for r, k := range s.rejects {
		if r != LiveReasonNoFace && (k > n || k == n && r < worst) {
			worst, n = r, k
		}
	}
	type outcome struct {
		code int
		api  string
		zh   string
		en   string
	}
	m := map[string]outcome{
		LiveReasonTooDark:   {LiveTooDark, "FailedOperation.ActionLightDark", "光线过暗，请到明亮处重试", "too dark"},
		LiveReasonTooBright: {LiveTooBright, "FailedOperation.ActionLightStrong", "光线过强，请避开强光重试", "too bright"},
		LiveReasonTooFar:    {LiveTooFar, "FailedOperation.ActionFaceFar", "请靠近摄像头", "the face is too far from the camera"},
		LiveReasonTooClose:  {LiveTooClose, "FailedOperation.ActionFaceClose", "请离摄像头远一些", "the face is too close to the camera"},
		LiveReasonCutOff:    {LiveNoFullFace, CodeIncompleteFace, "请将完整人脸置于画面中", "the face is not fully in view"},
		LiveReasonPose:      {LiveSilentQuality, "FailedOperation.SilentFaceQualityFail", "请正对摄像头", "the face is not frontal"},
		LiveReasonBlurred:   {LiveSilentQuality, "FailedOperation.SilentFaceQualityFail", "画面模糊，请保持不动", "the face is blurred"},
	}
	o, ok := m[worst]
	if !ok {
		o = outcome{LiveSilentShort, CodeSilentTooShortLive, "有效视频过短，请重试", "not enough usable video"}
		worst = LiveReasonTimeout
	}
	return s.decide(now, o.code, o.api, worst, o.zh, fmt.Sprintf("%s (no decision within %s)", o.en, s.cfg.MaxDuration))
}

// decide freezes the verdict.
func (s *LivenessSession) decide(now time.Time, errCode int, code, reason, zh, en string) *LivenessVerdict {
	v := &LivenessVerdict{
		Mode: s.cfg.Mode, Pass: errCode == LiveOK, ErrCode: errCode, Code: code, Reason: reason,
		Message: zh, EN: en, Sequence: s.Sequence(), Steps: s.results, Best: s.best, Frames: s.frames,
		Motion: s.motion, MinCosine: s.minCos,
	}
	if !s.first.IsZero() {
		v.Duration = now.Sub(s.first)
	}
	if s.cfg.Mode == LivenessAction {
		for _, r := range s.results {
			if r.Pass && r.Kind != StepLook {
				v.Score++
			}
		}
	}
	s.verdict = v
	return v
}

// faceThumb is a 16×16 grey thumbnail of the face box (nearest sampling).
func faceThumb(f Frame, b Rect) []byte {
	const n = 16
	if f.Width <= 0 || f.Height <= 0 || len(f.BGR) < f.Width*f.Height*3 || b.W() <= 0 || b.H() <= 0 {
		return nil
	}
	out := make([]byte, n*n)
	for j := range n {
		y := int(b.Y1 + (float32(j)+0.5)*b.H()/n)
		y = min(max(y, 0), f.Height-1)
		for i := range n {
			x := int(b.X1 + (float32(i)+0.5)*b.W()/n)
			x = min(max(x, 0), f.Width-1)
			p := (y*f.Width + x) * 3
			out[j*n+i] = byte((int(f.BGR[p]) + 2*int(f.BGR[p+1]) + int(f.BGR[p+2])) / 4)
		}
	}
	return out
}

func thumbDiff(a, b []byte) float64 {
	if len(a) == 0 || len(a) != len(b) {
		return 255
	}
	var d int
	for i := range a {
		if a[i] > b[i] {
			d += int(a[i] - b[i])
		} else {
			d += int(b[i] - a[i])
		}
	}
	return float64(d) / float64(len(a))
}

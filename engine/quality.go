package engine

import (
	"math"
	"sort"
)

// QualityThresholds are the limits of the quality gates.
type QualityThresholds struct {
	MinFaceSide   float32 // pixels, shorter side of the face box
	MinSharpness  float64 // variance of the Laplacian of the aligned face
	MinBrightness float64 // mean grey level of the aligned face
	MaxBrightness float64
	MaxOutside    float32 // fraction of the box allowed outside the image
	MaxYaw        float32 // degrees
	MaxPitch      float32
	// AmbiguityRatio: with several faces, the runner-up is "as good a pick"
	// as the chosen one when its size is at least this fraction of it.
	AmbiguityRatio float32
}

// DefaultQuality are the gates used unless configured otherwise.
var DefaultQuality = QualityThresholds{
	MinFaceSide:    40,
	MinSharpness:   200, // real photos: 1st percentile 440 (LFW, deepface); a 21-pixel Gaussian blur of a 100-pixel face: 89
	MinBrightness:  45,
	MaxBrightness:  215,
	MaxOutside:     0.08,
	MaxYaw:         40,
	MaxPitch:       35,
	AmbiguityRatio: 0.7,
}

func finding(reason, code, zh, en string) Finding {
	return Finding{Reason: reason, Code: code, Message: zh, EN: en}
}

// Findings for the gates, with Tencent codes where one exists.
var (
	FindNoFace       = finding(ReasonNoFace, CodeNoFaces, "未检测到人脸", "no face detected")
	FindSeveralFaces = finding(ReasonSeveralFaces, CodeSeveralFaces, "检测到多张人脸", "several faces detected")
	FindAmbiguous    = finding(ReasonAmbiguous, CodeSeveralFaces, "检测到多张大小相近的人脸，无法确定比对对象", "several faces of similar size: cannot tell which one to verify")
	FindTooSmall     = finding(ReasonFaceTooSmall, CodeLifePhotoSize, "人脸过小", "the face is too small")
	FindBlurred      = finding(ReasonBlurred, CodeImageBlur, "人脸模糊", "the face is blurred")
	FindTooDark      = finding(ReasonTooDark, CodeLifePhotoQuality, "光线太暗", "the face is too dark")
	FindTooBright    = finding(ReasonTooBright, CodeLifePhotoQuality, "光线太亮", "the face is too bright")
	FindCutOff       = finding(ReasonCutOff, CodeIncompleteFace, "人脸不完整（超出画面）", "the face is cut off at the image border")
	FindPose         = finding(ReasonPose, CodeLifePhotoQuality, "人脸角度过大，请正对镜头", "the head is turned too far from frontal")
)

// Err turns a finding into an *Error.
func (f Finding) Err() *Error {
	return &Error{Code: f.Code, Reason: f.Reason, Message: f.Message, EN: f.EN}
}

// ChooseFace picks the face to verify among detections (sorted by score)
// in a w×h image. It returns -1 when there is none, and the ambiguity
// finding when the policy cannot tell two faces apart.
func ChooseFace(faces []Face, w, h int, p FacePolicy, q QualityThresholds) (int, *Finding) {
	switch len(faces) {
	case 0:
		return -1, &FindNoFace
	case 1:
		return 0, nil
	}
	if p == PickOnly {
		return -1, &FindSeveralFaces
	}
	cx, cy := float64(w)/2, float64(h)/2
	dist := func(f Face) float64 {
		x, y := float64(f.Box.X1+f.Box.X2)/2, float64(f.Box.Y1+f.Box.Y2)/2
		return math.Hypot(x-cx, y-cy)
	}
	idx := make([]int, len(faces))
	for i := range idx {
		idx[i] = i
	}
	if p == PickCentre {
		sort.SliceStable(idx, func(a, b int) bool { return dist(faces[idx[a]]) < dist(faces[idx[b]]) })
		best, next := faces[idx[0]], faces[idx[1]]
		// Two faces equally near the centre and of similar size: no way to choose.
		d0, d1 := dist(best), dist(next)
		if d1-d0 < 0.05*math.Hypot(float64(w), float64(h)) && next.Box.Area() >= q.AmbiguityRatio*best.Box.Area() {
			return idx[0], &FindAmbiguous
		}
		return idx[0], nil
	}
	sort.SliceStable(idx, func(a, b int) bool { return faces[idx[a]].Box.Area() > faces[idx[b]].Box.Area() })
	if faces[idx[1]].Box.Area() >= q.AmbiguityRatio*faces[idx[0]].Box.Area() {
		return idx[0], &FindAmbiguous
	}
	return idx[0], nil
}

// CheckQuality runs the gates on an analysed face in a w×h image. Pose is
// checked only when hasPose is set.
func CheckQuality(f *Face, w, h int, hasPose bool, q QualityThresholds) []Finding {
	var out []Finding
	bw, bh := f.Box.W(), f.Box.H()
	outside := max(0, -f.Box.X1)/bw + max(0, f.Box.X2-float32(w))/bw +
		max(0, -f.Box.Y1)/bh + max(0, f.Box.Y2-float32(h))/bh
	if outside > q.MaxOutside || cutAtBorder(f, float32(w), float32(h)) {
		out = append(out, FindCutOff)
	}
	if min(bw, bh) < q.MinFaceSide {
		out = append(out, FindTooSmall)
	}
	if f.Bright < q.MinBrightness {
		out = append(out, FindTooDark)
	} else if f.Bright > q.MaxBrightness {
		out = append(out, FindTooBright)
	}
	if f.Sharpness < q.MinSharpness {
		out = append(out, FindBlurred)
	}
	if hasPose && (abs32(f.Pose.Yaw) > q.MaxYaw || abs32(f.Pose.Pitch) > q.MaxPitch) {
		out = append(out, FindPose)
	}
	return out
}

// cutAtBorder reports a face flush with an image border whose nose tip is
// much nearer that border than the face's opposite side: the detector box
// stops at the border, so only the landmark geometry shows what is missing.
// Measured on crops of a frontal face: a quarter or more cut away trips it,
// a tenth does not.
func cutAtBorder(f *Face, w, h float32) bool {
	if len(f.Landmarks) != 68 {
		return false
	}
	const edge = 3
	n := f.Landmarks[30]
	b := f.Box
	switch {
	case b.X1 <= edge && n.X < 0.6*(b.X2-n.X):
		return true
	case b.X2 >= w-edge && w-n.X < 0.6*(n.X-b.X1):
		return true
	case b.Y2 >= h-edge && h-n.Y < 0.5*(n.Y-b.Y1):
		return true
	case b.Y1 <= edge && n.Y < 0.9*(b.Y2-n.Y):
		return true
	}
	return false
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

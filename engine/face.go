package engine

import (
	"context"
	"time"
)

// EmbeddingSize is the length of a face embedding.
const EmbeddingSize = 512

// Point is a position in image pixels.
type Point struct{ X, Y float32 }

// Rect is an axis-aligned box in image pixels (X1,Y1 top-left, X2,Y2 bottom-right).
type Rect struct{ X1, Y1, X2, Y2 float32 }

// W is the box width.
func (r Rect) W() float32 { return r.X2 - r.X1 }

// H is the box height.
func (r Rect) H() float32 { return r.Y2 - r.Y1 }

// Area is the box area, zero for an empty box.
func (r Rect) Area() float32 {
	if r.W() <= 0 || r.H() <= 0 {
		return 0
	}
	return r.W() * r.H()
}

// Pose is head orientation in degrees.
type Pose struct{ Yaw, Pitch, Roll float32 }

// Face is one analysed face.
type Face struct {
	Box       Rect
	Score     float32   // detector confidence
	Landmarks []Point   // 68 points (iBUG layout), empty if not computed
	Embedding []float32 // L2-normalised, EmbeddingSize long, empty if not computed
	Live      float32   // passive liveness model's probability of "live"
	Pose      Pose
	EyeOpen   [2]float32 // left, right eye: the eye model's probability of "open"
	Sharpness float64    // variance of the Laplacian of the aligned face
	Bright    float64    // mean grey level of the aligned face (0–255)
}

// Stage is the duration of one processing step.
type Stage struct {
	Name string  `json:"name"`
	Ms   float64 `json:"ms"`
}

// Finding is one failed quality gate.
type Finding struct {
	Reason  string `json:"reason"`
	Code    string `json:"code"`
	Message string `json:"message"`
	EN      string `json:"message_en"`
}

// Analysis is the result of analysing one image.
type Analysis struct {
	Width, Height int
	Faces         []Face // every detected face, by descending score (only Chosen is fully analysed)
	Chosen        int    // index into Faces, -1 if none was chosen
	Findings      []Finding
	Stages        []Stage
}

// Face returns the chosen face or nil.
func (a *Analysis) Face() *Face {
	if a == nil || a.Chosen < 0 || a.Chosen >= len(a.Faces) {
		return nil
	}
	return &a.Faces[a.Chosen]
}

// FacePolicy picks the face to verify when a photo holds several.
type FacePolicy int

const (
	// PickLargest takes the largest face; if the runner-up is nearly as large, the photo is ambiguous.
	PickLargest FacePolicy = iota
	// PickCentre takes the face nearest the image centre (LFW's protocol).
	PickCentre
	// PickOnly requires exactly one face.
	PickOnly
)

// AnalyzeOptions says what to compute and how strict to be.
type AnalyzeOptions struct {
	Policy   FacePolicy
	Liveness bool // run the passive liveness model on the chosen face
	Pose     bool // run the pose model
	Eyes     bool // run the eye-state model
	// Gates turns the quality gates into errors: Analyze returns an *Error for the first failure.
	Gates bool
}

// Frame is a decoded video frame in packed BGR.
type Frame struct {
	Width, Height int
	BGR           []byte
	At            time.Time
}

// FaceEngine is what flows need from the vision adapter. Implementations
// are safe for concurrent use.
type FaceEngine interface {
	// Analyze decodes an encoded image (JPEG/PNG/BMP) and analyses its faces.
	Analyze(ctx context.Context, img []byte, opt AnalyzeOptions) (*Analysis, error)
	// AnalyzeFrame analyses a decoded frame.
	AnalyzeFrame(ctx context.Context, f Frame, opt AnalyzeOptions) (*Analysis, error)
	// EncodeJPEG encodes a frame (e.g. the best frame) as JPEG.
	EncodeJPEG(f Frame, quality int) ([]byte, error)
}

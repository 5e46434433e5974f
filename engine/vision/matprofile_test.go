//go:build matprofile

package vision

import (
	"bytes"
	"context"
	"image"
	"testing"

	"gocv.io/x/gocv"

	"heshen/engine"
)

// TestMatProfile runs every path of the engine, the failing ones too, and
// requires gocv's count of live Mats to come back to where it started.
func TestMatProfile(t *testing.T) {
	e := mustEngine(t)
	before := gocv.MatProfile.Count()
	ctx := context.Background()
	full := engine.AnalyzeOptions{Policy: engine.PickLargest, Liveness: true, Pose: true, Eyes: true, Gates: true}
	jpg := read(t, "obama-480p.jpg")
	inputs := [][]byte{
		jpg, read(t, "two_people.jpg"), read(t, "image_T1.jpg"), read(t, "obama-1080p.jpg"),
		read(t, "obama_partial_face.jpg"), jpg[:len(jpg)/2], {}, []byte("not an image"), pngBomb(20000, 20000),
		encodePNG(t, image.NewGray(image.Rect(0, 0, 64, 64))),
	}
	for _, data := range inputs {
		for _, opt := range []engine.AnalyzeOptions{full, {Policy: engine.PickCentre}} {
			e.Analyze(ctx, data, opt)
		}
	}
	f := engine.Frame{Width: 64, Height: 48, BGR: bytes.Repeat([]byte{90}, 64*48*3)}
	e.AnalyzeFrame(ctx, f, full)
	e.AnalyzeFrame(ctx, engine.Frame{Width: 3, Height: 3, BGR: []byte{1}}, full)
	e.EncodeJPEG(f, 80)
	if m, err := e.decode(read(t, "image_F1.jpg")); err == nil {
		m.Close()
	}
	if after := gocv.MatProfile.Count(); after != before {
		var b bytes.Buffer
		gocv.MatProfile.WriteTo(&b, 1)
		t.Fatalf("Mats alive: %d before, %d after\n%s", before, after, b.String())
	}
}

package vision

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"gocv.io/x/gocv"

	"heshen/engine"
)

// testEngine is shared by the tests: loading six nets per worker takes a while.
var testEngine = sync.OnceValues(func() (*Engine, error) { return Open(Options{Workers: 2}) })

func mustEngine(t testing.TB) *Engine {
	t.Helper()
	e, err := testEngine()
	if err != nil {
		t.Fatalf("open engine: %v", err)
	}
	return e
}

func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func analyze(t testing.TB, data []byte, opt engine.AnalyzeOptions) (*engine.Analysis, error) {
	t.Helper()
	return mustEngine(t).Analyze(context.Background(), data, opt)
}

func embedding(t testing.TB, name string) []float32 {
	t.Helper()
	a, err := analyze(t, read(t, name), engine.AnalyzeOptions{Policy: engine.PickLargest, Gates: true})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	f := a.Face()
	if f == nil || len(f.Embedding) != engine.EmbeddingSize {
		t.Fatalf("%s: no embedding", name)
	}
	return f.Embedding
}

// encodePNG encodes an image for tests that build their own inputs.
func encodePNG(t testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// matJPEG re-encodes a region of a test photo, optionally rotated, as JPEG.
func matJPEG(t testing.TB, name string, crop image.Rectangle, rotate int) []byte {
	t.Helper()
	m, err := gocv.IMDecode(read(t, name), gocv.IMReadColor)
	if err != nil || m.Empty() {
		t.Fatalf("decode %s: %v", name, err)
	}
	defer m.Close()
	src := m
	if !crop.Empty() {
		src = m.Region(crop)
		defer src.Close()
	}
	out := gocv.NewMat()
	defer out.Close()
	if rotate >= 0 {
		gocv.Rotate(src, &out, gocv.RotateFlag(rotate))
	} else {
		src.CopyTo(&out)
	}
	buf, err := gocv.IMEncode(gocv.JPEGFileExt, out)
	if err != nil {
		t.Fatal(err)
	}
	defer buf.Close()
	return append([]byte(nil), buf.GetBytes()...)
}

func code(err error) (string, string) {
	var e *engine.Error
	if errors.As(err, &e) {
		return e.Code, e.Reason
	}
	return "", ""
}

func TestSameAndDifferentPeople(t *testing.T) {
	obama, obama2, biden := embedding(t, "obama-480p.jpg"), embedding(t, "obama2.jpg"), embedding(t, "biden.jpg")
	powell1, powell2 := embedding(t, "Colin_Powell_0001.jpg"), embedding(t, "Colin_Powell_0002.jpg")
	for _, tc := range []struct {
		name string
		a, b []float32
		same bool
	}{
		{"obama/obama2", obama, obama2, true},
		{"powell/powell", powell1, powell2, true},
		{"obama/biden", obama, biden, false},
		{"obama/powell", obama, powell1, false},
		{"biden/powell", biden, powell2, false},
	} {
		sim := engine.Sim(tc.a, tc.b)
		if (sim >= engine.SimPass) != tc.same {
			t.Errorf("%s: Sim %.2f, want same=%v", tc.name, sim, tc.same)
		}
		t.Logf("%s: Sim %.2f", tc.name, sim)
	}
	// The embedding is unit length.
	var n float64
	for _, v := range obama {
		n += float64(v) * float64(v)
	}
	if n < 0.999 || n > 1.001 {
		t.Fatalf("|embedding|² = %v", n)
	}
}

func TestMultiFace(t *testing.T) {
	data := read(t, "two_people.jpg")
	a, err := analyze(t, data, engine.AnalyzeOptions{Policy: engine.PickLargest})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Faces) != 2 {
		t.Fatalf("found %d faces, want 2", len(a.Faces))
	}
	// Two faces of similar size: strict analysis refuses to guess.
	_, err = analyze(t, data, engine.AnalyzeOptions{Policy: engine.PickLargest, Gates: true})
	if c, r := code(err); c != engine.CodeSeveralFaces || r != engine.ReasonAmbiguous {
		t.Fatalf("gated: got %v, want %s/%s", err, engine.CodeSeveralFaces, engine.ReasonAmbiguous)
	}
	_, err = analyze(t, data, engine.AnalyzeOptions{Policy: engine.PickOnly, Gates: true})
	if c, r := code(err); c != engine.CodeSeveralFaces || r != engine.ReasonSeveralFaces {
		t.Fatalf("only: got %v", err)
	}
	// A lone face pasted into a bigger canvas with a small second face is not ambiguous.
	e := mustEngine(t)
	_ = e
}

func TestNoFace(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 320, 240))
	for y := 0; y < 240; y++ {
		for x := 0; x < 320; x++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 128, 255})
		}
	}
	a, err := analyze(t, encodePNG(t, img), engine.AnalyzeOptions{})
	if err != nil || len(a.Faces) != 0 || a.Face() != nil || len(a.Findings) != 1 || a.Findings[0].Reason != engine.ReasonNoFace {
		t.Fatalf("ungated: %+v %v", a, err)
	}
	_, err = analyze(t, encodePNG(t, img), engine.AnalyzeOptions{Gates: true})
	if c, _ := code(err); c != engine.CodeNoFaces {
		t.Fatalf("gated: got %v, want %s", err, engine.CodeNoFaces)
	}
}

func TestPartialFace(t *testing.T) {
	// The real partial face (an ear cut off) still matches.
	if sim := engine.Sim(embedding(t, "obama_partial_face.jpg"), embedding(t, "obama2.jpg")); sim < engine.SimPass {
		t.Fatalf("partial face Sim %.2f", sim)
	}
	a, _ := analyze(t, read(t, "obama-480p.jpg"), engine.AnalyzeOptions{Policy: engine.PickLargest})
	b := a.Face().Box
	for _, tc := range []struct {
		name string
		crop image.Rectangle
		cut  bool
	}{
		{"a tenth off the left", image.Rect(int(b.X1+0.1*b.W()), 0, a.Width, a.Height), false},
		{"a third off the left", image.Rect(int(b.X1+0.33*b.W()), 0, a.Width, a.Height), true},
		{"a quarter off the bottom", image.Rect(0, 0, a.Width, int(b.Y2-0.25*b.H())), true},
		{"half off the left", image.Rect(int(b.X1+0.5*b.W()), 0, a.Width, a.Height), true},
	} {
		_, err := analyze(t, matJPEG(t, "obama-480p.jpg", tc.crop, -1), engine.AnalyzeOptions{Policy: engine.PickLargest, Gates: true})
		c, r := code(err)
		refused := r == engine.ReasonCutOff || r == engine.ReasonNoFace
		if refused != tc.cut {
			t.Errorf("%s: got %v (%s/%s), want refused=%v", tc.name, err, c, r, tc.cut)
		}
	}
}

func TestBlurAndLight(t *testing.T) {
	m, _ := gocv.IMDecode(read(t, "obama-480p.jpg"), gocv.IMReadColor)
	defer m.Close()
	enc := func(x gocv.Mat) []byte {
		buf, err := gocv.IMEncode(gocv.JPEGFileExt, x)
		if err != nil {
			t.Fatal(err)
		}
		defer buf.Close()
		return append([]byte(nil), buf.GetBytes()...)
	}
	blur, dark, bright := gocv.NewMat(), gocv.NewMat(), gocv.NewMat()
	defer blur.Close()
	defer dark.Close()
	defer bright.Close()
	gocv.GaussianBlur(m, &blur, image.Pt(25, 25), 0, 0, gocv.BorderDefault)
	m.ConvertToWithParams(&dark, gocv.MatTypeCV8UC3, 0.2, 0)
	m.ConvertToWithParams(&bright, gocv.MatTypeCV8UC3, 1, 140)
	for name, tc := range map[string]struct {
		data   []byte
		reason string
	}{
		"blurred": {enc(blur), engine.ReasonBlurred},
		"dark":    {enc(dark), engine.ReasonTooDark},
		"bright":  {enc(bright), engine.ReasonTooBright},
	} {
		a, err := analyze(t, tc.data, engine.AnalyzeOptions{Policy: engine.PickLargest})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		found := false
		for _, f := range a.Findings {
			found = found || f.Reason == tc.reason
		}
		if !found {
			f := a.Face()
			t.Errorf("%s: findings %+v (sharpness %.0f brightness %.0f), want %s", name, a.Findings, f.Sharpness, f.Bright, tc.reason)
		}
	}
}

func TestEXIFOrientation(t *testing.T) {
	// image_T1.jpg is stored sideways with an EXIF orientation: honoured, the
	// face is upright; without it the face would be lying on its side.
	data := read(t, "image_T1.jpg")
	info, err := engine.InspectImage(data, engine.DefaultImageLimits)
	if err != nil || info.Orientation == 1 {
		t.Fatalf("expected an EXIF orientation, got %+v %v", info, err)
	}
	a, err := analyze(t, data, engine.AnalyzeOptions{Policy: engine.PickLargest, Pose: true})
	if err != nil || a.Face() == nil {
		t.Fatalf("no face in the oriented image: %v", err)
	}
	if a.Width != info.Oriented().X || a.Height != info.Oriented().Y {
		t.Fatalf("decoded %dx%d, want the oriented %v", a.Width, a.Height, info.Oriented())
	}
	f := a.Face()
	// Upright: eyes above the mouth, level.
	eyeY := (f.Landmarks[37].Y + f.Landmarks[44].Y) / 2
	if eyeY >= f.Landmarks[57].Y || f.Pose.Roll > 30 || f.Pose.Roll < -30 {
		t.Fatalf("face not upright: eye y %.0f mouth y %.0f roll %.1f", eyeY, f.Landmarks[57].Y, f.Pose.Roll)
	}
	// The same photo rotated by pixels (no EXIF) gives the same person.
	rot := matJPEG(t, "obama2.jpg", image.Rectangle{}, int(gocv.Rotate90Clockwise))
	ra, err := analyze(t, rot, engine.AnalyzeOptions{Policy: engine.PickLargest})
	if err != nil {
		t.Fatal(err)
	}
	if ra.Face() != nil && engine.Sim(ra.Face().Embedding, embedding(t, "obama2.jpg")) >= engine.SimPass {
		t.Log("a 90° rotated face still matched (detector tolerates rotation)")
	}
}

func TestHostileInputs(t *testing.T) {
	jpg := read(t, "obama-480p.jpg")
	cases := map[string][]byte{
		"zero bytes":      {},
		"truncated jpeg":  jpg[:len(jpg)/3],
		"non-image bytes": []byte("%PDF-1.4 this is not an image"),
		"png 20000x20000": pngBomb(20000, 20000),
		"random":          bytes.Repeat([]byte{0xFF, 0xD8, 0xFF, 0x00}, 1000),
	}
	for name, data := range cases {
		_, err := analyze(t, data, engine.AnalyzeOptions{Gates: true})
		if c, r := code(err); c == "" || r == "" {
			t.Errorf("%s: got %v, want a coded error", name, err)
		}
	}
	e := mustEngine(t)
	for _, f := range []engine.Frame{
		{Width: 10, Height: 10, BGR: make([]byte, 10)},
		{Width: -1, Height: 10},
		{Width: 100000, Height: 100000},
	} {
		if _, err := e.AnalyzeFrame(context.Background(), f, engine.AnalyzeOptions{}); err == nil {
			t.Errorf("frame %dx%d with %d bytes accepted", f.Width, f.Height, len(f.BGR))
		}
	}
	// A frame too small for any crop must not reach OpenCV with an empty region.
	tiny := engine.Frame{Width: 4, Height: 4, BGR: make([]byte, 48)}
	if _, err := e.AnalyzeFrame(context.Background(), tiny, engine.AnalyzeOptions{Liveness: true, Pose: true, Eyes: true}); err != nil {
		t.Fatalf("tiny frame: %v", err)
	}
}

func pngBomb(w, h uint32) []byte {
	img := encodePNGBytes(image.NewGray(image.Rect(0, 0, 1, 1)))
	// Patch the IHDR width/height and its CRC.
	b := append([]byte(nil), img...)
	put := func(off int, v uint32) {
		b[off], b[off+1], b[off+2], b[off+3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	}
	put(16, w)
	put(20, h)
	put(29, crcIEEE(b[12:29]))
	return b
}

func encodePNGBytes(img image.Image) []byte {
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

func TestFrameAndJPEG(t *testing.T) {
	e := mustEngine(t)
	m, _ := gocv.IMDecode(read(t, "obama-480p.jpg"), gocv.IMReadColor)
	defer m.Close()
	f := engine.Frame{Width: m.Cols(), Height: m.Rows(), BGR: m.ToBytes()}
	a, err := e.AnalyzeFrame(context.Background(), f, engine.AnalyzeOptions{Liveness: true, Pose: true, Eyes: true, Policy: engine.PickLargest})
	if err != nil || a.Face() == nil {
		t.Fatalf("frame: %v", err)
	}
	face := a.Face()
	if face.Live <= 0 || face.Live > 1 || face.EyeOpen[0] < 0 || face.EyeOpen[0] > 1 {
		t.Fatalf("probabilities out of range: %+v", face)
	}
	if face.Pose.Yaw > 25 || face.Pose.Yaw < -25 {
		t.Fatalf("frontal face with yaw %.1f", face.Pose.Yaw)
	}
	jpg, err := e.EncodeJPEG(f, 85)
	if err != nil || !bytes.HasPrefix(jpg, []byte{0xFF, 0xD8}) {
		t.Fatalf("jpeg: %v", err)
	}
	if sim := engine.Sim(embedding(t, "obama-480p.jpg"), face.Embedding); sim < 95 {
		t.Fatalf("frame and file embeddings differ: Sim %.2f", sim)
	}
}

func TestConcurrentUse(t *testing.T) {
	want := embedding(t, "obama-480p.jpg")
	data := read(t, "obama-480p.jpg")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := mustEngine(t).Analyze(context.Background(), data, engine.AnalyzeOptions{Policy: engine.PickLargest})
			if err != nil {
				errs <- err
				return
			}
			if engine.Cosine(a.Face().Embedding, want) < 0.9999 {
				errs <- errors.New("embedding differs under concurrency")
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestModelsDir(t *testing.T) {
	if _, err := Open(Options{ModelsDir: t.TempDir(), Workers: 1}); err == nil {
		t.Fatal("empty models dir accepted")
	}
	dir := t.TempDir()
	for _, n := range modelNames {
		b, _ := embedded.ReadFile("models/" + n + ".onnx")
		os.WriteFile(filepath.Join(dir, n+".onnx"), b, 0o644)
	}
	os.WriteFile(filepath.Join(dir, "fr_feature.onnx"), []byte("not a model"), 0o644)
	if _, err := Open(Options{ModelsDir: dir, Workers: 1}); err == nil {
		t.Fatal("corrupt model accepted")
	}
}

// FuzzDecode feeds arbitrary bytes through inspection and OpenCV's decoders.
func FuzzDecode(f *testing.F) {
	jpg, _ := os.ReadFile("testdata/Colin_Powell_0001.jpg")
	f.Add(jpg)
	f.Add(jpg[:len(jpg)/2])
	f.Add(pngBomb(20000, 20000))
	f.Add(encodePNGBytes(image.NewGray(image.Rect(0, 0, 8, 8))))
	f.Add([]byte("BM"))
	f.Fuzz(func(t *testing.T, data []byte) {
		e := mustEngine(t)
		m, err := e.decode(data)
		if err != nil {
			if c, _ := code(err); c == "" {
				t.Fatalf("uncoded error %v", err)
			}
			return
		}
		if m.Empty() {
			t.Fatal("empty Mat without error")
		}
		m.Close()
	})
}

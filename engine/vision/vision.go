// Package vision is the face engine's OpenCV adapter: decoding, detection,
// landmarks, alignment, embedding, liveness, pose and eye state on CPU with
// OpenCV's dnn module through gocv. It is the only cgo package of the engine.
package vision

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"runtime"
	"sort"
	"time"

	"gocv.io/x/gocv"

	"heshen/engine"
)

// Options configure the engine; the zero value means the defaults.
type Options struct {
	// ModelsDir loads the six ONNX files from a folder instead of the embedded set.
	ModelsDir string
	// Workers is the number of pipelines run at once (default: the number of cores).
	Workers int
	// Limits bound the images accepted (default engine.DefaultImageLimits).
	Limits engine.ImageLimits
	// Quality are the gate thresholds (default engine.DefaultQuality).
	Quality engine.QualityThresholds
	// DetectThreshold is the minimum detector score (default 0.6).
	DetectThreshold float32
}

// Engine implements engine.FaceEngine. Each model net is used by one
// goroutine at a time: the engine keeps a pool of complete pipelines.
type Engine struct {
	opt  Options
	pool chan *nets
	all  []*nets
}

var _ engine.FaceEngine = (*Engine)(nil)

// Open loads the models and builds Workers pipelines.
func Open(opt Options) (*Engine, error) {
	if opt.Workers <= 0 {
		opt.Workers = runtime.NumCPU()
	}
	if opt.Limits == (engine.ImageLimits{}) {
		opt.Limits = engine.DefaultImageLimits
	}
	if opt.Quality == (engine.QualityThresholds{}) {
		opt.Quality = engine.DefaultQuality
	}
	if opt.DetectThreshold <= 0 {
		opt.DetectThreshold = 0.6
	}
	setCVThreads(1)
	models, err := loadModels(opt.ModelsDir)
	if err != nil {
		return nil, err
	}
	e := &Engine{opt: opt, pool: make(chan *nets, opt.Workers)}
	for range opt.Workers {
		ns, err := openNets(models)
		if err != nil {
			e.Close()
			return nil, err
		}
		e.all = append(e.all, ns)
		e.pool <- ns
	}
	return e, nil
}

// Workers reports the pool size.
func (e *Engine) Workers() int { return e.opt.Workers }

// Close frees the nets. Calls in flight must have returned.
func (e *Engine) Close() error {
	for _, ns := range e.all {
		ns.close()
	}
	e.all = nil
	return nil
}

func (e *Engine) acquire(ctx context.Context) (*nets, error) {
	select {
	case ns := <-e.pool:
		return ns, nil
	case <-ctx.Done():
		return nil, &engine.Error{Code: engine.CodeDetectEngine, Message: "人脸引擎繁忙，请稍后重试", EN: "face engine busy: " + ctx.Err().Error()}
	}
}

// timer records stage durations.
type timer struct {
	stages []engine.Stage
	t0     time.Time
}

func newTimer() *timer { return &timer{t0: time.Now()} }

func (t *timer) lap(name string) {
	now := time.Now()
	t.stages = append(t.stages, engine.Stage{Name: name, Ms: float64(now.Sub(t.t0).Microseconds()) / 1000})
	t.t0 = now
}

// Analyze decodes an encoded image and analyses it.
func (e *Engine) Analyze(ctx context.Context, data []byte, opt engine.AnalyzeOptions) (*engine.Analysis, error) {
	tm := newTimer()
	img, err := e.decode(data)
	if err != nil {
		return nil, err
	}
	defer img.Close()
	tm.lap("decode")
	return e.analyzeMat(ctx, img, opt, tm)
}

// AnalyzeFrame analyses a decoded BGR frame.
func (e *Engine) AnalyzeFrame(ctx context.Context, f engine.Frame, opt engine.AnalyzeOptions) (*engine.Analysis, error) {
	m, err := frameMat(f)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	return e.analyzeMat(ctx, m, opt, newTimer())
}

func frameMat(f engine.Frame) (gocv.Mat, error) {
	if f.Width <= 0 || f.Height <= 0 || f.Width > 8192 || f.Height > 8192 || len(f.BGR) != f.Width*f.Height*3 {
		return gocv.Mat{}, &engine.Error{Code: engine.CodeImageDecodeFailed, Reason: engine.ReasonCorrupt,
			Message: "视频帧尺寸无效", EN: fmt.Sprintf("invalid frame: %dx%d with %d bytes", f.Width, f.Height, len(f.BGR))}
	}
	m, err := gocv.NewMatFromBytes(f.Height, f.Width, gocv.MatTypeCV8UC3, f.BGR)
	if err != nil {
		return gocv.Mat{}, &engine.Error{Code: engine.CodeImageDecodeFailed, Reason: engine.ReasonCorrupt, Message: "视频帧无效", EN: err.Error()}
	}
	return m, nil
}

// EncodeJPEG encodes a BGR frame as JPEG.
func (e *Engine) EncodeJPEG(f engine.Frame, quality int) ([]byte, error) {
	m, err := frameMat(f)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	if quality <= 0 || quality > 100 {
		quality = 90
	}
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, m, []int{gocv.IMWriteJpegQuality, quality})
	if err != nil {
		return nil, err
	}
	defer buf.Close()
	return append([]byte(nil), buf.GetBytes()...), nil
}

// decode checks the encoded image before decoding it, then applies its EXIF
// orientation. Very large photos decode at half or quarter size: faces in
// them are far bigger than the 112-pixel aligned crop needs.
func (e *Engine) decode(data []byte) (gocv.Mat, error) {
	info, err := engine.InspectImage(data, e.opt.Limits)
	if err != nil {
		return gocv.Mat{}, err
	}
	flag := gocv.IMReadColor | gocv.IMReadIgnoreOrientation
	if px := info.Width * info.Height; info.Format == "jpeg" && px > 16_000_000 {
		flag = gocv.IMReadReducedColor4 | gocv.IMReadIgnoreOrientation
	} else if info.Format == "jpeg" && px > 6_000_000 {
		flag = gocv.IMReadReducedColor2 | gocv.IMReadIgnoreOrientation
	}
	m, err := gocv.IMDecode(data, flag)
	if err != nil || m.Empty() || m.Type() != gocv.MatTypeCV8UC3 {
		m.Close()
		return gocv.Mat{}, &engine.Error{Code: engine.CodeImageDecodeFailed, Reason: engine.ReasonCorrupt,
			Message: "图片解码失败", EN: "the image could not be decoded"}
	}
	if info.Orientation == 1 {
		return m, nil
	}
	out := orient(m, info.Orientation)
	m.Close()
	return out, nil
}

// orient returns a new Mat showing m as its EXIF orientation says.
func orient(m gocv.Mat, o int) gocv.Mat {
	dst := gocv.NewMat()
	switch o {
	case 2:
		gocv.Flip(m, &dst, 1)
	case 3:
		gocv.Rotate(m, &dst, gocv.Rotate180Clockwise)
	case 4:
		gocv.Flip(m, &dst, 0)
	case 5, 7:
		tmp := gocv.NewMat()
		gocv.Rotate(m, &tmp, gocv.Rotate90Clockwise)
		if o == 5 {
			gocv.Flip(tmp, &dst, 1)
		} else {
			gocv.Flip(tmp, &dst, 0)
		}
		tmp.Close()
	case 6:
		gocv.Rotate(m, &dst, gocv.Rotate90Clockwise)
	case 8:
		gocv.Rotate(m, &dst, gocv.Rotate90CounterClockwise)
	default:
		m.CopyTo(&dst)
	}
	return dst
}

func (e *Engine) analyzeMat(ctx context.Context, img gocv.Mat, opt engine.AnalyzeOptions, tm *timer) (*engine.Analysis, error) {
	ns, err := e.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { e.pool <- ns }()
	w, h := img.Cols(), img.Rows()
	a := &engine.Analysis{Width: w, Height: h, Chosen: -1}
	q := e.opt.Quality

	a.Faces, err = e.detect(ns, img)
	if err != nil {
		return nil, engineErr(err)
	}
	tm.lap("detect")
	idx, amb := engine.ChooseFace(a.Faces, w, h, opt.Policy, q)
	if amb != nil {
		a.Findings = append(a.Findings, *amb)
	}
	if idx < 0 {
		a.Stages = tm.stages
		if opt.Gates {
			return a, amb.Err()
		}
		return a, nil
	}
	a.Chosen = idx
	f := &a.Faces[idx]
	if err := landmarks(ns, img, f); err != nil {
		return nil, engineErr(err)
	}
	tm.lap("landmarks")
	if err := embedFace(ns, img, f); err != nil {
		return nil, engineErr(err)
	}
	tm.lap("embed")
	if opt.Liveness {
		if f.Live, err = liveness(ns, img, f.Box); err != nil {
			return nil, engineErr(err)
		}
		tm.lap("liveness")
	}
	hasPose := opt.Pose || opt.Gates
	if hasPose {
		if f.Pose, err = pose(ns, img, f.Box); err != nil {
			return nil, engineErr(err)
		}
		tm.lap("pose")
	}
	if opt.Eyes {
		if f.EyeOpen, err = eyes(ns, img, f.Landmarks); err != nil {
			return nil, engineErr(err)
		}
		tm.lap("eyes")
	}
	a.Findings = append(a.Findings, engine.CheckQuality(f, w, h, hasPose, q)...)
	a.Stages = tm.stages
	if opt.Gates && len(a.Findings) > 0 {
		return a, a.Findings[0].Err()
	}
	return a, nil
}

func engineErr(err error) error {
	var ee *engine.Error
	if errors.As(err, &ee) {
		return ee
	}
	return &engine.Error{Code: engine.CodeDetectEngine, Message: "人脸引擎内部错误", EN: "face engine: " + err.Error()}
}

// detect runs the RFB detector on a letterboxed 320×240 copy. The graph
// outputs corner boxes already decoded to [0,1] and softmaxed scores.
func (e *Engine) detect(ns *nets, img gocv.Mat) ([]engine.Face, error) {
	const W, H = 320, 240
	lb, s := letterbox(img, W, H)
	defer lb.Close()
	in, err := toCHW(lb, W, H, true, [3]float32{127, 127, 127}, [3]float32{1.0 / 128, 1.0 / 128, 1.0 / 128})
	if err != nil {
		return nil, err
	}
	out, err := ns.detect.run(in)
	if err != nil {
		return nil, err
	}
	boxes, scores := out[0], out[1]
	var cand []engine.Face
	for i := 0; i < 4420; i++ {
		sc := scores[2*i+1]
		if sc < e.opt.DetectThreshold {
			continue
		}
		b := boxes[4*i : 4*i+4]
		r := engine.Rect{
			X1: float32(float64(b[0]*W) / s), Y1: float32(float64(b[1]*H) / s),
			X2: float32(float64(b[2]*W) / s), Y2: float32(float64(b[3]*H) / s),
		}
		if r.Area() <= 0 || math.IsNaN(float64(r.X1+r.Y1+r.X2+r.Y2)) {
			continue
		}
		cand = append(cand, engine.Face{Box: r, Score: sc})
	}
	return nms(cand, 0.4, 50), nil
}

// nms keeps the highest-scoring boxes, dropping any that overlaps a kept
// one by more than iou.
func nms(c []engine.Face, iou float32, limit int) []engine.Face {
	sort.Slice(c, func(i, j int) bool { return c[i].Score > c[j].Score })
	var keep []engine.Face
	for _, f := range c {
		ok := true
		for _, k := range keep {
			if overlap(f.Box, k.Box) > iou {
				ok = false
				break
			}
		}
		if ok {
			keep = append(keep, f)
			if len(keep) == limit {
				break
			}
		}
	}
	return keep
}

func overlap(a, b engine.Rect) float32 {
	ix := min(a.X2, b.X2) - max(a.X1, b.X1)
	iy := min(a.Y2, b.Y2) - max(a.Y1, b.Y1)
	if ix <= 0 || iy <= 0 {
		return 0
	}
	inter := ix * iy
	return inter / (a.Area() + b.Area() - inter)
}

// clampRect scales a box about its centre and shifts it inside the image
// rather than cutting it, as the landmark and liveness models were trained.
func clampRect(b engine.Rect, scale float64, w, h int) image.Rectangle {
	bw, bh := float64(b.W()), float64(b.H())
	s := math.Min(scale, math.Min(float64(h-1)/bh, float64(w-1)/bw))
	nw, nh := bw*s, bh*s
	cx, cy := float64(b.X1)+bw/2, float64(b.Y1)+bh/2
	x1, y1 := cx-nw/2, cy-nh/2
	x1 = math.Max(0, math.Min(x1, float64(w-1)-nw))
	y1 = math.Max(0, math.Min(y1, float64(h-1)-nh))
	return image.Rect(int(x1), int(y1), int(x1+nw), int(y1+nh))
}

// landmarks predicts 68 points on the grey face box resized to 64×64.
func landmarks(ns *nets, img gocv.Mat, f *engine.Face) error {
	r := clampRect(f.Box, 1.0, img.Cols(), img.Rows())
	crop, err := cropResize(img, r, 64, 64, true)
	if err != nil {
		return err
	}
	defer crop.Close()
	in, err := toGray(crop, 64, 64, 1.0/256)
	if err != nil {
		return err
	}
	out, err := ns.landmark.run(in)
	if err != nil {
		return err
	}
	f.Landmarks = make([]engine.Point, 68)
	for i := range 68 {
		f.Landmarks[i] = engine.Point{
			X: float32(r.Min.X) + out[0][2*i]*float32(r.Dx()),
			Y: float32(r.Min.Y) + out[0][2*i+1]*float32(r.Dy()),
		}
	}
	return nil
}

// embedFace aligns the face to 112×112 by a 5-point similarity transform and
// computes its L2-normalised embedding (fed BGR, as measured best). It also
// measures sharpness and brightness on the aligned face.
func embedFace(ns *nets, img gocv.Mat, f *engine.Face) error {
	five, ok := engine.FivePoints(f.Landmarks)
	if !ok {
		return fmt.Errorf("align: need 68 landmarks")
	}
	m, ok := engine.Similarity(five[:], engine.ReferencePoints[:])
	if !ok {
		return fmt.Errorf("align: degenerate landmarks")
	}
	tf := gocv.NewMatWithSize(2, 3, gocv.MatTypeCV64F)
	defer tf.Close()
	for r := range 2 {
		for c := range 3 {
			tf.SetDoubleAt(r, c, m[r][c])
		}
	}
	aligned := gocv.NewMat()
	defer aligned.Close()
	gocv.WarpAffine(img, &aligned, tf, image.Pt(engine.AlignSize, engine.AlignSize))
	in, err := toCHW(aligned, 112, 112, false, [3]float32{127, 127, 127}, [3]float32{1.0 / 128, 1.0 / 128, 1.0 / 128})
	if err != nil {
		return err
	}
	out, err := ns.feature.run(in)
	if err != nil {
		return err
	}
	f.Embedding = out[0]
	engine.Normalize(f.Embedding)
	f.Sharpness, f.Bright = sharpBright(aligned)
	return nil
}

// sharpBright returns the variance of the Laplacian and the mean grey level
// of the central part of an aligned face (the corners hold background).
func sharpBright(aligned gocv.Mat) (float64, float64) {
	gray := gocv.NewMat()
	defer gray.Close()
	gocv.CvtColor(aligned, &gray, gocv.ColorBGRToGray)
	inner := gray.Region(image.Rect(24, 28, 88, 104))
	defer inner.Close()
	lap := gocv.NewMat()
	defer lap.Close()
	gocv.Laplacian(inner, &lap, gocv.MatTypeCV64F, 3, 1, 0, gocv.BorderDefault)
	mean, std := gocv.NewMat(), gocv.NewMat()
	defer mean.Close()
	defer std.Close()
	gocv.MeanStdDev(lap, &mean, &std)
	sd := std.GetDoubleAt(0, 0)
	return sd * sd, inner.Mean().Val1
}

func softmax(v []float32) []float32 {
	mx := v[0]
	for _, x := range v {
		mx = max(mx, x)
	}
	out := make([]float32, len(v))
	var s float32
	for i, x := range v {
		out[i] = float32(math.Exp(float64(x - mx)))
		s += out[i]
	}
	for i := range out {
		out[i] /= s
	}
	return out
}

// liveness scores the passive anti-spoofing model on the face with 2.7×
// context, BGR, raw pixel values. Output 0 is "live".
func liveness(ns *nets, img gocv.Mat, b engine.Rect) (float32, error) {
	r := clampRect(b, 2.7, img.Cols(), img.Rows())
	crop, err := cropResize(img, r, 128, 128, false)
	if err != nil {
		return 0, err
	}
	defer crop.Close()
	in, err := toCHW(crop, 128, 128, false, [3]float32{}, [3]float32{1, 1, 1})
	if err != nil {
		return 0, err
	}
	out, err := ns.liveness.run(in)
	if err != nil {
		return 0, err
	}
	return softmax(out[0])[0], nil
}

// pose estimates yaw, pitch and roll from 66 bins of 3° each on the face
// box grown by a quarter on each side, RGB with ImageNet normalisation.
func pose(ns *nets, img gocv.Mat, b engine.Rect) (engine.Pose, error) {
	bw, bh := b.W(), b.H()
	r := image.Rect(int(b.X1-bw/4), int(b.Y1-bh/4), int(b.X2+bw/4), int(b.Y2+bh/4))
	crop, err := cropResize(img, r, 224, 224, false)
	if err != nil {
		return engine.Pose{}, err
	}
	defer crop.Close()
	// Channel order after the RGB swap is R, G, B.
	in, err := toCHW(crop, 224, 224, true,
		[3]float32{0.485 * 255, 0.456 * 255, 0.406 * 255},
		[3]float32{1 / (0.229 * 255), 1 / (0.224 * 255), 1 / (0.225 * 255)})
	if err != nil {
		return engine.Pose{}, err
	}
	out, err := ns.pose.run(in)
	if err != nil {
		return engine.Pose{}, err
	}
	deg := func(v []float32) float32 {
		var s float32
		for i, p := range softmax(v) {
			s += p * float32(i)
		}
		return s*3 - 99
	}
	return engine.Pose{Yaw: deg(out[0]), Pitch: deg(out[1]), Roll: deg(out[2])}, nil
}

// eyes runs the eye-state model on each eye (grey 24×24, 1.6× the eye
// width). It returns each eye's probability of class 0.
func eyes(ns *nets, img gocv.Mat, lm []engine.Point) ([2]float32, error) {
	var res [2]float32
	if len(lm) != 68 {
		return res, fmt.Errorf("eyes: need 68 landmarks")
	}
	for k, idx := range [2][6]int{{36, 37, 38, 39, 40, 41}, {42, 43, 44, 45, 46, 47}} {
		c := engine.Point{X: (lm[idx[1]].X + lm[idx[2]].X + lm[idx[4]].X + lm[idx[5]].X) / 4,
			Y: (lm[idx[1]].Y + lm[idx[2]].Y + lm[idx[4]].Y + lm[idx[5]].Y) / 4}
		size := (lm[idx[3]].X - lm[idx[0]].X) * 1.6
		if size < 4 {
			return res, fmt.Errorf("eyes: eye too small")
		}
		r := image.Rect(int(c.X-size/2), int(c.Y-size/2), int(c.X+size/2), int(c.Y+size/2))
		crop, err := cropResize(img, r, 24, 24, true)
		if err != nil {
			return res, err
		}
		in, err := toGray(crop, 24, 24, 1.0/255)
		crop.Close()
		if err != nil {
			return res, err
		}
		out, err := ns.eye.run(in)
		if err != nil {
			return res, err
		}
		res[k] = softmax(out[0])[0]
	}
	return res, nil
}

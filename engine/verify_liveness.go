package engine

import (
	"context"
	"fmt"
	"math"
	"sort"
)

// VideoCompare says what the face of a liveness video is compared with.
type VideoCompare int

const (
	VideoCompareNone    VideoCompare = iota // Liveness
	VideoComparePhoto                       // LivenessCompare: the caller's photo
	VideoCompareGallery                     // LivenessRecognition: the gallery photo of IdCard+Name
)

// ErrLivenessTypeUnsupported is returned (not recorded) for liveness types
// that uploaded videos cannot prove yet: a fake pass would be worse.
func ErrLivenessTypeUnsupported(t string) *Error {
	return &Error{Code: CodeUnsupportedOperation, Message: "上传视频暂只支持静默活体（SILENT）",
		EN: fmt.Sprintf("LivenessType %s is not supported for uploaded video yet; use SILENT", t)}
}

// CheckLivenessType validates the LivenessType parameter.
func CheckLivenessType(t string) *Error {
	switch t {
	case LivenessTypeSilent:
		return nil
	case LivenessTypeAction, LivenessTypeLip:
		return ErrLivenessTypeUnsupported(t)
	case "":
		return Errorf(CodeMissingParameter, "缺少参数 LivenessType", "LivenessType is required")
	}
	return Errorf(CodeInvalidParameterValue, "LivenessType 取值无效", "LivenessType must be SILENT, ACTION or LIP, got %q", t)
}

// scoredFrame is an analysed frame.
type scoredFrame struct {
	frame Frame
	face  Face
	score float64 // sharpness weighted by frontality
}

// VideoLiveness runs Liveness / LivenessCompare / LivenessRecognition on an
// uploaded video: silent liveness on the sharpest frontal frames, one and
// the same face throughout, then the comparison asked for.
func (v *Verifier) VideoLiveness(ctx context.Context, req *VerifyRequest, cmp VideoCompare) (*VerifyResult, error) {
	if err := CheckLivenessType(req.LivenessType); err != nil {
		return nil, err
	}
	if v.opt.Video == nil {
		return nil, &Error{Code: CodeUnsupportedOperation, Message: "未配置视频解码", EN: "video decoding is not available on this server"}
	}
	sw := newStopwatch()
	var ref []float32
	var o *outcome
	var err error
	switch cmp {
	case VideoCompareGallery:
		ref, o, err = v.galleryFace(ctx, req, sw)
	case VideoComparePhoto:
		var f *Face
		f, o, err = v.analyzePhoto(ctx, req.Image, sw)
		if f != nil {
			ref = f.Embedding
		}
	}
	if err != nil {
		return nil, err
	}
	var best []scoredFrame
	if o == nil {
		best, o, err = v.silent(ctx, req.Video, sw)
		if err != nil {
			return nil, err
		}
	}
	if o == nil && cmp != VideoCompareNone {
		c := v.compareOutcome(Sim(best[0].face.Embedding, ref))
		sw.lap("compare")
		c.liveStatus = 0
		o = &c
	}
	if o == nil {
		p := pass("活体检测通过", "the person is live")
		o = &p
	}
	res := &VerifyResult{}
	var media []string
	if len(best) > 0 {
		n := 1
		if req.BestFrameNum > 1 {
			n = min(req.BestFrameNum, 10, len(best))
		}
		for i := range n {
			jpg, err := v.opt.Faces.EncodeJPEG(best[i].frame, 90)
			if err != nil {
				return nil, err
			}
			if i == 0 {
				res.BestFrame = jpg
			}
			if req.BestFrameNum > 1 {
				res.BestFrames = append(res.BestFrames, jpg)
			}
		}
		sw.lap("best_frame")
		now := v.opt.Now()
		m := &Media{Kind: "best_frame", MIME: "image/jpeg", Data: res.BestFrame, CreatedAt: now, ExpiresAt: now.Add(v.opt.MediaTTL)}
		if err := v.opt.Store.PutMedia(ctx, m); err != nil {
			return nil, &Error{Code: CodeDBError, Message: "最佳帧保存失败", EN: "storing the best frame failed: " + err.Error()}
		}
		if m.ID != "" {
			media = append(media, m.ID)
		}
	}
	r, err := v.record(ctx, req, *o, sw, media)
	if err != nil {
		return nil, err
	}
	r.BestFrame, r.BestFrames = res.BestFrame, res.BestFrames
	return r, nil
}

// silent decodes the video and runs passive liveness. It returns the usable
// frames best first, or the failure outcome.
func (v *Verifier) silent(ctx context.Context, video []byte, sw *stopwatch) ([]scoredFrame, *outcome, error) {
	so := v.opt.Silent
	fail := func(code, zh, en string, live int) ([]scoredFrame, *outcome, error) {
		o := failed(&Error{Code: code, Message: zh, EN: en})
		o.liveStatus = live
		return nil, &o, nil
	}
	if len(video) == 0 {
		return fail(CodeVideoDecode, "视频为空", "the video is empty", 1104)
	}
	if len(video) > v.opt.MaxVideoBytes {
		return fail(CodeVideoDecode, "视频过大", fmt.Sprintf("the video is larger than %d bytes", v.opt.MaxVideoBytes), 1107)
	}
	info, err := v.opt.Video.Probe(ctx, video)
	if err != nil {
		if e, ok := err.(*Error); ok {
			return fail(e.Code, e.Message, e.EN, 1104)
		}
		return nil, nil, err
	}
	if info.Seconds > v.opt.MaxVideoSeconds {
		return fail(CodeVideoDuration, "视频时长超过限制", fmt.Sprintf("the video lasts %.1f s, more than %.0f s", info.Seconds, v.opt.MaxVideoSeconds), 1107)
	}
	if info.Seconds > 0 && info.Seconds < so.MinSecs {
		return fail(CodeSilentTooShort, "视频时长过短", fmt.Sprintf("the video lasts %.1f s, less than %.0f s", info.Seconds, so.MinSecs), 1303)
	}
	frames, err := v.opt.Video.Frames(ctx, video, info, so.Frames)
	sw.lap("video_decode")
	if err != nil {
		if e, ok := err.(*Error); ok {
			return fail(e.Code, e.Message, e.EN, 1104)
		}
		return nil, nil, err
	}
	var usable []scoredFrame
	noFace, multi, poor := 0, 0, 0
	for _, fr := range frames {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		a, err := v.opt.Faces.AnalyzeFrame(ctx, fr, AnalyzeOptions{Policy: PickLargest, Liveness: true, Pose: true})
		if err != nil {
			e := AsError(err)
			if e.Code == CodeInternal || e.Code == CodeDetectEngine {
				return nil, nil, err
			}
			poor++
			continue
		}
		f := a.Face()
		switch {
		case f == nil:
			noFace++
		case hasFinding(a, CodeSeveralFaces):
			multi++
		case len(a.Findings) > 0 || len(f.Embedding) == 0:
			poor++
		default:
			frontal := math.Cos(float64(f.Pose.Yaw)*math.Pi/180) * math.Cos(float64(f.Pose.Pitch)*math.Pi/180)
			usable = append(usable, scoredFrame{frame: fr, face: *f, score: f.Sharpness * frontal})
		}
	}
	sw.lap("liveness_analyze")
	if multi > 0 && multi*3 >= len(frames) {
		return fail(CodeSilentMultiFace, "视频中检测到多张人脸", fmt.Sprintf("several faces in %d of %d frames", multi, len(frames)), 1301)
	}
	if len(usable) < so.MinFrames {
		if noFace >= poor {
			return fail(CodeSilentNoFace, "视频中未检测到清晰人脸", fmt.Sprintf("a face was found in only %d of %d frames", len(frames)-noFace, len(frames)), 1301)
		}
		return fail(CodeSilentQuality, "视频中人脸质量不足", fmt.Sprintf("only %d of %d frames show a usable face", len(usable), len(frames)), 1301)
	}
	sort.SliceStable(usable, func(i, j int) bool { return usable[i].score > usable[j].score })
	// One and the same face throughout: every usable frame matches the best.
	for _, s := range usable[1:] {
		if Sim(s.face.Embedding, usable[0].face.Embedding) < v.opt.PassSim {
			return fail(CodeLivenessFail, "视频中出现不同的人脸", "the video shows more than one person", 1003)
		}
	}
	// A real person never holds perfectly still: a video whose face does
	// not move at all is a looped photo or an injected still.
	if m := faceMotion(usable); m < so.MinMotion {
		return fail(CodeLivenessFake, "疑似非活体：视频中人脸完全静止", fmt.Sprintf("the face does not move (motion %.4f < %.4f): a still image, not a live person", m, so.MinMotion), 1301)
	}
	best := usable[:min(so.Best, len(usable))]
	var live float64
	for _, s := range best {
		live += float64(s.face.Live)
	}
	live /= float64(len(best))
	sw.lap("liveness_decide")
	if live < so.MinLive {
		return fail(CodeSilentThreshold, "静默活体检测未达到通过标准", fmt.Sprintf("live score %.2f is below %.2f", live, so.MinLive), 1301)
	}
	return usable, nil, nil
}

// faceMotion is the largest mean landmark displacement between any usable
// frame and the first one, relative to the face width.
func faceMotion(frames []scoredFrame) float64 {
	ref := frames[0].face
	var most float64
	for _, f := range frames[1:] {
		lm := f.face.Landmarks
		if len(lm) == 0 || len(lm) != len(ref.Landmarks) {
			continue
		}
		var d float64
		for i := range lm {
			d += math.Hypot(float64(lm[i].X-ref.Landmarks[i].X), float64(lm[i].Y-ref.Landmarks[i].Y))
		}
		w := float64(max(ref.Box.W(), 1))
		most = max(most, d/float64(len(lm))/w)
	}
	return most
}

func hasFinding(a *Analysis, code string) bool {
	for _, f := range a.Findings {
		if f.Code == code {
			return true
		}
	}
	return false
}

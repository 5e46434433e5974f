package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Result strings of the direct API actions (reference §3.3–3.4).
const (
	ResultSuccess = "Success"

	// Element checks (IdCardVerification; CheckIdNameDate uses its own numbering).
	ResultMatch       = "0"
	ResultMismatch    = "-1"
	ResultBadIDNumber = "-2"
	ResultBadName     = "-3"
	ResultNoRecord    = "-5"

	// CheckIdNameDate.
	ResultDateBadValidity = "-4"
	ResultDateNoRecord    = "-7"
)

// FailedOperation codes the verification flow returns in Result.
const (
	CodeIDFormat        = "FailedOperation.IdFormatError"
	CodeNameFormat      = "FailedOperation.NameFormatError"
	CodeIDNameMismatch  = "FailedOperation.IdNameMisMatch"
	CodeIDNotInSystem   = "FailedOperation.IdNoExistSystem"
	CodeIDPhotoNone     = "FailedOperation.IdPhotoNoExist"
	CodeIDPhotoQuality  = "FailedOperation.IdPhotoPoorQuality"
	CodeDBError         = "FailedOperation.DbError"
	CodeVideoDecode     = "FailedOperation.VideoDecodeFailed"
	CodeVideoDuration   = "FailedOperation.VideoDurationExceeded"
	CodeSilentTooShort  = "FailedOperation.SilentTooShort"
	CodeSilentMultiFace = "FailedOperation.SilentMultiFaceFail"
	CodeSilentNoFace    = "FailedOperation.SilentFaceDetectFail"
	CodeSilentQuality   = "FailedOperation.SilentFaceQualityFail"
	CodeSilentThreshold = "FailedOperation.SilentThreshold"
	CodeLivenessFail    = "FailedOperation.LivessDetectFail"
	CodeLivenessFake    = "FailedOperation.LivessDetectFake"
	CodeBestFrame       = "FailedOperation.LivessBestFrameError"
)

// Liveness types of the video actions.
const (
	LivenessTypeSilent = "SILENT"
	LivenessTypeAction = "ACTION"
	LivenessTypeLip    = "LIP"
)

// VerifierOptions configure a Verifier; zero values mean the defaults.
type VerifierOptions struct {
	Faces FaceEngine
	Store Store
	// Video decodes uploaded videos; nil makes the video actions answer
	// UnsupportedOperation.
	Video VideoDecoder
	// Now is the clock (default time.Now).
	Now func() time.Time
	// PassSim is the Sim at or above which a comparison passes (default SimPass).
	PassSim float64
	// Policy picks the face in a photo with several (default PickLargest:
	// a runner-up of similar size is reported as several faces).
	Policy FacePolicy
	// PoseGate also refuses photos whose head is turned too far. The pose
	// model costs about as much as the rest of the pipeline together, so it
	// is off unless asked for; size, blur, light and cut-off gates always run.
	PoseGate bool
	// MaxImageBytes bounds a decoded image (default 3 MiB, reference §2).
	MaxImageBytes int
	// MaxVideoBytes bounds a decoded video (default 8 MiB).
	MaxVideoBytes int
	// MaxVideoSeconds bounds a video's duration (default 20).
	MaxVideoSeconds float64
	// Silent tunes passive liveness on uploaded video.
	Silent SilentOptions
	// MediaTTL is how long best frames are kept (default DefaultRetention.Media).
	MediaTTL time.Duration
}

// SilentOptions tune silent liveness on an uploaded video.
type SilentOptions struct {
	Frames    int     // frames sampled evenly over the video (default 12)
	Best      int     // sharpest frontal frames whose scores are combined (default 5)
	MinFrames int     // usable frames needed (default 3)
	MinLive   float64 // mean "live" probability of the best frames needed to pass (default 0.5)
	MinSecs   float64 // shorter videos are SilentTooShort (default 1)
	// MinMotion is the landmark movement, relative to the face width, below
	// which the face counts as a still image (default 0.004).
	MinMotion float64
}

// Verifier runs the direct API verifications: it validates the identity,
// looks it up in the gallery, analyses faces, decides the Result and writes
// exactly one Record per verification, in a single store call.
type Verifier struct{ opt VerifierOptions }

// NewVerifier fills in the defaults.
func NewVerifier(opt VerifierOptions) (*Verifier, error) {
	if opt.Faces == nil || opt.Store == nil {
		return nil, errors.New("verifier: Faces and Store are required")
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.PassSim <= 0 {
		opt.PassSim = SimPass
	}
	if opt.MaxImageBytes <= 0 {
		opt.MaxImageBytes = 3 << 20
	}
	if opt.MaxVideoBytes <= 0 {
		opt.MaxVideoBytes = 8 << 20
	}
	if opt.MaxVideoSeconds <= 0 {
		opt.MaxVideoSeconds = 20
	}
	s := &opt.Silent
	if s.Frames <= 0 {
		s.Frames = 12
	}
	if s.Best <= 0 {
		s.Best = 5
	}
	if s.MinFrames <= 0 {
		s.MinFrames = 3
	}
	if s.MinLive <= 0 {
		s.MinLive = 0.5
	}
	if s.MinSecs <= 0 {
		s.MinSecs = 1
	}
	if s.MinMotion <= 0 {
		s.MinMotion = 0.004
	}
	if opt.MediaTTL <= 0 {
		opt.MediaTTL = DefaultRetention.Media
	}
	return &Verifier{opt: opt}, nil
}

// PassSim is the configured pass threshold.
func (v *Verifier) PassSim() float64 { return v.opt.PassSim }

// VerifyRequest is one verification call, already authenticated and with
// any Encryption removed.
type VerifyRequest struct {
	AppID     string
	Action    string
	RequestID string
	SecretID  string
	Channel   string // api (default), counter, h5
	IDNumber  string
	Name      string
	Image     []byte // decoded ImageBase64 (or fetched ImageUrl)
	Video     []byte // decoded VideoBase64
	// LivenessType is SILENT, ACTION or LIP for the video actions.
	LivenessType string
	// ValidityBegin/End are CheckIdNameDate's YYYYMMDD dates.
	ValidityBegin, ValidityEnd string
	// BestFrameNum asks for that many best frames (2–10) in BestFrames.
	BestFrameNum int
}

// VerifyResult is what the action answers.
type VerifyResult struct {
	Result        string
	Description   string // Chinese
	DescriptionEN string
	Sim           float64
	BestFrame     []byte   // JPEG
	BestFrames    [][]byte // JPEGs, when BestFrameNum asked for them
	Record        *Record  // as written
}

// Describe picks the description for a language ("en-US" or Chinese).
func (r *VerifyResult) Describe(lang string) string {
	if strings.HasPrefix(lang, "en") && r.DescriptionEN != "" {
		return r.DescriptionEN
	}
	return r.Description
}

// stopwatch collects stage timings.
type stopwatch struct {
	t      time.Time
	stages []Stage
}

func newStopwatch() *stopwatch { return &stopwatch{t: time.Now()} }

func (s *stopwatch) lap(name string) {
	now := time.Now()
	s.stages = append(s.stages, Stage{Name: name, Ms: float64(now.Sub(s.t).Microseconds()) / 1000})
	s.t = now
}

// add appends sub-stages measured elsewhere (e.g. by the face engine) with a prefix.
func (s *stopwatch) add(prefix string, st []Stage) {
	for _, x := range st {
		s.stages = append(s.stages, Stage{Name: prefix + x.Name, Ms: x.Ms})
	}
	s.t = time.Now()
}

// outcome is a decided result before it is recorded.
type outcome struct {
	result, zh, en string
	sim            float64
	errCode        int
	liveStatus     int
}

func pass(zh, en string) outcome { return outcome{result: ResultSuccess, zh: zh, en: en} }

func failed(e *Error) outcome {
	return outcome{result: e.Code, zh: e.Message, en: e.EN, errCode: flowCode(e.Code)}
}

// flowCode maps a Result to the hosted-flow numbering (reference §3.1), so
// records of API calls and of hosted flows can be counted together.
func flowCode(result string) int {
	switch result {
	case ResultSuccess, ResultMatch:
		return 0
	case CodeNameFormat, ResultBadName:
		return 2002
	case CodeIDFormat, ResultBadIDNumber:
		return 2003
	case CodeIDNotInSystem, ResultNoRecord, ResultDateNoRecord:
		return 2005
	case CodeIDNameMismatch, ResultMismatch:
		return 2006
	case CodeIDPhotoNone:
		return 2007
	case CodeIDPhotoQuality:
		return 2009
	case CodeIncompleteFace:
		return 2013
	case CodeSeveralFaces, CodeSilentMultiFace:
		return 2012
	case CodeLowSimilarity:
		return 2016
	case CodeSilentThreshold, CodeLifePhotoFake, CodeLivenessFake:
		return 1301
	case CodeSilentTooShort:
		return 1303
	case CodeVideoDecode, CodeVideoDuration:
		return 1104
	case CodeNoFaces, CodeSilentNoFace, CodeBestFrame:
		return 2004
	}
	return 2015
}

// record writes the one Record of a verification.
func (v *Verifier) record(ctx context.Context, req *VerifyRequest, o outcome, sw *stopwatch, media []string) (*VerifyResult, error) {
	ch := req.Channel
	if ch == "" {
		ch = "api"
	}
	rec := &Record{
		AppID:      req.AppID,
		Action:     req.Action,
		Channel:    ch,
		RequestID:  req.RequestID,
		IDNumber:   req.IDNumber,
		Name:       req.Name,
		Result:     o.result,
		ErrCode:    o.errCode,
		Sim:        o.sim,
		LiveStatus: o.liveStatus,
		Media:      media,
		CreatedAt:  v.opt.Now(),
		CreatedBy:  req.SecretID,
	}
	sw.lap("decide")
	rec.Stages = sw.stages
	if err := v.opt.Store.CreateRecord(ctx, rec); err != nil {
		return nil, &Error{Code: CodeDBError, Message: "记录写入失败", EN: "writing the verification record failed: " + err.Error()}
	}
	return &VerifyResult{Result: o.result, Description: o.zh, DescriptionEN: o.en, Sim: o.sim, Record: rec}, nil
}

// validateIdentity checks the ID number and the name.
func validateIdentity(id, name string) (idErr, nameErr error) {
	if err := ValidateIDNumber(id); err != nil {
		idErr = err
	}
	if !ValidName(name) {
		nameErr = NameError()
	}
	return idErr, nameErr
}

// lookup finds the gallery identity of an ID number; nil when absent.
func (v *Verifier) lookup(ctx context.Context, id string) (*Identity, error) {
	ident, err := v.opt.Store.FindIdentity(ctx, id)
	if err != nil {
		if ErrorCode(err) == CodeResourceNotFound {
			return nil, nil
		}
		return nil, &Error{Code: CodeDBError, Message: "查询人像库失败", EN: "gallery lookup failed: " + err.Error()}
	}
	return ident, nil
}

// matchIdentity looks the ID number up in the gallery and compares the
// name; the two element checks differ only in their no-record code and
// match wording.
func (v *Verifier) matchIdentity(ctx context.Context, req *VerifyRequest, sw *stopwatch, noRecord string, matchZH, matchEN string) (outcome, error) {
	ident, err := v.lookup(ctx, req.IDNumber)
	sw.lap("gallery")
	switch {
	case err != nil:
		return outcome{}, err
	case ident == nil:
		return outcome{result: noRecord, zh: "库中无此号", en: "no record of this ID number"}, nil
	case ident.Name != req.Name:
		return outcome{result: ResultMismatch, zh: "姓名和身份证号不一致", en: "the name does not match the ID number"}, nil
	}
	return outcome{result: ResultMatch, zh: matchZH, en: matchEN}, nil
}

// CheckIdentity is IdCardVerification: name + ID number against the gallery.
func (v *Verifier) CheckIdentity(ctx context.Context, req *VerifyRequest) (*VerifyResult, error) {
	sw := newStopwatch()
	idErr, nameErr := validateIdentity(req.IDNumber, req.Name)
	sw.lap("validate")
	var o outcome
	switch {
	case idErr != nil:
		e := AsError(idErr)
		o = outcome{result: ResultBadIDNumber, zh: "身份证号码无效：" + e.Message, en: "invalid ID number: " + e.EN}
	case nameErr != nil:
		o = outcome{result: ResultBadName, zh: "姓名格式无效", en: "invalid name"}
	default:
		var err error
		o, err = v.matchIdentity(ctx, req, sw, ResultNoRecord, "姓名和身份证号一致", "the name matches the ID number")
		if err != nil {
			return nil, err
		}
	}
	o.errCode = flowCode(o.result)
	return v.record(ctx, req, o, sw, nil)
}

// CheckIdentityDate is CheckIdNameDate: name + ID number + the ID card's
// validity period. The gallery holds no validity dates, so the dates are
// checked for form and for not having expired.
func (v *Verifier) CheckIdentityDate(ctx context.Context, req *VerifyRequest) (*VerifyResult, error) {
	sw := newStopwatch()
	idErr, nameErr := validateIdentity(req.IDNumber, req.Name)
	dateErr := v.checkValidity(req.ValidityBegin, req.ValidityEnd)
	sw.lap("validate")
	var o outcome
	switch {
	case idErr != nil:
		e := AsError(idErr)
		o = outcome{result: ResultBadIDNumber, zh: "身份证号码无效：" + e.Message, en: "invalid ID number: " + e.EN}
	case nameErr != nil:
		o = outcome{result: ResultBadName, zh: "姓名格式无效", en: "invalid name"}
	case dateErr != nil:
		o = outcome{result: ResultDateBadValidity, zh: dateErr.Message, en: dateErr.EN}
	default:
		var err error
		o, err = v.matchIdentity(ctx, req, sw, ResultDateNoRecord, "一致", "the name, ID number and validity period match")
		if err != nil {
			return nil, err
		}
	}
	o.errCode = flowCode(o.result)
	return v.record(ctx, req, o, sw, nil)
}

// checkValidity checks YYYYMMDD dates; an end of 00000000 is long-term.
func (v *Verifier) checkValidity(begin, end string) *Error {
	bad := func(en string) *Error {
		return &Error{Code: ResultDateBadValidity, Message: "有效期格式或取值错误", EN: en}
	}
	b, err := time.Parse("20060102", begin)
	if err != nil {
		return bad("ValidityBegin must be a YYYYMMDD date")
	}
	now := v.opt.Now()
	if b.After(now) {
		return bad("ValidityBegin is in the future")
	}
	if end == "00000000" {
		return nil
	}
	e, err := time.Parse("20060102", end)
	if err != nil {
		return bad("ValidityEnd must be a YYYYMMDD date or 00000000")
	}
	if !e.After(b) {
		return bad("ValidityEnd is not after ValidityBegin")
	}
	if e.AddDate(0, 0, 1).Before(now) {
		return &Error{Code: ResultDateBadValidity, Message: "证件已过有效期", EN: "the ID card has expired"}
	}
	return nil
}

// identityFailure turns a failed identity check into the FailedOperation
// outcome of the photo and video actions; ok is false when it failed.
func (v *Verifier) galleryFace(ctx context.Context, req *VerifyRequest, sw *stopwatch) ([]float32, *outcome, error) {
	idErr, nameErr := validateIdentity(req.IDNumber, req.Name)
	if idErr != nil {
		e := AsError(idErr)
		o := failed(&Error{Code: CodeIDFormat, Message: "身份证号码格式错误：" + e.Message, EN: "invalid ID number: " + e.EN})
		return nil, &o, nil
	}
	if nameErr != nil {
		o := failed(&Error{Code: CodeNameFormat, Message: "姓名格式错误", EN: "invalid name"})
		return nil, &o, nil
	}
	ident, err := v.lookup(ctx, req.IDNumber)
	sw.lap("gallery")
	if err != nil {
		return nil, nil, err
	}
	if ident == nil {
		o := failed(&Error{Code: CodeIDNotInSystem, Message: "人像库中无此身份证号", EN: "the ID number is not in the gallery"})
		return nil, &o, nil
	}
	if ident.Name != req.Name {
		o := failed(&Error{Code: CodeIDNameMismatch, Message: "姓名和身份证号不一致", EN: "the name does not match the ID number"})
		return nil, &o, nil
	}
	if len(ident.Embedding) == EmbeddingSize {
		return ident.Embedding, nil, nil
	}
	if len(ident.Photo) == 0 {
		o := failed(&Error{Code: CodeIDPhotoNone, Message: "人像库中无此人照片", EN: "the gallery holds no photo of this person"})
		return nil, &o, nil
	}
	a, err := v.opt.Faces.Analyze(ctx, ident.Photo, AnalyzeOptions{Policy: PickLargest})
	sw.lap("gallery_analyze")
	if err != nil || a.Face() == nil || len(a.Face().Embedding) == 0 {
		o := failed(&Error{Code: CodeIDPhotoQuality, Message: "人像库照片质量不足", EN: "the gallery photo has no usable face"})
		return nil, &o, nil
	}
	return a.Face().Embedding, nil, nil
}

// analyzePhoto analyses the caller's photo with the quality gates.
func (v *Verifier) analyzePhoto(ctx context.Context, img []byte, sw *stopwatch) (*Face, *outcome, error) {
	if len(img) == 0 {
		o := failed(&Error{Code: CodeEmptyImage, Message: "图片为空", EN: "the image is empty"})
		return nil, &o, nil
	}
	if len(img) > v.opt.MaxImageBytes {
		o := failed(&Error{Code: CodeImageSizeTooLarge, Message: "图片过大", EN: fmt.Sprintf("the image is larger than %d bytes", v.opt.MaxImageBytes)})
		return nil, &o, nil
	}
	// Without Gates the engine still reports every gate but pose as findings.
	a, err := v.opt.Faces.Analyze(ctx, img, AnalyzeOptions{Policy: v.opt.Policy, Gates: v.opt.PoseGate, Pose: v.opt.PoseGate})
	if a != nil {
		sw.add("photo_", a.Stages)
	} else {
		sw.lap("photo")
	}
	if err == nil && len(a.Findings) > 0 {
		err = a.Findings[0].Err()
	}
	if err != nil {
		e := AsError(err)
		if e.Code == CodeInternal {
			return nil, nil, err
		}
		o := failed(e)
		return nil, &o, nil
	}
	f := a.Face()
	if f == nil || len(f.Embedding) == 0 {
		o := failed(FindNoFace.Err())
		return nil, &o, nil
	}
	return f, nil, nil
}

// compareOutcome decides Success or low similarity.
func (v *Verifier) compareOutcome(sim float64) outcome {
	sim = roundSim(sim)
	if sim >= v.opt.PassSim {
		o := pass("比对成功", "same person")
		o.sim = sim
		return o
	}
	o := failed(&Error{Code: CodeLowSimilarity, Message: "比对相似度未达到通过标准", EN: fmt.Sprintf("similarity %.2f is below the pass mark %.0f", sim, v.opt.PassSim)})
	o.sim = sim
	return o
}

func roundSim(s float64) float64 {
	if s < 0 {
		return 0
	}
	return float64(int64(s*100+0.5)) / 100
}

// CompareImage is ImageRecognition(V2): the caller's photo against the
// gallery photo of IdCard+Name.
func (v *Verifier) CompareImage(ctx context.Context, req *VerifyRequest) (*VerifyResult, error) {
	sw := newStopwatch()
	ref, o, err := v.galleryFace(ctx, req, sw)
	if err != nil {
		return nil, err
	}
	if o == nil {
		var f *Face
		f, o, err = v.analyzePhoto(ctx, req.Image, sw)
		if err != nil {
			return nil, err
		}
		if o == nil {
			c := v.compareOutcome(Sim(f.Embedding, ref))
			sw.lap("compare")
			o = &c
		}
	}
	return v.record(ctx, req, *o, sw, nil)
}

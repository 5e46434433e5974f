package engine

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"
)

// The hosted flow (DetectAuth → BizToken + Url → the H5 page → live
// capture → GetDetectInfoEnhanced), and counter verifications that run the
// same capture, liveness and comparison. The Detector owns the domain side:
// starting a flow from its RuleId, the page's token checks, deciding and
// recording each attempt, and reading results back. Capture and the page
// are adapters (engine/capture, webui).

// Hosted-flow codes of the token itself (reference §3.1).
const (
	FlowPass       = 0
	FlowCompleted  = 14 // the verification was already completed
	FlowExpired    = 15 // the BizToken expired
	FlowRetryLimit = 16 // the retry limit was reached
	FlowUnfinished = 17 // the flow has not finished
)

// Compare codes of the hosted flow (reference §3.1).
const (
	CompareEngine      = 2001
	CompareBadName     = 2002
	CompareBadID       = 2003
	CompareNoFace      = 2004
	CompareNotFound    = 2005
	CompareMismatch    = 2006
	CompareNoPhoto     = 2007
	CompareNoSource    = 2008
	ComparePoorPhoto   = 2009
	CompareLowSim      = 2016
	CodeRuleNotExist   = "InvalidParameterValue.RuleIdNotExist"
	CodeRuleDisabled   = "InvalidParameterValue.RuleIdDisabled"
	CodeBizTokenBad    = "InvalidParameterValue.BizTokenIllegal"
	CodeBizTokenExpire = "InvalidParameterValue.BizTokenExpired"
)

// DefaultTokenTTL is how long a BizToken's page can be used (Tencent: 7,200 s).
const DefaultTokenTTL = 7200 * time.Second

// DetectorOptions configure a Detector; zero values mean the defaults.
type DetectorOptions struct {
	Faces FaceEngine
	Store Store
	Now   func() time.Time
	// TokenTTL is the BizToken's validity (default DefaultTokenTTL).
	TokenTTL time.Duration
	// MediaTTL keeps best frames, clips and callers' photos this long after
	// the attempt (default DefaultRetention.Media).
	MediaTTL time.Duration
	// MediaRetention, if set, is asked for the media period at each write
	// instead of MediaTTL (the console's settings can change it).
	MediaRetention func() time.Duration
	// PassSim is the pass mark of rules without their own (default SimPass).
	PassSim float64
	// MaxImageBytes bounds the caller's photo (default 3 MiB).
	MaxImageBytes int
}

// Detector runs the hosted flow's domain logic. Safe for concurrent use.
type Detector struct {
	opt     DetectorOptions
	mu      sync.Mutex
	running map[string]bool // tokens with a capture in progress
}

// NewDetector fills in the defaults.
func NewDetector(opt DetectorOptions) (*Detector, error) {
	if opt.Faces == nil || opt.Store == nil {
		return nil, errors.New("detector: Faces and Store are required")
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.TokenTTL <= 0 {
		opt.TokenTTL = DefaultTokenTTL
	}
	if opt.MediaTTL <= 0 {
		opt.MediaTTL = DefaultRetention.Media
	}
	if opt.PassSim <= 0 {
		opt.PassSim = SimPass
	}
	if opt.MaxImageBytes <= 0 {
		opt.MaxImageBytes = 3 << 20
	}
	return &Detector{opt: opt, running: map[string]bool{}}, nil
}

func (d *Detector) mediaTTL() time.Duration {
	if d.opt.MediaRetention != nil {
		if t := d.opt.MediaRetention(); t > 0 {
			return t
		}
	}
	return d.opt.MediaTTL
}

// DetectAuthRequest is a DetectAuth call, authenticated and decrypted.
type DetectAuthRequest struct {
	AppID       string
	RuleID      string
	IDNumber    string
	Name        string
	Image       []byte // decoded ImageBase64
	RedirectURL string
	Extra       string
}

// FlowStop says why a BizToken's page cannot run: its hosted-flow code
// (14, 15, 16) with messages.
type FlowStop struct {
	ErrCode int
	Message string
	EN      string
}

func (e *FlowStop) Error() string { return fmt.Sprintf("flow code %d: %s", e.ErrCode, e.EN) }

var (
	stopCompleted = &FlowStop{FlowCompleted, "该核验已完成，请勿重复操作", "this verification has already been completed"}
	stopExpired   = &FlowStop{FlowExpired, "核验链接已过期，请重新发起", "this verification link has expired; please start again"}
	stopRetries   = &FlowStop{FlowRetryLimit, "重试次数已达上限", "the retry limit has been reached"}
)

// AsFlowStop returns err's FlowStop, or nil.
func AsFlowStop(err error) *FlowStop {
	var s *FlowStop
	if errors.As(err, &s) {
		return s
	}
	return nil
}

func invalidValue(code, zh, format string, args ...any) *Error {
	return &Error{Code: code, Message: zh, EN: fmt.Sprintf(format, args...)}
}

// Start is DetectAuth: it checks the request against the rule, keeps the
// caller's photo as media and creates the BizToken.
func (d *Detector) Start(ctx context.Context, req DetectAuthRequest) (*BizToken, *Rule, error) {
	rule, err := d.rule(ctx, req.AppID, req.RuleID)
	if err != nil {
		return nil, nil, err
	}
	req.IDNumber = strings.ToUpper(strings.TrimSpace(req.IDNumber))
	req.Name = strings.TrimSpace(req.Name)
	needIdentity := rule.CompareSource == CompareGallery && !rule.IdentityTyped
	if needIdentity && (req.IDNumber == "" || req.Name == "") {
		return nil, nil, invalidValue(CodeMissingParameter, "该业务流程需要传入身份证号和姓名",
			"RuleId %s compares with the gallery: IdCard and Name are required", rule.ID)
	}
	if (req.IDNumber == "") != (req.Name == "") {
		return nil, nil, invalidValue(CodeInvalidParameterValue, "身份证号和姓名需同时传入", "IdCard and Name go together")
	}
	if req.IDNumber != "" {
		if err := ValidateIDNumber(req.IDNumber); err != nil {
			e := AsError(err)
			return nil, nil, invalidValue(CodeInvalidParameterValue, "身份证号码无效："+e.Message, "IdCard is not a valid ID number: %s", e.EN)
		}
		if !ValidName(req.Name) {
			return nil, nil, invalidValue(CodeInvalidParameterValue, "姓名格式无效", "Name is not a valid name")
		}
	}
	redirect := req.RedirectURL
	if redirect == "" {
		redirect = rule.RedirectURL
	}
	if redirect != "" {
		if err := checkRedirect(redirect); err != nil {
			return nil, nil, err
		}
	}
	now := d.opt.Now().UTC()
	t := &BizToken{RuleID: rule.ID, AppID: req.AppID, IDNumber: req.IDNumber, Name: req.Name, Extra: req.Extra,
		RedirectURL: redirect, CreatedAt: now, ExpiresAt: now.Add(d.opt.TokenTTL)}
	if rule.CompareSource == ComparePhoto {
		if len(req.Image) == 0 {
			return nil, nil, invalidValue(CodeMissingParameter, "该业务流程需要传入比对照片 ImageBase64",
				"RuleId %s compares with the caller's photo: ImageBase64 is required", rule.ID)
		}
		if len(req.Image) > d.opt.MaxImageBytes {
			return nil, nil, invalidValue(CodeImageSizeTooLarge, "图片过大", "ImageBase64 is larger than %d bytes", d.opt.MaxImageBytes)
		}
		if _, err := d.photoEmbedding(ctx, req.Image); err != nil {
			return nil, nil, err
		}
		m := &Media{Kind: "photo", MIME: sniffImage(req.Image), Data: req.Image, CreatedAt: now,
			ExpiresAt: t.ExpiresAt.Add(d.mediaTTL())}
		if err := d.opt.Store.PutMedia(ctx, m); err != nil {
			return nil, nil, dbErr("storing the photo", err)
		}
		t.PhotoMedia = m.ID
	}
	if err := d.opt.Store.PutBizToken(ctx, t); err != nil {
		return nil, nil, dbErr("storing the BizToken", err)
	}
	return t, rule, nil
}

func dbErr(what string, err error) *Error {
	return &Error{Code: CodeInternal, Message: "内部错误", EN: what + " failed: " + err.Error()}
}

// rule finds an enabled rule of the app.
func (d *Detector) rule(ctx context.Context, appID, id string) (*Rule, error) {
	if id == "" {
		return nil, invalidValue(CodeMissingParameter, "缺少 RuleId", "missing parameter RuleId")
	}
	r, err := d.opt.Store.FindRule(ctx, id)
	if err != nil || r.AppID != appID {
		if err != nil && ErrorCode(err) != CodeResourceNotFound {
			return nil, dbErr("reading the rule", err)
		}
		return nil, invalidValue(CodeRuleNotExist, "RuleId 不存在", "RuleId %q does not exist", id)
	}
	if r.Disabled {
		return nil, invalidValue(CodeRuleDisabled, "RuleId 已停用", "RuleId %q is disabled", id)
	}
	return r, nil
}

// checkRedirect admits absolute http(s) URLs only: the page navigates
// there, so a javascript: or data: URL would run in its origin.
func checkRedirect(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return invalidValue(CodeInvalidParameterValue, "RedirectUrl 必须是 http(s) 地址", "RedirectUrl must be an absolute http or https URL")
	}
	return nil
}

// RedirectTarget is the BizToken's redirect URL with token and Extra
// appended, or "" when it has none.
func RedirectTarget(t *BizToken) string {
	if t.RedirectURL == "" {
		return ""
	}
	u, err := url.Parse(t.RedirectURL)
	if err != nil {
		return ""
	}
	q := u.Query()
	q.Set("token", t.Token)
	if t.Extra != "" {
		q.Set("Extra", t.Extra)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func sniffImage(b []byte) string {
	switch {
	case len(b) > 3 && b[0] == 0xFF && b[1] == 0xD8:
		return "image/jpeg"
	case len(b) > 8 && string(b[1:4]) == "PNG":
		return "image/png"
	case len(b) > 2 && string(b[:2]) == "BM":
		return "image/bmp"
	}
	return "application/octet-stream"
}

// photoEmbedding analyses the caller's photo; a photo without a usable
// face is refused with the engine's code.
func (d *Detector) photoEmbedding(ctx context.Context, img []byte) ([]float32, error) {
	a, err := d.opt.Faces.Analyze(ctx, img, AnalyzeOptions{Policy: PickLargest})
	if err != nil {
		return nil, err
	}
	f := a.Face()
	if f == nil || len(f.Embedding) == 0 {
		return nil, FindNoFace.Err()
	}
	return f.Embedding, nil
}

// Page is what the H5 page needs to know about a usable BizToken.
type Page struct {
	Token         *BizToken
	Rule          *Rule
	NeedIdentity  bool // the citizen must type name and ID number first
	AttemptsLeft  int
	LastAttempt   *Attempt
	CaptureActive bool
}

// Open checks a BizToken for the page: unknown (ResourceNotFound),
// completed (14), expired (15), out of retries (16).
func (d *Detector) Open(ctx context.Context, token string) (*Page, error) {
	t, err := d.opt.Store.FindBizToken(ctx, token)
	if err != nil {
		if ErrorCode(err) == CodeResourceNotFound {
			return nil, invalidValue(CodeResourceNotFound, "核验链接无效", "unknown BizToken")
		}
		return nil, dbErr("reading the BizToken", err)
	}
	r, err := d.opt.Store.FindRule(ctx, t.RuleID)
	if err != nil {
		return nil, invalidValue(CodeRuleNotExist, "业务流程不存在", "the BizToken's RuleId no longer exists")
	}
	if stop := d.stop(t, r); stop != nil {
		return &Page{Token: t, Rule: r, LastAttempt: last(t)}, stop
	}
	p := &Page{Token: t, Rule: r, AttemptsLeft: 1 + r.MaxRetries - len(t.Attempts), LastAttempt: last(t),
		NeedIdentity: r.IdentityTyped && t.IDNumber == "" && r.CompareSource != CompareNone}
	d.mu.Lock()
	p.CaptureActive = d.running[t.Token]
	d.mu.Unlock()
	return p, nil
}

func last(t *BizToken) *Attempt {
	if len(t.Attempts) == 0 {
		return nil
	}
	return &t.Attempts[len(t.Attempts)-1]
}

// stop returns why the token cannot run another attempt.
func (d *Detector) stop(t *BizToken, r *Rule) *FlowStop {
	if a := last(t); a != nil && a.ErrCode == FlowPass {
		return stopCompleted
	}
	if len(t.Attempts) >= 1+r.MaxRetries {
		return stopRetries
	}
	if !t.CompletedAt.IsZero() {
		return stopCompleted
	}
	if !d.opt.Now().Before(t.ExpiresAt) {
		return stopExpired
	}
	return nil
}

// SetIdentity records the name and ID number the citizen typed (rules
// with IdentityTyped only).
func (d *Detector) SetIdentity(ctx context.Context, token, idNumber, name string) error {
	p, err := d.Open(ctx, token)
	if err != nil {
		return err
	}
	if !p.Rule.IdentityTyped {
		return invalidValue(CodeUnsupportedOperation, "该业务流程的身份信息由业务方传入", "this flow takes the identity from the caller")
	}
	if p.CaptureActive {
		return invalidValue(CodeUnsupportedOperation, "核验正在进行中", "a capture for this BizToken is running")
	}
	idNumber, name = strings.ToUpper(strings.TrimSpace(idNumber)), strings.TrimSpace(name)
	if err := ValidateIDNumber(idNumber); err != nil {
		e := AsError(err)
		return invalidValue(CodeInvalidParameterValue, "身份证号码无效："+e.Message, "invalid ID number: %s", e.EN)
	}
	if !ValidName(name) {
		return NameError()
	}
	p.Token.IDNumber, p.Token.Name = idNumber, name
	if err := d.opt.Store.PutBizToken(ctx, p.Token); err != nil {
		return dbErr("storing the BizToken", err)
	}
	return nil
}

// Begin claims the token for one capture: it must be usable, have its
// identity if the rule compares with the gallery, and not be capturing
// already. Call release when the attempt has been concluded.
func (d *Detector) Begin(ctx context.Context, token string) (*Page, func(), error) {
	p, err := d.Open(ctx, token)
	if err != nil {
		return nil, nil, err
	}
	if p.NeedIdentity || (p.Rule.CompareSource == CompareGallery && p.Token.IDNumber == "") {
		return nil, nil, invalidValue(CodeMissingParameter, "请先填写姓名和身份证号", "the name and ID number are needed first")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.running[token] {
		return nil, nil, invalidValue(CodeUnsupportedOperation, "核验正在进行中", "a capture for this BizToken is already running")
	}
	d.running[token] = true
	var once sync.Once
	return p, func() {
		once.Do(func() {
			d.mu.Lock()
			delete(d.running, token)
			d.mu.Unlock()
		})
	}, nil
}

// LiveAttempt is one finished live capture to decide and record.
type LiveAttempt struct {
	Channel   string    // "h5" or "counter"
	Token     *BizToken // the hosted flow's token; nil for the counter
	Rule      *Rule
	AppID     string
	IDNumber  string // counter: the typed identity (the token's otherwise)
	Name      string
	Operator  string // counter: the console user
	RequestID string
	Verdict   *LivenessVerdict
	Clip      []byte // the recorded clip (MP4), if any
	Stages    []Stage
}

// Outcome is a decided, recorded attempt.
type Outcome struct {
	Attempt      Attempt
	Record       *Record
	Pass         bool
	Final        bool // the token takes no further attempt
	AttemptsLeft int
	Result       string // the pure-API style Result ("Success" or a FailedOperation code)
	Message, EN  string
}

// Conclude compares the verdict's best frame with the reference face,
// decides the codes, stores the best frame and the clip as media, and
// writes the attempt to the token and the record.
func (d *Detector) Conclude(ctx context.Context, la LiveAttempt) (*Outcome, error) {
	sw := newStopwatch()
	sw.stages = append(sw.stages, la.Stages...)
	v := la.Verdict
	if v == nil {
		return nil, errors.New("detector: no verdict")
	}
	now := d.opt.Now().UTC()
	id, name := la.IDNumber, la.Name
	if la.Token != nil {
		id, name = la.Token.IDNumber, la.Token.Name
	}
	a := Attempt{At: now, LiveStatus: v.ErrCode, LiveMsg: v.Message, ErrCode: v.ErrCode, ErrMsg: v.Message,
		Mode: v.Mode, Sequence: v.Sequence, IDNumber: id, Name: name}
	result, en := v.Code, v.EN
	var media []string
	expires := now.Add(d.mediaTTL())
	if v.Best != nil {
		if jpg, err := d.opt.Faces.EncodeJPEG(v.Best.Frame, 90); err == nil {
			m := &Media{Kind: "best_frame", MIME: "image/jpeg", Data: jpg, CreatedAt: now, ExpiresAt: expires}
			if err := d.opt.Store.PutMedia(ctx, m); err != nil {
				return nil, dbErr("storing the best frame", err)
			}
			a.BestFrame = m.ID
			media = append(media, m.ID)
		}
	}
	if len(la.Clip) > 0 {
		m := &Media{Kind: "video", MIME: "video/mp4", Data: la.Clip, CreatedAt: now, ExpiresAt: expires}
		if err := d.opt.Store.PutMedia(ctx, m); err != nil {
			return nil, dbErr("storing the clip", err)
		}
		a.Video = m.ID
		media = append(media, m.ID)
	}
	sw.lap("media")
	if v.Pass {
		a.LiveMsg = "活体检测通过"
		c, err := d.compare(ctx, la, id, name, v, sw)
		if err != nil {
			return nil, err
		}
		a.Compared = c.ran
		a.CompareErr, a.CompareMsg, a.Sim = c.code, c.zh, c.sim
		a.ErrCode, a.ErrMsg = c.code, c.zh
		result, en = c.result, c.en
		if !c.ran {
			a.ErrMsg = "成功"
		}
	}
	sw.lap("decide")
	a.Stages = sw.stages
	out := &Outcome{Pass: a.ErrCode == FlowPass, Result: result, Message: a.ErrMsg, EN: en}
	if out.Pass {
		out.Message, out.EN = "核验通过", "verification passed"
	}
	rec := &Record{AppID: la.AppID, RuleID: la.Rule.ID, Action: "DetectAuth", Channel: la.Channel, RequestID: la.RequestID,
		IDNumber: id, Name: name, Result: result, ErrCode: a.ErrCode, Sim: a.Sim, LiveStatus: a.LiveStatus,
		Stages: a.Stages, CreatedAt: now, CreatedBy: la.Operator}
	if la.Token != nil {
		t := la.Token
		a.Seq = len(t.Attempts) + 1
		t.Attempts = append(t.Attempts, a)
		out.AttemptsLeft = 1 + la.Rule.MaxRetries - len(t.Attempts)
		out.Final = out.Pass || out.AttemptsLeft <= 0
		if out.Final {
			t.CompletedAt = now
		}
		rec.BizToken = t.Token
		if t.RecordID != "" {
			if old, err := d.opt.Store.FindRecord(ctx, t.RecordID); err == nil {
				rec.ID, rec.CreatedAt, rec.RequestID, rec.Review = old.ID, old.CreatedAt, old.RequestID, old.Review
				media = append(old.Media, media...)
			}
		}
		rec.Media = media
		if rec.ID != "" {
			err := d.opt.Store.UpdateRecord(ctx, rec)
			if err != nil {
				return nil, dbErr("updating the record", err)
			}
		} else if err := d.opt.Store.CreateRecord(ctx, rec); err != nil {
			return nil, dbErr("writing the record", err)
		}
		t.RecordID = rec.ID
		if err := d.opt.Store.PutBizToken(ctx, t); err != nil {
			return nil, dbErr("storing the BizToken", err)
		}
	} else {
		a.Seq = 1
		out.Final = true
		rec.Media = media
		if err := d.opt.Store.CreateRecord(ctx, rec); err != nil {
			return nil, dbErr("writing the record", err)
		}
	}
	out.Attempt, out.Record = a, rec
	return out, nil
}

// comparison is the compare step's decision.
type comparison struct {
	ran            bool
	code           int
	result, zh, en string
	sim            float64
}

func compareFail(code int, result, zh, en string) comparison {
	return comparison{ran: true, code: code, result: result, zh: zh, en: en}
}

// compare runs the rule's comparison of the best frame.
func (d *Detector) compare(ctx context.Context, la LiveAttempt, id, name string, v *LivenessVerdict, sw *stopwatch) (comparison, error) {
	var ref []float32
	switch la.Rule.CompareSource {
	case CompareGallery:
		if ValidateIDNumber(id) != nil {
			return compareFail(CompareBadID, CodeIDFormat, "身份证号码格式错误", "invalid ID number"), nil
		}
		if !ValidName(name) {
			return compareFail(CompareBadName, CodeNameFormat, "姓名格式错误", "invalid name"), nil
		}
		ident, err := d.opt.Store.FindIdentity(ctx, id)
		sw.lap("gallery")
		if err != nil {
			if ErrorCode(err) == CodeResourceNotFound {
				return compareFail(CompareNotFound, CodeIDNotInSystem, "人像库中无此身份证号", "the ID number is not in the gallery"), nil
			}
			return comparison{}, dbErr("gallery lookup", err)
		}
		if ident.Name != name {
			return compareFail(CompareMismatch, CodeIDNameMismatch, "姓名和身份证号不一致", "the name does not match the ID number"), nil
		}
		ref = ident.Embedding
		if len(ref) != EmbeddingSize {
			if len(ident.Photo) == 0 {
				return compareFail(CompareNoPhoto, CodeIDPhotoNone, "人像库中无此人照片", "the gallery holds no photo of this person"), nil
			}
			if ref, err = d.photoEmbedding(ctx, ident.Photo); err != nil {
				return compareFail(ComparePoorPhoto, CodeIDPhotoQuality, "人像库照片质量不足", "the gallery photo has no usable face"), nil
			}
		}
	case ComparePhoto:
		if la.Token == nil || la.Token.PhotoMedia == "" {
			return compareFail(CompareNoSource, CodeIDPhotoNone, "无比对照片", "no photo to compare with"), nil
		}
		m, err := d.opt.Store.FindMedia(ctx, la.Token.PhotoMedia)
		if err != nil {
			return compareFail(CompareNoSource, CodeIDPhotoNone, "比对照片已过期", "the photo to compare with is no longer stored"), nil
		}
		if ref, err = d.photoEmbedding(ctx, m.Data); err != nil {
			return compareFail(ComparePoorPhoto, CodeIDPhotoQuality, "比对照片质量不足", "the photo to compare with has no usable face"), nil
		}
		sw.lap("photo")
	default:
		return comparison{code: FlowPass, result: ResultSuccess, zh: "成功", en: "the person is live"}, nil
	}
	if v.Best == nil || len(v.Best.Face.Embedding) == 0 {
		return compareFail(CompareNoFace, CodeBestFrame, "无法从视频中提取人脸", "no face could be taken from the video"), nil
	}
	sim := roundSim(Sim(v.Best.Face.Embedding, ref))
	sw.lap("compare")
	pass := la.Rule.SimThreshold
	if pass <= 0 {
		pass = d.opt.PassSim
	}
	if sim < pass {
		c := compareFail(CompareLowSim, CodeLowSimilarity, "比对相似度未达到通过标准",
			fmt.Sprintf("similarity %.2f is below the pass mark %.0f", sim, pass))
		c.sim = sim
		return c, nil
	}
	return comparison{ran: true, code: FlowPass, result: ResultSuccess, zh: "比对成功", en: "same person", sim: sim}, nil
}

// DetectInfo is a BizToken's result for GetDetectInfo(Enhanced).
type DetectInfo struct {
	Token *BizToken
	Rule  *Rule
	// Final is the attempt the result reports (the last), nil when none ran.
	Final *Attempt
	// ErrCode/ErrMsg are the flow's result: the final attempt's, else 15
	// (expired without an attempt) or 17 (not finished).
	ErrCode int
	ErrMsg  string
	// Media of the attempts while retained, by attempt index; nil once swept.
	BestFrames [][]byte
	Videos     [][]byte
}

// InfoWant says which media to read.
type InfoWant struct{ BestFrames, Videos bool }

// Info reads a BizToken's result for the app that created it.
func (d *Detector) Info(ctx context.Context, appID, token, ruleID string, want InfoWant) (*DetectInfo, error) {
	if token == "" {
		return nil, invalidValue(CodeMissingParameter, "缺少 BizToken", "missing parameter BizToken")
	}
	if ruleID == "" {
		return nil, invalidValue(CodeMissingParameter, "缺少 RuleId", "missing parameter RuleId")
	}
	t, err := d.opt.Store.FindBizToken(ctx, token)
	if err != nil || t.AppID != appID {
		if err != nil && ErrorCode(err) != CodeResourceNotFound {
			return nil, dbErr("reading the BizToken", err)
		}
		return nil, invalidValue(CodeBizTokenBad, "BizToken 不存在或结果已过保存期（3天）", "unknown BizToken, or its results are older than the 3-day retention")
	}
	if t.RuleID != ruleID {
		return nil, invalidValue(CodeRuleNotExist, "RuleId 与 BizToken 不匹配", "RuleId %q is not the BizToken's", ruleID)
	}
	info := &DetectInfo{Token: t, Final: last(t)}
	info.Rule, _ = d.opt.Store.FindRule(ctx, t.RuleID)
	switch {
	case info.Final != nil:
		info.ErrCode, info.ErrMsg = info.Final.ErrCode, info.Final.ErrMsg
	case !d.opt.Now().Before(t.ExpiresAt):
		info.ErrCode, info.ErrMsg = FlowExpired, stopExpired.Message
	default:
		info.ErrCode, info.ErrMsg = FlowUnfinished, "流程未完成"
	}
	read := func(id string) []byte {
		if id == "" {
			return nil
		}
		m, err := d.opt.Store.FindMedia(ctx, id)
		if err != nil || !d.opt.Now().Before(m.ExpiresAt) && !m.ExpiresAt.IsZero() {
			return nil
		}
		return m.Data
	}
	for _, a := range t.Attempts {
		if want.BestFrames {
			info.BestFrames = append(info.BestFrames, read(a.BestFrame))
		}
		if want.Videos {
			info.Videos = append(info.Videos, read(a.Video))
		}
	}
	return info, nil
}

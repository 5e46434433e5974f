package webui

import (
	"context"
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"

	"heshen/engine"
	"heshen/engine/capture"
	"heshen/engine/capture/page"
)

// The hosted flow's H5 page (DetectAuth's Url) and live capture: the page
// at /h5/{BizToken} shows the rule's consent, asks for the identity when
// the citizen types it, sends the camera over WebRTC (POST
// /h5/{token}/offer), renders the server's challenge steps and shows the
// verdict, then redirects to RedirectUrl with token and Extra. The same
// capture, liveness and comparison run counter verifications (Counter).

//go:embed h5
var h5Assets embed.FS

// LiveConfig configures live capture; zero values mean the defaults.
type LiveConfig struct {
	// Capture receives the cameras; nil makes offers answer
	// FailedOperation.CaptureUnavailable (DetectAuth and results still work).
	Capture *capture.Server
	// Faces analyses the frames.
	Faces engine.FaceEngine
	// Detector decides and records attempts.
	Detector *engine.Detector
	// PublicURL is the base of DetectAuth's Url ("https://kyc.example.com");
	// empty: the API request's own scheme and host.
	PublicURL string
	// FFmpeg encodes the recorded clip (default "ffmpeg"); NoClip records none.
	FFmpeg string
	NoClip bool
	// Liveness, if set, adjusts each session's liveness configuration.
	Liveness func(*engine.LivenessConfig)
	// OnRun is called after each concluded capture (measurements).
	OnRun func(RunReport)
	// Logger reports background errors (default slog.Default()).
	Logger *slog.Logger
}

// RunReport measures one live capture.
type RunReport struct {
	Channel        string
	Mode           int
	Pass           bool
	ErrCode        int
	Analysed       int
	FirstToVerdict time.Duration // first analysed frame → verdict
	AnalyzeTime    time.Duration
	Decoded        int64
	DecodeCPU      time.Duration
	ClipFrames     int
	ClipBytes      int
	ClipTime       time.Duration
	ConcludeTime   time.Duration
}

// Live serves the H5 pages and runs live captures.
type Live struct {
	cfg     LiveConfig
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	counter *counterCapture
}

// NewLive checks the configuration.
func NewLive(cfg LiveConfig) (*Live, error) {
	if cfg.Faces == nil || cfg.Detector == nil {
		return nil, errors.New("webui: LiveConfig needs Faces and Detector")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	l := &Live{cfg: cfg}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	l.counter = newCounterCapture(l)
	return l, nil
}

// Counter is the console's counter-mode capture over the same path.
func (l *Live) Counter() CounterCapture { return l.counter }

// Close ends running captures without recording them and waits for them.
func (l *Live) Close() {
	l.cancel()
	l.wg.Wait()
}

var tokenRe = regexp.MustCompile(`^[A-Za-z0-9-]{8,64}$`)

// h5CSP lets the page use only its own scripts, styles and the camera.
const h5CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob: mediastream:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

func (l *Live) mount(app *fiber.App) {
	if l == nil {
		return
	}
	h := app.Group("/h5", func(c *fiber.Ctx) error {
		c.Set("Content-Security-Policy", h5CSP)
		c.Set("X-Content-Type-Options", "nosniff")
		c.Set("X-Frame-Options", "DENY")
		c.Set("Referrer-Policy", "no-referrer")
		c.Set("Permissions-Policy", "camera=(self), microphone=()")
		return c.Next()
	})
	sub, _ := fs.Sub(h5Assets, "h5")
	h.Get("/assets/capture.js", func(c *fiber.Ctx) error { return serveAsset(c, page.FS(), "capture.js") })
	h.Use("/assets", filesystem.New(filesystem.Config{Root: http.FS(sub), MaxAge: 300}))
	h.Get("/:token", l.pageHTML)
	h.Get("/:token/info", l.pageInfo)
	h.Post("/:token/identity", l.pageIdentity)
	h.Post("/:token/offer", l.pageOffer)
}

func serveAsset(c *fiber.Ctx, fsys fs.FS, name string) error {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return fiber.ErrNotFound
	}
	c.Type(name[strings.LastIndexByte(name, '.')+1:])
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	return c.Send(b)
}

func (l *Live) pageHTML(c *fiber.Ctx) error {
	if !tokenRe.MatchString(c.Params("token")) {
		return fiber.ErrNotFound
	}
	b, err := fs.ReadFile(h5Assets, "h5/index.html")
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Type("html", "utf-8")
	return c.Send(b)
}

// h5Error answers a page request's error as {"error": {...}} with a status
// that says what kind it is.
func h5Error(c *fiber.Ctx, err error) error {
	out := fiber.Map{}
	status := fiber.StatusBadRequest
	if s := engine.AsFlowStop(err); s != nil {
		status = fiber.StatusGone
		out = fiber.Map{"code": "FailedOperation.FlowStopped", "err_code": s.ErrCode, "message": s.Message, "message_en": s.EN}
	} else {
		e := engine.AsError(err)
		switch {
		case e.Code == engine.CodeResourceNotFound:
			status = fiber.StatusNotFound
		case e.Code == codeCaptureMissing || e.Reason == capture.ReasonTooMany || e.Reason == capture.ReasonServerClosed:
			status = fiber.StatusServiceUnavailable
		case e.Code == engine.CodeInternal:
			status = fiber.StatusInternalServerError
		}
		out = fiber.Map{"code": e.Code, "reason": e.Reason, "message": e.Message, "message_en": e.EN}
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(status).JSON(fiber.Map{"error": out})
}

func (l *Live) token(c *fiber.Ctx) (string, error) {
	t := c.Params("token")
	if !tokenRe.MatchString(t) {
		return "", &engine.Error{Code: engine.CodeResourceNotFound, Message: "核验链接无效", EN: "unknown BizToken"}
	}
	return strings.Clone(t), nil
}

// pageInfo tells the page what to show: consent, identity form, mode, or
// why the token cannot run (with its flow code).
func (l *Live) pageInfo(c *fiber.Ctx) error {
	tok, err := l.token(c)
	if err != nil {
		return h5Error(c, err)
	}
	p, err := l.cfg.Detector.Open(c.UserContext(), tok)
	if err != nil {
		if s := engine.AsFlowStop(err); s != nil && p != nil {
			c.Set(fiber.HeaderCacheControl, "no-store")
			return c.Status(fiber.StatusGone).JSON(fiber.Map{
				"error":    fiber.Map{"code": "FailedOperation.FlowStopped", "err_code": s.ErrCode, "message": s.Message, "message_en": s.EN},
				"redirect": engine.RedirectTarget(p.Token)})
		}
		return h5Error(c, err)
	}
	out := fiber.Map{
		"consent_text":   p.Rule.ConsentText,
		"guardian":       p.Rule.GuardianConsent,
		"need_identity":  p.NeedIdentity,
		"liveness_mode":  p.Rule.LivenessMode,
		"compare_source": p.Rule.CompareSource,
		"attempts_left":  p.AttemptsLeft,
		"capture":        l.cfg.Capture != nil,
		"running":        p.CaptureActive,
		"expires_at":     p.Token.ExpiresAt,
	}
	if a := p.LastAttempt; a != nil {
		out["last"] = fiber.Map{"err_code": a.ErrCode, "message": a.ErrMsg}
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(out)
}

func (l *Live) pageIdentity(c *fiber.Ctx) error {
	tok, err := l.token(c)
	if err != nil {
		return h5Error(c, err)
	}
	var req struct {
		Name     string `json:"name"`
		IDNumber string `json:"id_number"`
	}
	if err := bodyJSON(c, &req); err != nil {
		return h5Error(c, err)
	}
	if err := l.cfg.Detector.SetIdentity(c.UserContext(), tok, req.IDNumber, req.Name); err != nil {
		return h5Error(c, err)
	}
	return c.JSON(fiber.Map{"ok": true})
}

// pageOffer answers the page's WebRTC offer and runs the attempt in the
// background. The page must have shown the consent (and the guardian's,
// when the rule asks): it says so in X-Heshen-Consent.
func (l *Live) pageOffer(c *fiber.Ctx) error {
	tok, err := l.token(c)
	if err != nil {
		return h5Error(c, err)
	}
	consent := c.Get("X-Heshen-Consent")
	var req struct {
		SDP string `json:"sdp"`
	}
	if err := bodyJSON(c, &req); err != nil {
		return h5Error(c, err)
	}
	if l.cfg.Capture == nil {
		return h5Error(c, engine.Errorf(codeCaptureMissing, "本机未启用实时采集", "live capture is not enabled on this server"))
	}
	p, release, err := l.cfg.Detector.Begin(c.UserContext(), tok)
	if err != nil {
		return h5Error(c, err)
	}
	if !strings.Contains(consent, "agree") || (p.Rule.GuardianConsent && !strings.Contains(consent, "guardian")) {
		release()
		return h5Error(c, engine.Errorf(engine.CodeInvalidParameterValue, "请先阅读并同意授权声明", "the consent has not been given"))
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), 15*time.Second)
	defer cancel()
	answer, sess, err := l.cfg.Capture.Answer(ctx, req.SDP)
	if err != nil {
		release()
		return h5Error(c, err)
	}
	l.start(sess, liveJob{channel: "h5", page: p, rule: p.Rule, appID: p.Token.AppID, release: release})
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(fiber.Map{"sdp": answer, "session": sess.ID()})
}

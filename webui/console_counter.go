package webui

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"heshen/engine"
)

// Counter mode: an operator at a service window types the citizen's name
// and ID number, picks the window's flow, and the citizen faces this PC's
// webcam. The page and these endpoints are the console's side; the live
// capture (WebRTC, server-side liveness and compare) is the CounterCapture
// boundary, implemented over engine/capture by the serve command. Without
// it the console says capture is unavailable: it never invents a verdict.

// CounterRequest is one counter verification to run.
type CounterRequest struct {
	SessionID string
	Rule      *engine.Rule
	AppID     string
	Name      string
	IDNumber  string
	Operator  string // console user; the record's CreatedBy
}

// CounterResult is the verdict of a finished counter verification; the
// record it wrote carries the details.
type CounterResult struct {
	RecordID   string  `json:"record_id"`
	Passed     bool    `json:"passed"`
	ErrCode    int     `json:"err_code"`
	Result     string  `json:"result"`
	Sim        float64 `json:"sim"`
	LiveStatus int     `json:"live_status"`
	Message    string  `json:"message"`
	EN         string  `json:"message_en"`
	BestFrame  string  `json:"best_frame_media,omitempty"` // media id
}

// CounterCapture runs live counter verifications on the counter PC's
// webcam: Offer answers the page's WebRTC offer and starts liveness and
// comparison for req in the background; Result reports the verdict when
// it is ready (done false while running). Implementations write the
// record with Channel "counter" and CreatedBy req.Operator.
type CounterCapture interface {
	Offer(ctx context.Context, req CounterRequest, sdp string) (answer string, err error)
	Result(ctx context.Context, sessionID string) (res *CounterResult, done bool, err error)
}

// counterSession is a counter verification between start and verdict.
type counterSession struct {
	req     CounterRequest
	created time.Time
	offered bool
}

type counterTable struct {
	mu sync.Mutex
	m  map[string]*counterSession
}

func newCounterTable() *counterTable { return &counterTable{m: map[string]*counterSession{}} }

const counterTTL = 15 * time.Minute

func (t *counterTable) put(s *counterSession, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, o := range t.m {
		if now.Sub(o.created) > counterTTL {
			delete(t.m, id)
		}
	}
	t.m[s.req.SessionID] = s
}

func (t *counterTable) get(id string, now time.Time) *counterSession {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.m[id]
	if s == nil || now.Sub(s.created) > counterTTL {
		return nil
	}
	return s
}

func (con *Console) counterStart(c *fiber.Ctx, a *actor) error {
	var req struct {
		RuleID   string `json:"rule_id"`
		Name     string `json:"name"`
		IDNumber string `json:"id_number"`
	}
	if err := bodyJSON(c, &req); err != nil {
		return err
	}
	ctx := c.UserContext()
	r, err := con.cfg.Store.FindRule(ctx, req.RuleID)
	if err != nil {
		return err
	}
	own, err := con.ownApps(ctx, a)
	if err != nil {
		return err
	}
	if !visibleRule(own, a, r) {
		return notFoundErr("业务流程", req.RuleID)
	}
	if r.Disabled {
		return engine.Errorf(engine.CodeUnsupportedOperation, "该业务流程已停用", "flow %s is disabled", r.ID)
	}
	a.entry.AppID = r.AppID
	req.Name, req.IDNumber = strings.TrimSpace(req.Name), strings.ToUpper(strings.TrimSpace(req.IDNumber))
	if err := engine.ValidateIDNumber(req.IDNumber); err != nil {
		return err
	}
	if !engine.ValidName(req.Name) {
		return engine.NameError()
	}
	if r.CompareSource == engine.CompareGallery {
		id, err := con.cfg.Store.FindIdentity(ctx, req.IDNumber)
		if err != nil {
			return engine.Errorf("FailedOperation.IdNoExistSystem", "人像库中没有该身份证号码", "the ID number is not in the gallery")
		}
		if id.Name != req.Name {
			return engine.Errorf("FailedOperation.IdNameMisMatch", "姓名与人像库不一致", "the name does not match the gallery")
		}
	}
	s := &counterSession{req: CounterRequest{SessionID: randomToken(16), Rule: r, AppID: r.AppID, Name: req.Name, IDNumber: req.IDNumber, Operator: a.user.Name},
		created: con.cfg.Now()}
	con.counters.put(s, con.cfg.Now())
	return c.JSON(fiber.Map{"session": s.req.SessionID, "rule_id": r.ID, "liveness_mode": r.LivenessMode, "compare_source": r.CompareSource,
		"consent_text": r.ConsentText, "capture": con.cfg.Counter != nil})
}

func (con *Console) counterSession(c *fiber.Ctx, a *actor) (*counterSession, error) {
	s := con.counters.get(param(c, "id"), con.cfg.Now())
	if s == nil || (a.scope != engine.ScopeAll && s.req.Operator != a.user.Name) {
		return nil, notFoundErr("柜台核验", param(c, "id"))
	}
	return s, nil
}

func (con *Console) counterOffer(c *fiber.Ctx, a *actor) error {
	s, err := con.counterSession(c, a)
	if err != nil {
		return err
	}
	a.entry.AppID = s.req.AppID
	a.entry.Request = mustJSON(map[string]string{"session": s.req.SessionID, "rule_id": s.req.Rule.ID})
	if con.cfg.Counter == nil {
		return engine.Errorf(codeCaptureMissing, "本机尚未接入实时采集,无法进行柜台核验", "live capture is not wired into this server; no counter verification can run")
	}
	var req struct {
		SDP string `json:"sdp"`
	}
	if err := bodyJSON(c, &req); err != nil {
		return err
	}
	if req.SDP == "" || len(req.SDP) > 64<<10 {
		return invalidf("SDP无效", "sdp must be a WebRTC offer of at most 64 KiB")
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), 15*time.Second)
	defer cancel()
	answer, err := con.cfg.Counter.Offer(ctx, s.req, req.SDP)
	if err != nil {
		return err
	}
	s.offered = true
	return c.JSON(fiber.Map{"sdp": answer})
}

func (con *Console) counterState(c *fiber.Ctx, a *actor) error {
	s, err := con.counterSession(c, a)
	if err != nil {
		return err
	}
	if con.cfg.Counter == nil || !s.offered {
		return c.JSON(fiber.Map{"done": false, "capture": con.cfg.Counter != nil})
	}
	res, done, err := con.cfg.Counter.Result(c.UserContext(), s.req.SessionID)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"done": done, "result": res, "capture": true})
}

// counterToReview sends the session's record to manual review (a
// borderline verdict the operator wants a reviewer to see).
func (con *Console) counterToReview(c *fiber.Ctx, a *actor) error {
	s, err := con.counterSession(c, a)
	if err != nil {
		return err
	}
	a.entry.AppID = s.req.AppID
	if con.cfg.Counter == nil {
		return engine.Errorf(codeCaptureMissing, "本机尚未接入实时采集", "live capture is not wired into this server")
	}
	res, done, err := con.cfg.Counter.Result(c.UserContext(), s.req.SessionID)
	if err != nil {
		return err
	}
	if !done || res == nil || res.RecordID == "" {
		return engine.Errorf(engine.CodeUnsupportedOperation, "核验尚未完成", "the verification has not finished")
	}
	var note struct {
		Note string `json:"note"`
	}
	if len(c.Body()) > 0 {
		if err := bodyJSON(c, &note); err != nil {
			return err
		}
	}
	if len([]rune(note.Note)) > 500 {
		return invalidf("备注最多500字", "note is at most 500 characters")
	}
	if err := con.cfg.Store.ConsolePut(c.UserContext(), kindReviewReq, res.RecordID, map[string]any{
		"by": a.user.Name, "at": con.cfg.Now().UTC(), "note": note.Note}); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"record_id": res.RecordID, "review_requested": true})
}

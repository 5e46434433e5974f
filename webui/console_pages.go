package webui

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/crypto/bcrypt"

	"heshen/engine"
	"heshen/engine/eligibility"
)

// apiRoutes registers every guarded console endpoint.
func (con *Console) apiRoutes(r fiber.Router) {
	rt := func(m, p, act string, h handler) { con.route(r, m, p, act, h) }
	G, P, U, D := fiber.MethodGet, fiber.MethodPost, fiber.MethodPut, fiber.MethodDelete

	rt(G, "/me", engine.ActDescribeOwnAccount, con.getMe)
	rt(P, "/password", engine.ActModifyOwnPassword, con.changePassword)
	rt(G, "/dashboard", engine.ActDescribeDashboard, con.getDashboard)

	rt(G, "/apps", engine.ActDescribeApps, con.listApps)
	rt(P, "/apps", engine.ActCreateApp, con.createApp)
	rt(G, "/rules", engine.ActDescribeRules, con.listRules)
	rt(P, "/rules", engine.ActCreateRule, con.createRule)
	rt(U, "/rules/:id", engine.ActModifyRule, con.updateRule)
	rt(G, "/rules/:id/eligibility", engine.ActDescribeRules, con.ruleEligibility)

	rt(G, "/records", engine.ActDescribeRecords, con.listRecords)
	rt(G, "/records/:id", engine.ActDescribeRecords, con.getRecord)
	rt(G, "/records/:id/media/:mid", engine.ActDescribeRecords, con.getRecordMedia)
	rt(P, "/records/:id/review", engine.ActManualAudit, con.reviewRecord)

	rt(G, "/gallery", engine.ActDescribeGallery, con.listGallery)
	rt(G, "/gallery/:id/photo", engine.ActDescribeGallery, con.galleryPhoto)
	rt(P, "/gallery", engine.ActModifyGallery, con.addIdentity)
	rt(P, "/gallery/import", engine.ActModifyGallery, con.importGallery)
	rt(D, "/gallery/:id", engine.ActModifyGallery, con.removeIdentity)

	rt(G, "/usage", engine.ActDescribeUsage, con.getUsage)
	rt(G, "/usage.csv", engine.ActDescribeUsage, con.getUsageCSV)
	rt(G, "/usage.svg", engine.ActDescribeUsage, con.getUsageSVG)
	rt(G, "/analytics", engine.ActDescribeAnalytics, con.getAnalytics)
	rt(G, "/analytics.svg", engine.ActDescribeAnalytics, con.getAnalyticsSVG)

	rt(G, "/alerts", engine.ActDescribeAlerts, con.getAlerts)
	rt(P, "/alerts/rules", engine.ActModifyAlerts, con.saveAlertRule)
	rt(U, "/alerts/rules/:id", engine.ActModifyAlerts, con.saveAlertRule)
	rt(D, "/alerts/rules/:id", engine.ActModifyAlerts, con.deleteAlertRule)
	rt(P, "/alerts/channels", engine.ActModifyAlerts, con.saveChannel)
	rt(D, "/alerts/channels/:id", engine.ActModifyAlerts, con.deleteChannel)
	rt(P, "/alerts/channels/:id/test", engine.ActModifyAlerts, con.testChannel)
	rt(G, "/report", engine.ActDescribeReport, con.getReport)
	rt(P, "/report/subscriptions", engine.ActSubscribeReport, con.subscribe)
	rt(D, "/report/subscriptions/:id", engine.ActUnsubscribeReport, con.unsubscribe)

	rt(G, "/logs", engine.ActDescribeOpLogs, con.searchLogs)

	rt(G, "/credentials", engine.ActDescribeCredentials, con.listCredentials)
	rt(P, "/credentials", engine.ActModifyCredentials, con.createCredential)
	rt(P, "/credentials/:id/revoke", engine.ActModifyCredentials, con.revokeCredential)
	rt(G, "/keys", engine.ActDescribeKeys, con.getKeys)
	rt(G, "/keys/:alg", engine.ActDescribeKeys, con.downloadKey)

	rt(G, "/users", engine.ActDescribeUsers, con.listUsers)
	rt(P, "/users", engine.ActModifyUsers, con.createUser)
	rt(U, "/users/:name", engine.ActModifyUsers, con.updateUser)
	rt(D, "/users/:name", engine.ActModifyUsers, con.deleteUser)
	rt(G, "/permissions", engine.ActDescribePermissions, con.getPermissions)

	rt(P, "/eligibility", engine.ActCheckEligibility, con.checkEligibility)
	rt(G, "/settings", engine.ActDescribeSettings, con.getSettings)
	rt(U, "/settings", engine.ActModifySettings, con.putSettings)

	rt(P, "/counter", engine.ActCounterVerify, con.counterStart)
	rt(P, "/counter/:id/offer", engine.ActCounterVerify, con.counterOffer)
	rt(G, "/counter/:id", engine.ActDescribeCounterState, con.counterState)
	rt(P, "/counter/:id/review", engine.ActCounterVerify, con.counterToReview)
}

func invalidf(zh, format string, args ...any) error {
	return engine.Errorf(engine.CodeInvalidParameterValue, zh, format, args...)
}

func param(c *fiber.Ctx, name string) string {
	v, _ := url.PathUnescape(c.Params(name))
	return strings.Clone(v)
}

func queryInt(c *fiber.Ctx, name string, def, lo, hi int) int {
	n, err := strconv.Atoi(c.Query(name))
	if err != nil {
		return def
	}
	return min(max(n, lo), hi)
}

// ---- ownership ----

// ownApps is nil for an actor who sees everything, else the set of apps it
// created.
func (con *Console) ownApps(ctx context.Context, a *actor) (map[string]bool, error) {
	if a.scope == engine.ScopeAll {
		return nil, nil
	}
	apps, err := con.cfg.Store.FindApps(ctx)
	if err != nil {
		return nil, err
	}
	own := map[string]bool{}
	for _, ap := range apps {
		if ap.CreatedBy == a.user.Name {
			own[ap.ID] = true
		}
	}
	return own, nil
}

func visibleRecord(own map[string]bool, a *actor, r *engine.Record) bool {
	return own == nil || own[r.AppID] || r.CreatedBy == a.user.Name
}

func visibleRule(own map[string]bool, a *actor, r *engine.Rule) bool {
	return own == nil || own[r.AppID] || r.CreatedBy == a.user.Name
}

func notFoundErr(what, id string) error {
	return &engine.Error{Code: engine.CodeResourceNotFound, Message: what + "不存在", EN: what + " " + strconv.Quote(id) + " not found"}
}

// ---- account ----

func (con *Console) getMe(c *fiber.Ctx, a *actor) error {
	return c.JSON(con.me(c.UserContext(), a.user, a.sess))
}

func (con *Console) changePassword(c *fiber.Ctx, a *actor) error {
	var req struct {
		Old string `json:"old_password"`
		New string `json:"new_password"`
	}
	if err := bodyJSON(c, &req); err != nil {
		return err
	}
	ctx := c.UserContext()
	if bcrypt.CompareHashAndPassword([]byte(a.user.PasswordHash), []byte(req.Old)) != nil {
		return engine.Errorf(codeBadLogin, "原密码错误", "the current password is wrong")
	}
	if err := checkPassword(a.user.Name, req.New); err != nil {
		return err
	}
	if req.New == req.Old {
		return invalidf("新密码不能与原密码相同", "the new password must differ from the current one")
	}
	h, err := con.hash(req.New)
	if err != nil {
		return err
	}
	a.user.PasswordHash = h
	if err := con.cfg.Store.PutUser(ctx, a.user); err != nil {
		return err
	}
	if err := con.cfg.Store.ConsolePut(ctx, kindAccount, a.user.Name, account{ChangedAt: con.cfg.Now().UTC()}); err != nil {
		return err
	}
	con.dropUserSessions(a.user.Name, a.sess.id)
	return c.JSON(con.me(ctx, a.user, a.sess))
}

// ---- apps and flows ----

func (con *Console) listApps(c *fiber.Ctx, a *actor) error {
	ctx := c.UserContext()
	apps, err := con.cfg.Store.FindApps(ctx)
	if err != nil {
		return err
	}
	out := []*engine.App{}
	for _, ap := range apps {
		if a.owns(ap.CreatedBy) {
			out = append(out, ap)
		}
	}
	return c.JSON(fiber.Map{"apps": out})
}

func (con *Console) createApp(c *fiber.Ctx, a *actor) error {
	var req struct {
		Name       string        `json:"name"`
		Entity     engine.Entity `json:"entity"`
		Categories []string      `json:"categories"`
	}
	if err := bodyJSON(c, &req); err != nil {
		return err
	}
	req.Name = strings.TrimSpace(req.Name)
	if req.Name == "" || len(req.Name) > 200 {
		return invalidf("应用名称应为1到200字节", "app name must be 1 to 200 bytes")
	}
	if len(req.Categories) > eligibility.MaxCategories {
		return invalidf("服务类目过多", "at most %d categories", eligibility.MaxCategories)
	}
	ap := &engine.App{Name: req.Name, Entity: req.Entity, Categories: req.Categories, CreatedBy: a.user.Name, CreatedAt: con.cfg.Now().UTC()}
	if err := con.cfg.Store.CreateApp(c.UserContext(), ap); err != nil {
		return err
	}
	a.entry.AppID = ap.ID
	return c.JSON(ap)
}

func (con *Console) listRules(c *fiber.Ctx, a *actor) error {
	ctx := c.UserContext()
	own, err := con.ownApps(ctx, a)
	if err != nil {
		return err
	}
	rules, err := con.cfg.Store.FindRules(ctx, strings.Clone(c.Query("app_id")))
	if err != nil {
		return err
	}
	out := []*engine.Rule{}
	for _, r := range rules {
		if visibleRule(own, a, r) {
			out = append(out, r)
		}
	}
	return c.JSON(fiber.Map{"rules": out})
}

// ruleInput is the editable part of a flow.
type ruleInput struct {
	AppID           string  `json:"app_id"`
	Name            string  `json:"name"`
	LivenessMode    int     `json:"liveness_mode"`
	CompareSource   string  `json:"compare_source"`
	IdentityTyped   *bool   `json:"identity_typed"`
	SimThreshold    float64 `json:"sim_threshold"`
	ConsentText     string  `json:"consent_text"`
	GuardianConsent bool    `json:"guardian_consent"`
	RedirectURL     string  `json:"redirect_url"`
	MaxRetries      *int    `json:"max_retries"`
	Disabled        *bool   `json:"disabled"`
}

func (in *ruleInput) apply(r *engine.Rule, defaults ConsoleSettings) error {
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > 200 {
		return invalidf("流程名称应为1到200字节", "flow name must be 1 to 200 bytes")
	}
	switch in.LivenessMode {
	case engine.LivenessAction, engine.LivenessSilent, engine.LivenessReflection:
	default:
		return invalidf("活体模式无效", "liveness_mode must be 2 (action), 3 (silent) or 4 (reflection)")
	}
	switch in.CompareSource {
	case engine.CompareGallery, engine.ComparePhoto, engine.CompareNone:
	default:
		return invalidf("比对源无效", "compare_source must be gallery, photo or none")
	}
	if in.SimThreshold == 0 {
		in.SimThreshold = defaults.SimThreshold
	}
	if in.SimThreshold < 0 || in.SimThreshold > 100 {
		return invalidf("相似度阈值应在0到100之间", "sim_threshold must be 0 to 100")
	}
	if in.RedirectURL != "" {
		u, err := url.Parse(in.RedirectURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(in.RedirectURL) > 1024 {
			return invalidf("回跳地址无效", "redirect_url must be an absolute http(s) URL of at most 1024 bytes")
		}
	}
	if len(in.ConsentText) > 4000 {
		return invalidf("授权文本过长", "consent_text is at most 4000 bytes")
	}
	retries := defaults.MaxRetries
	if in.MaxRetries != nil {
		retries = *in.MaxRetries
	}
	if retries < 0 || retries > 10 {
		return invalidf("重试次数应为0到10", "max_retries must be 0 to 10")
	}
	r.Name, r.LivenessMode, r.CompareSource = in.Name, in.LivenessMode, in.CompareSource
	r.IdentityTyped = in.CompareSource == engine.CompareGallery
	if in.IdentityTyped != nil {
		r.IdentityTyped = *in.IdentityTyped
	}
	r.SimThreshold, r.ConsentText, r.GuardianConsent, r.RedirectURL, r.MaxRetries = in.SimThreshold, in.ConsentText, in.GuardianConsent, in.RedirectURL, retries
	if in.Disabled != nil {
		r.Disabled = *in.Disabled
	}
	return nil
}

func (con *Console) createRule(c *fiber.Ctx, a *actor) error {
	var in ruleInput
	if err := bodyJSON(c, &in); err != nil {
		return err
	}
	ctx := c.UserContext()
	ap, err := con.cfg.Store.FindAppByID(ctx, in.AppID)
	if err != nil {
		return err
	}
	// SelfAccount creates flows only under its own apps (seed: 仅可在自己账号下创建).
	if !a.owns(ap.CreatedBy) {
		return engine.Errorf(codeUnauthorized, "只能在自己创建的应用下创建流程", "flows can be created only under apps you created")
	}
	r := &engine.Rule{AppID: ap.ID, CreatedBy: a.user.Name, CreatedAt: con.cfg.Now().UTC()}
	if err := in.apply(r, con.settings(ctx)); err != nil {
		return err
	}
	if err := con.cfg.Store.CreateRule(ctx, r); err != nil {
		return err
	}
	a.entry.AppID = r.AppID
	return c.JSON(r)
}

func (con *Console) updateRule(c *fiber.Ctx, a *actor) error {
	ctx := c.UserContext()
	r, err := con.cfg.Store.FindRule(ctx, param(c, "id"))
	if err != nil {
		return err
	}
	own, err := con.ownApps(ctx, a)
	if err != nil {
		return err
	}
	if !visibleRule(own, a, r) {
		return engine.Errorf(codeUnauthorized, "只能修改自己创建的流程", "you may change only flows you created")
	}
	var in ruleInput
	if err := bodyJSON(c, &in); err != nil {
		return err
	}
	if in.AppID != "" && in.AppID != r.AppID {
		return invalidf("流程所属应用不可修改", "a flow cannot move to another app")
	}
	if err := in.apply(r, con.settings(ctx)); err != nil {
		return err
	}
	if err := con.cfg.Store.UpdateRule(ctx, r); err != nil {
		return err
	}
	a.entry.AppID = r.AppID
	return c.JSON(r)
}

func (con *Console) ruleEligibility(c *fiber.Ctx, a *actor) error {
	ctx := c.UserContext()
	r, err := con.cfg.Store.FindRule(ctx, param(c, "id"))
	if err != nil {
		return err
	}
	own, err := con.ownApps(ctx, a)
	if err != nil {
		return err
	}
	if !visibleRule(own, a, r) {
		return notFoundErr("业务流程", r.ID)
	}
	if con.cfg.Checker == nil {
		return engine.Errorf(codeUnavailable, "资质检查未启用", "the eligibility checker is not configured")
	}
	ap, err := con.cfg.Store.FindAppByID(ctx, r.AppID)
	if err != nil {
		return err
	}
	in := eligibility.Input{Entity: ap.Entity, Categories: ap.Categories, Content: ap.Name + " " + r.Name + " " + r.ConsentText}
	return c.JSON(fiber.Map{"app": ap, "verdict": con.cfg.Checker.Check(in)})
}

// ---- records and review ----

func maskedRow(r *engine.Record, requested bool) fiber.Map {
	return fiber.Map{"id": r.ID, "app_id": r.AppID, "rule_id": r.RuleID, "action": r.Action, "channel": r.Channel,
		"name": engine.MaskName(r.Name), "id_number": engine.MaskIDNumber(r.IDNumber), "result": r.Result, "err_code": r.ErrCode,
		"sim": r.Sim, "created_at": r.CreatedAt, "review": r.Review, "review_requested": requested, "passed": r.Passed()}
}

// parseTime reads a query time: RFC 3339, "2006-01-02T15:04" or a day, in
// the console's zone.
func (con *Console) parseTime(s string, endOfDay bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, f := range []string{"2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(f, s, con.cfg.Location); err == nil {
			return t, nil
		}
	}
	if t, err := time.ParseInLocation(engine.DayFormat, s, con.cfg.Location); err == nil {
		if endOfDay {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	return time.Time{}, invalidf("时间格式无效", "time %q is not RFC 3339, YYYY-MM-DDTHH:MM or YYYY-MM-DD", s)
}

func (con *Console) listRecords(c *fiber.Ctx, a *actor) error {
	ctx := c.UserContext()
	from, err := con.parseTime(c.Query("from"), false)
	if err != nil {
		return err
	}
	to, err := con.parseTime(c.Query("to"), true)
	if err != nil {
		return err
	}
	f := engine.RecordFilter{AppID: strings.Clone(c.Query("app_id")), RuleID: strings.Clone(c.Query("rule_id")),
		Action: strings.Clone(c.Query("action")), Result: strings.Clone(c.Query("result")), From: from, To: to}
	if s := c.Query("code"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return invalidf("错误码应为数字", "code must be a number")
		}
		f.ErrCode = &n
	}
	offset, limit := queryInt(c, "offset", 0, 0, 1<<30), queryInt(c, "limit", 50, 1, 500)
	status := c.Query("status") // passed, failed, pending (awaiting review), reviewed
	own, err := con.ownApps(ctx, a)
	if err != nil {
		return err
	}
	requested := con.reviewRequests(ctx)
	var rows []fiber.Map
	total := 0
	if own == nil && status == "" {
		f.Offset, f.Limit = offset, limit
		recs, n, err := con.cfg.Store.FindRecords(ctx, f)
		if err != nil {
			return err
		}
		total = n
		for _, r := range recs {
			rows = append(rows, maskedRow(r, requested[r.ID]))
		}
	} else {
		// Filtering the store cannot do (ownership, review state): page here.
		recs, _, err := con.cfg.Store.FindRecords(ctx, f)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if !visibleRecord(own, a, r) || !matchStatus(r, status, requested[r.ID]) {
				continue
			}
			total++
			if total > offset && len(rows) < limit {
				rows = append(rows, maskedRow(r, requested[r.ID]))
			}
		}
	}
	if rows == nil {
		rows = []fiber.Map{}
	}
	return c.JSON(fiber.Map{"total": total, "records": rows})
}

func matchStatus(r *engine.Record, status string, requested bool) bool {
	switch status {
	case "passed":
		return r.Passed()
	case "failed":
		return !r.Passed()
	case "pending":
		return r.Review == nil && (requested || !r.Passed())
	case "reviewed":
		return r.Review != nil
	}
	return true
}

func (con *Console) reviewRequests(ctx context.Context) map[string]bool {
	out := map[string]bool{}
	con.cfg.Store.ConsoleList(ctx, kindReviewReq, false, func(id string, _ []byte) bool { out[id] = true; return true })
	return out
}

func (con *Console) visibleRecordByID(c *fiber.Ctx, a *actor) (*engine.Record, error) {
	ctx := c.UserContext()
	r, err := con.cfg.Store.FindRecord(ctx, param(c, "id"))
	if err != nil {
		return nil, err
	}
	own, err := con.ownApps(ctx, a)
	if err != nil {
		return nil, err
	}
	if !visibleRecord(own, a, r) {
		return nil, notFoundErr("记录", r.ID)
	}
	return r, nil
}

func (con *Console) getRecord(c *fiber.Ctx, a *actor) error {
	r, err := con.visibleRecordByID(c, a)
	if err != nil {
		return err
	}
	// Who saw a person's identity is audited (design §1, compliance).
	con.log(&engine.OpEntry{Actor: a.user.Name, Action: "DescribeRecord", AppID: r.AppID, RequestID: r.RequestID, SourceIP: c.IP(),
		Code: engine.ResultSuccess, Request: mustJSON(map[string]string{"record_id": r.ID})})
	media := []fiber.Map{}
	for _, id := range r.Media {
		if m, err := con.cfg.Store.FindMedia(c.UserContext(), id); err == nil {
			media = append(media, fiber.Map{"id": m.ID, "kind": m.Kind, "mime": m.MIME, "expires_at": m.ExpiresAt})
		}
	}
	requested := con.reviewRequests(c.UserContext())[r.ID]
	return c.JSON(fiber.Map{"record": r, "media": media, "review_requested": requested, "passed": r.Passed()})
}

func (con *Console) getRecordMedia(c *fiber.Ctx, a *actor) error {
	r, err := con.visibleRecordByID(c, a)
	if err != nil {
		return err
	}
	mid := param(c, "mid")
	if !slices.Contains(r.Media, mid) {
		return notFoundErr("媒体", mid)
	}
	m, err := con.cfg.Store.FindMedia(c.UserContext(), mid)
	if err != nil {
		return err
	}
	if !m.ExpiresAt.IsZero() && con.cfg.Now().After(m.ExpiresAt) {
		return notFoundErr("媒体", mid)
	}
	if m.MIME != "image/jpeg" && m.MIME != "image/png" && m.MIME != "video/mp4" && m.MIME != "video/webm" {
		c.Set(fiber.HeaderContentDisposition, "attachment")
	}
	c.Set(fiber.HeaderContentType, m.MIME)
	return c.Send(m.Data)
}

func (con *Console) reviewRecord(c *fiber.Ctx, a *actor) error {
	var req struct {
		Approved *bool  `json:"approved"`
		Reason   string `json:"reason"`
	}
	if err := bodyJSON(c, &req); err != nil {
		return err
	}
	r, err := con.visibleRecordByID(c, a)
	if err != nil {
		return err
	}
	a.entry.AppID, a.entry.RequestID = r.AppID, r.RequestID
	req.Reason = strings.TrimSpace(req.Reason)
	if req.Approved == nil || req.Reason == "" || len([]rune(req.Reason)) > 500 {
		return invalidf("请选择通过或拒绝并填写原因(最多500字)", "approved and a reason of at most 500 characters are required")
	}
	if r.Review != nil {
		return engine.Errorf("ResourceInUse", "该记录已审核", "the record was reviewed by %s at %s", r.Review.By, r.Review.At.Format(time.RFC3339))
	}
	r.Review = &engine.Review{Approved: *req.Approved, Reason: req.Reason, By: a.user.Name, At: con.cfg.Now().UTC()}
	if err := con.cfg.Store.UpdateRecord(c.UserContext(), r); err != nil {
		return err
	}
	con.cfg.Store.ConsoleDelete(c.UserContext(), kindReviewReq, r.ID)
	return c.JSON(fiber.Map{"record": r})
}

// ---- credentials and keys ----

func (con *Console) listCredentials(c *fiber.Ctx, a *actor) error {
	ctx := c.UserContext()
	own, err := con.ownApps(ctx, a)
	if err != nil {
		return err
	}
	creds, err := con.cfg.Store.FindCredentials(ctx, strings.Clone(c.Query("app_id")))
	if err != nil {
		return err
	}
	out := []fiber.Map{}
	for _, cr := range creds {
		if own != nil && !own[cr.AppID] {
			continue
		}
		out = append(out, fiber.Map{"secret_id": cr.SecretID, "app_id": cr.AppID, "created_at": cr.CreatedAt,
			"revoked_at": cr.RevokedAt, "revoked": cr.Revoked(), "actions": cr.Actions})
	}
	return c.JSON(fiber.Map{"credentials": out})
}

func (con *Console) ownsApp(ctx context.Context, a *actor, appID string) error {
	ap, err := con.cfg.Store.FindAppByID(ctx, appID)
	if err != nil {
		return err
	}
	if !a.owns(ap.CreatedBy) {
		return engine.Errorf(codeUnauthorized, "只能管理自己创建的应用的密钥", "you may manage credentials only of apps you created")
	}
	return nil
}

func (con *Console) createCredential(c *fiber.Ctx, a *actor) error {
	var req struct {
		AppID   string   `json:"app_id"`
		Actions []string `json:"actions"`
	}
	if err := bodyJSON(c, &req); err != nil {
		return err
	}
	ctx := c.UserContext()
	if err := con.ownsApp(ctx, a, req.AppID); err != nil {
		return err
	}
	for _, act := range req.Actions {
		if !strings.HasPrefix(act, "faceid:") || len(act) > 80 {
			return invalidf("接口权限格式应为 faceid:{接口名}", "actions must be \"faceid:{Action}\"")
		}
	}
	cr := &engine.Credential{AppID: req.AppID, Actions: req.Actions, CreatedAt: con.cfg.Now().UTC()}
	if err := con.cfg.Store.CreateCredential(ctx, cr); err != nil {
		return err
	}
	a.entry.AppID, a.entry.SecretID = cr.AppID, cr.SecretID
	// The SecretKey is shown this once; the store keeps it sealed.
	return c.JSON(fiber.Map{"secret_id": cr.SecretID, "secret_key": cr.SecretKey, "app_id": cr.AppID, "actions": cr.Actions, "created_at": cr.CreatedAt})
}

func (con *Console) revokeCredential(c *fiber.Ctx, a *actor) error {
	ctx := c.UserContext()
	cr, err := con.cfg.Store.FindCredential(ctx, param(c, "id"))
	if err != nil {
		return err
	}
	a.entry.AppID, a.entry.SecretID = cr.AppID, cr.SecretID
	if err := con.ownsApp(ctx, a, cr.AppID); err != nil {
		return err
	}
	if err := con.cfg.Store.RevokeCredential(ctx, cr.SecretID, con.cfg.Now().UTC()); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"secret_id": cr.SecretID, "revoked": true})
}

func (con *Console) keyPEMs() (rsaPEM, sm2PEM []byte, err error) {
	if con.cfg.Keys == nil {
		return nil, nil, engine.Errorf(codeUnavailable, "加密密钥未配置", "field-encryption keys are not configured")
	}
	rsaPEM = con.cfg.Keys.RSAPublicPEM()
	sm2PEM, err = con.cfg.Keys.SM2PublicPEM()
	return rsaPEM, sm2PEM, err
}

func (con *Console) getKeys(c *fiber.Ctx, a *actor) error {
	r, s, err := con.keyPEMs()
	if err != nil {
		return err
	}
	// The console shows them base64-encoded, as Tencent's does (seed 003:
	// 对控制台获取到的公钥字符串先做 Base64 Decode).
	return c.JSON(fiber.Map{
		"rsa": fiber.Map{"algorithm": "AES-256-CBC", "format": "PKCS#1 PEM", "pem": string(r), "base64": base64.StdEncoding.EncodeToString(r)},
		"sm2": fiber.Map{"algorithm": "SM4-GCM", "format": "PKCS#8 PEM", "pem": string(s), "base64": base64.StdEncoding.EncodeToString(s)},
	})
}

func (con *Console) downloadKey(c *fiber.Ctx, a *actor) error {
	r, s, err := con.keyPEMs()
	if err != nil {
		return err
	}
	var b []byte
	switch param(c, "alg") {
	case "rsa.pem":
		b = r
	case "sm2.pem":
		b = s
	case "rsa.txt":
		b = []byte(base64.StdEncoding.EncodeToString(r))
	case "sm2.txt":
		b = []byte(base64.StdEncoding.EncodeToString(s))
	default:
		return notFoundErr("密钥", param(c, "alg"))
	}
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="heshen-`+param(c, "alg")+`"`)
	c.Set(fiber.HeaderContentType, "application/x-pem-file")
	return c.Send(b)
}

// ---- users and roles ----

func userView(u *engine.User, acc account) fiber.Map {
	return fiber.Map{"name": u.Name, "role": u.Role, "actions": u.Actions, "created_at": u.CreatedAt, "created_by": u.CreatedBy,
		"locked_until": u.LockedUntil, "failed_logins": u.FailedLogins, "must_change": acc.MustChange}
}

func (con *Console) listUsers(c *fiber.Ctx, a *actor) error {
	ctx := c.UserContext()
	users, err := con.cfg.Store.FindUsers(ctx)
	if err != nil {
		return err
	}
	out := []fiber.Map{}
	for _, u := range users {
		var acc account
		con.cfg.Store.ConsoleGet(ctx, kindAccount, u.Name, &acc)
		out = append(out, userView(u, acc))
	}
	return c.JSON(fiber.Map{"users": out})
}

type userInput struct {
	Name     string          `json:"name"`
	Role     string          `json:"role"`
	Actions  []string        `json:"actions"`
	Policy   json.RawMessage `json:"policy"` // a CAM policy document instead of actions
	Password string          `json:"password"`
	Unlock   bool            `json:"unlock"`
}

func (con *Console) roleOf(in *userInput) (string, []string, error) {
	in.Role = strings.TrimSpace(in.Role)
	if engine.PresetRole(in.Role) {
		return in.Role, nil, nil
	}
	if in.Role == "" || len(in.Role) > 64 {
		return "", nil, invalidf("角色应为 FullAccess、ReadOnly、SelfAccount 或自定义策略名", "role must be FullAccess, ReadOnly, SelfAccount or a custom policy name")
	}
	acts := in.Actions
	if len(in.Policy) > 0 {
		var err error
		if acts, err = engine.ParseCAMPolicy(in.Policy, con.policy.Known); err != nil {
			return "", nil, err
		}
	}
	for _, act := range acts {
		name, ok := strings.CutPrefix(act, "faceid:")
		if !ok || (name != "*" && !con.policy.Known(name)) {
			return "", nil, invalidf("自定义策略包含未知接口", "custom policy action %q is not \"faceid:{Action}\" of a console action", act)
		}
	}
	if len(acts) == 0 {
		return "", nil, invalidf("自定义策略至少包含一个接口", "a custom policy lists at least one action")
	}
	return in.Role, acts, nil
}

func validUserName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if r <= ' ' || strings.ContainsRune(`/\?#%"'<>&`, r) {
			return false
		}
	}
	return true
}

func (con *Console) createUser(c *fiber.Ctx, a *actor) error {
	var in userInput
	if err := bodyJSON(c, &in); err != nil {
		return err
	}
	ctx := c.UserContext()
	if !validUserName(in.Name) {
		return invalidf("用户名应为1到64个字符,不含空格和特殊符号", "user name must be 1 to 64 characters without spaces or / \\ ? # %% \" ' < > &")
	}
	if _, err := con.cfg.Store.FindUser(ctx, in.Name); err == nil {
		return engine.Errorf("ResourceInUse", "用户已存在", "user %q exists", in.Name)
	}
	role, acts, err := con.roleOf(&in)
	if err != nil {
		return err
	}
	generated := in.Password == ""
	if generated {
		in.Password = randomToken(12)
	} else if err := checkPassword(in.Name, in.Password); err != nil {
		return err
	}
	h, err := con.hash(in.Password)
	if err != nil {
		return err
	}
	u := &engine.User{Name: in.Name, PasswordHash: h, Role: role, Actions: acts, CreatedBy: a.user.Name, CreatedAt: con.cfg.Now().UTC()}
	if err := con.cfg.Store.PutUser(ctx, u); err != nil {
		return err
	}
	// A new user's password was chosen by someone else: it is one-time.
	if err := con.cfg.Store.ConsolePut(ctx, kindAccount, u.Name, account{MustChange: true}); err != nil {
		return err
	}
	out := userView(u, account{MustChange: true})
	if generated {
		out["password"] = in.Password // shown once
	}
	return c.JSON(out)
}

func (con *Console) updateUser(c *fiber.Ctx, a *actor) error {
	var in userInput
	if err := bodyJSON(c, &in); err != nil {
		return err
	}
	ctx := c.UserContext()
	u, err := con.cfg.Store.FindUser(ctx, param(c, "name"))
	if err != nil {
		return err
	}
	if in.Role != "" || len(in.Policy) > 0 || len(in.Actions) > 0 {
		if in.Role == "" {
			in.Role = u.Role
		}
		role, acts, err := con.roleOf(&in)
		if err != nil {
			return err
		}
		if u.Name == a.user.Name && role != engine.RoleFullAccess {
			return invalidf("不能降低自己的权限", "you cannot lower your own role")
		}
		u.Role, u.Actions = role, acts
	}
	acc := account{}
	con.cfg.Store.ConsoleGet(ctx, kindAccount, u.Name, &acc)
	if in.Password != "" {
		if err := checkPassword(u.Name, in.Password); err != nil {
			return err
		}
		if u.PasswordHash, err = con.hash(in.Password); err != nil {
			return err
		}
		acc.MustChange = u.Name != a.user.Name
	}
	if in.Unlock {
		u.LockedUntil, u.FailedLogins = time.Time{}, 0
	}
	if err := con.cfg.Store.PutUser(ctx, u); err != nil {
		return err
	}
	if err := con.cfg.Store.ConsolePut(ctx, kindAccount, u.Name, acc); err != nil {
		return err
	}
	con.dropUserSessions(u.Name, a.sess.id)
	return c.JSON(userView(u, acc))
}

func (con *Console) deleteUser(c *fiber.Ctx, a *actor) error {
	ctx := c.UserContext()
	name := param(c, "name")
	if name == a.user.Name {
		return invalidf("不能删除自己", "you cannot delete yourself")
	}
	if err := con.cfg.Store.DeleteUser(ctx, name); err != nil {
		return err
	}
	con.cfg.Store.ConsoleDelete(ctx, kindAccount, name)
	con.dropUserSessions(name, "")
	return c.JSON(fiber.Map{"deleted": name})
}

func (con *Console) getPermissions(c *fiber.Ctx, a *actor) error {
	return c.JSON(fiber.Map{"permissions": engine.PermissionTable(), "roles": []string{engine.RoleFullAccess, engine.RoleReadOnly, engine.RoleSelfAccount}})
}

// ---- eligibility, logs ----

func (con *Console) checkEligibility(c *fiber.Ctx, a *actor) error {
	if con.cfg.Checker == nil {
		return engine.Errorf(codeUnavailable, "资质检查未启用", "the eligibility checker is not configured")
	}
	in, err := eligibility.DecodeInput(strings.NewReader(string(c.Body())))
	if err != nil {
		return err
	}
	if err := con.cfg.Checker.Validate(in); err != nil {
		return err
	}
	return c.JSON(con.cfg.Checker.Check(in))
}

func (con *Console) searchLogs(c *fiber.Ctx, a *actor) error {
	if con.cfg.Search == nil {
		return engine.Errorf(codeUnavailable, "操作日志检索未启用", "operation-log search is not configured")
	}
	from, err := con.parseTime(c.Query("from"), false)
	if err != nil {
		return err
	}
	to, err := con.parseTime(c.Query("to"), true)
	if err != nil {
		return err
	}
	q := engine.OpQuery{Text: strings.Clone(c.Query("text")), From: from, To: to, Kind: strings.Clone(c.Query("kind")),
		AppID: strings.Clone(c.Query("app_id")), Actor: strings.Clone(c.Query("actor")), Action: strings.Clone(c.Query("action")),
		Code: strings.Clone(c.Query("code")), RequestID: strings.Clone(c.Query("request_id")), BizToken: strings.Clone(c.Query("biz_token")),
		Offset: queryInt(c, "offset", 0, 0, 100000), Limit: queryInt(c, "limit", 20, 1, 200), Oldest: c.Query("order") == "oldest", Facets: true}
	if len(q.Text) > 500 {
		return invalidf("检索词过长", "text is at most 500 bytes")
	}
	if a.scope != engine.ScopeAll {
		// SelfAccount sees its own console actions.
		q.Actor = a.user.Name
	}
	res, err := con.cfg.Search.Search(c.UserContext(), q)
	if err != nil {
		return err
	}
	if res.Entries == nil {
		res.Entries = []*engine.OpEntry{}
	}
	return c.JSON(res)
}

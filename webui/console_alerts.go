package webui

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"heshen/engine"
	"heshen/engine/notify"
)

// ConsoleSettings are the settings page's values.
type ConsoleSettings struct {
	MediaHours    float64   `json:"media_hours"`    // captured images and videos (seed 001: 2 h)
	ResultHours   float64   `json:"result_hours"`   // results pullable (3 days)
	IdentityDays  float64   `json:"identity_days"`  // names and ID numbers in records (30 days)
	MonitorDays   float64   `json:"monitor_days"`   // monitoring data and operation logs (2 years)
	SimThreshold  float64   `json:"sim_threshold"`  // default for new flows
	MaxRetries    int       `json:"max_retries"`    // default for new flows
	ReportEnabled bool      `json:"report_enabled"` // daily report on
	ReportHour    int       `json:"report_hour"`    // 0–23, console time zone (seed: 10 点)
	UpdatedAt     time.Time `json:"updated_at,omitzero"`
	UpdatedBy     string    `json:"updated_by,omitempty"`
}

// DefaultConsoleSettings follow the seeds.
func DefaultConsoleSettings() ConsoleSettings {
	r := engine.DefaultRetention
	return ConsoleSettings{MediaHours: r.Media.Hours(), ResultHours: r.Results.Hours(), IdentityDays: r.Identity.Hours() / 24,
		MonitorDays: r.Monitor.Hours() / 24, SimThreshold: engine.SimPass, MaxRetries: 3, ReportEnabled: true, ReportHour: 10}
}

// Retention is the settings' retention periods.
func (s ConsoleSettings) Retention() engine.Retention {
	h := func(x float64) time.Duration { return time.Duration(x * float64(time.Hour)) }
	return engine.Retention{Media: h(s.MediaHours), Results: h(s.ResultHours), Identity: h(s.IdentityDays * 24), Monitor: h(s.MonitorDays * 24)}
}

func (s *ConsoleSettings) validate() error {
	in := func(v, lo, hi float64) bool { return v >= lo && v <= hi }
	switch {
	case !in(s.MediaHours, 0.1, 24*30):
		return invalidf("人脸图像保留时长应为0.1到720小时", "media_hours must be 0.1 to 720")
	case !in(s.ResultHours, 1, 24*90):
		return invalidf("结果保留时长应为1到2160小时", "result_hours must be 1 to 2160")
	case !in(s.IdentityDays, 1, 3650):
		return invalidf("身份信息保留天数应为1到3650", "identity_days must be 1 to 3650")
	case !in(s.MonitorDays, 1, 3650):
		return invalidf("日志保留天数应为1到3650", "monitor_days must be 1 to 3650")
	case !in(s.SimThreshold, 1, 100):
		return invalidf("相似度阈值应为1到100", "sim_threshold must be 1 to 100")
	case s.MaxRetries < 0 || s.MaxRetries > 10:
		return invalidf("重试次数应为0到10", "max_retries must be 0 to 10")
	case s.ReportHour < 0 || s.ReportHour > 23:
		return invalidf("日报时间应为0到23点", "report_hour must be 0 to 23")
	}
	return nil
}

// Settings returns the current settings.
func (con *Console) Settings(ctx context.Context) ConsoleSettings { return con.settings(ctx) }

func (con *Console) settings(ctx context.Context) ConsoleSettings {
	s := DefaultConsoleSettings()
	con.cfg.Store.ConsoleGet(ctx, kindSettings, "current", &s)
	return s
}

func (con *Console) getSettings(c *fiber.Ctx, a *actor) error {
	return c.JSON(fiber.Map{"settings": con.settings(c.UserContext()), "defaults": DefaultConsoleSettings(), "time_zone": con.cfg.Location.String()})
}

func (con *Console) putSettings(c *fiber.Ctx, a *actor) error {
	s := con.settings(c.UserContext())
	if err := bodyJSON(c, &s); err != nil {
		return err
	}
	if err := s.validate(); err != nil {
		return err
	}
	s.UpdatedAt, s.UpdatedBy = con.cfg.Now().UTC(), a.user.Name
	if err := con.cfg.Store.ConsolePut(c.UserContext(), kindSettings, "current", s); err != nil {
		return err
	}
	select {
	case con.reload <- struct{}{}:
	default:
	}
	if con.cfg.OnSettings != nil {
		con.cfg.OnSettings(s)
	}
	return c.JSON(fiber.Map{"settings": s})
}

// ---- alert rules, channels, history ----

func listKind[T any](ctx context.Context, con *Console, kind string, reverse bool, limit int) []T {
	out := []T{}
	con.cfg.Store.ConsoleList(ctx, kind, reverse, func(_ string, v []byte) bool {
		var t T
		if json.Unmarshal(v, &t) == nil {
			out = append(out, t)
		}
		return limit <= 0 || len(out) < limit
	})
	return out
}

func (con *Console) alertRules(ctx context.Context) []engine.AlertRule {
	return listKind[engine.AlertRule](ctx, con, kindRule, false, 0)
}

func (con *Console) channels(ctx context.Context) []notify.Channel {
	return listKind[notify.Channel](ctx, con, kindChannel, false, 0)
}

func (con *Console) alertHistory(ctx context.Context, limit int) []engine.AlertEvent {
	return listKind[engine.AlertEvent](ctx, con, kindAlertEvent, true, limit)
}

// channelView hides a channel's SMTP password.
func channelView(ch notify.Channel) notify.Channel {
	if ch.Password != "" {
		ch.Password = "***"
	}
	return ch
}

func (con *Console) getAlerts(c *fiber.Ctx, a *actor) error {
	ctx := c.UserContext()
	chs := []notify.Channel{}
	for _, ch := range con.channels(ctx) {
		chs = append(chs, channelView(ch))
	}
	return c.JSON(fiber.Map{"rules": con.alertRules(ctx), "channels": chs, "history": con.alertHistory(ctx, queryInt(c, "limit", 50, 1, 500))})
}

func (con *Console) checkChannels(ctx context.Context, ids []string) error {
	known := map[string]bool{}
	for _, ch := range con.channels(ctx) {
		known[ch.ID] = true
	}
	for _, id := range ids {
		if !known[id] {
			return invalidf("通知渠道不存在", "channel %q does not exist", id)
		}
	}
	return nil
}

func (con *Console) saveAlertRule(c *fiber.Ctx, a *actor) error {
	ctx := c.UserContext()
	var r engine.AlertRule
	if err := bodyJSON(c, &r); err != nil {
		return err
	}
	if id := param(c, "id"); id != "" {
		var old engine.AlertRule
		if err := con.cfg.Store.ConsoleGet(ctx, kindRule, id, &old); err != nil {
			return err
		}
		r.ID, r.CreatedAt, r.CreatedBy = old.ID, old.CreatedAt, old.CreatedBy
	} else {
		r.ID, r.CreatedAt, r.CreatedBy = newConsoleID(con.cfg.Now()), con.cfg.Now().UTC(), a.user.Name
	}
	if err := r.Validate(); err != nil {
		return err
	}
	if err := con.checkChannels(ctx, r.Channels); err != nil {
		return err
	}
	if err := con.cfg.Store.ConsolePut(ctx, kindRule, r.ID, r); err != nil {
		return err
	}
	return c.JSON(r)
}

func (con *Console) deleteAlertRule(c *fiber.Ctx, a *actor) error {
	if err := con.cfg.Store.ConsoleDelete(c.UserContext(), kindRule, param(c, "id")); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"deleted": param(c, "id")})
}

func (con *Console) saveChannel(c *fiber.Ctx, a *actor) error {
	var ch notify.Channel
	if err := bodyJSON(c, &ch); err != nil {
		return err
	}
	ch.ID, ch.CreatedAt, ch.CreatedBy = newConsoleID(con.cfg.Now()), con.cfg.Now().UTC(), a.user.Name
	if err := ch.Validate(); err != nil {
		return err
	}
	if err := con.cfg.Store.ConsolePut(c.UserContext(), kindChannel, ch.ID, ch); err != nil {
		return err
	}
	return c.JSON(channelView(ch))
}

func (con *Console) deleteChannel(c *fiber.Ctx, a *actor) error {
	ctx := c.UserContext()
	id := param(c, "id")
	for _, r := range con.alertRules(ctx) {
		for _, ch := range r.Channels {
			if ch == id {
				return engine.Errorf("ResourceInUse", "告警规则仍在使用该渠道", "alert rule %q still uses this channel", r.Name)
			}
		}
	}
	if err := con.cfg.Store.ConsoleDelete(ctx, kindChannel, id); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"deleted": id})
}

func (con *Console) testChannel(c *fiber.Ctx, a *actor) error {
	ctx := c.UserContext()
	var ch notify.Channel
	if err := con.cfg.Store.ConsoleGet(ctx, kindChannel, param(c, "id"), &ch); err != nil {
		return err
	}
	err := con.cfg.Sender.Send(ctx, &ch, notify.Message{Kind: "test", Subject: "核身通知测试 / Heshen test notification",
		Text: "这是一条来自核身控制台的测试通知。\nThis is a test notification from the Heshen console.\n", Time: con.cfg.Now()})
	if err != nil {
		return engine.Errorf("FailedOperation.NotifyFailed", "通知发送失败", "delivery failed: %v", err)
	}
	return c.JSON(fiber.Map{"delivered": true})
}

func newConsoleID(t time.Time) string {
	// Sortable by time, unique enough for console documents.
	return t.UTC().Format("20060102T150405.000000000") + "-" + randomToken(4)
}

// ---- daily report and subscriptions ----

// Subscription is someone's daily-report delivery (seed 003, 订阅日报): a
// channel of its own; what the report covers follows its owner's role.
type Subscription struct {
	ID        string         `json:"id"`
	Channel   notify.Channel `json:"channel"`
	CreatedAt time.Time      `json:"created_at"`
	CreatedBy string         `json:"created_by"`
}

func (con *Console) subscriptions(ctx context.Context) []Subscription {
	return listKind[Subscription](ctx, con, kindSubscription, false, 0)
}

// buildReport summarises day for a user (nil: everything).
func (con *Console) buildReport(ctx context.Context, day time.Time, u *engine.User) (engine.DailyReport, error) {
	day = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, con.cfg.Location)
	q := statsQuery{rng: engine.StatsRange{From: day.AddDate(0, 0, -6), To: day.AddDate(0, 0, 1), Loc: con.cfg.Location}}
	a := &actor{user: &engine.User{Name: "system", Role: engine.RoleFullAccess}, scope: engine.ScopeAll, con: con}
	if u != nil {
		a = &actor{user: u, scope: con.policy.Scope(u, engine.ActDescribeReport), con: con}
		if a.scope == engine.ScopeNone {
			return engine.DailyReport{}, engine.Errorf(codeUnauthorized, "无权查看日报", "the role may not see the daily report")
		}
	}
	s, err := con.collect(ctx, a, q)
	if err != nil {
		return engine.DailyReport{}, err
	}
	rep := engine.BuildDailyReport(day, s)
	if a.scope == engine.ScopeOwn {
		rep.Scope = a.user.Name
	}
	return rep, nil
}

func (con *Console) getReport(c *fiber.Ctx, a *actor) error {
	ctx := c.UserContext()
	yesterday := con.cfg.Now().In(con.cfg.Location).AddDate(0, 0, -1)
	rep, err := con.buildReport(ctx, yesterday, a.user)
	if err != nil {
		return err
	}
	subs := []fiber.Map{}
	for _, s := range con.subscriptions(ctx) {
		if a.scope == engine.ScopeAll || s.CreatedBy == a.user.Name {
			subs = append(subs, fiber.Map{"id": s.ID, "channel": channelView(s.Channel), "created_at": s.CreatedAt, "created_by": s.CreatedBy})
		}
	}
	st := con.settings(ctx)
	return c.JSON(fiber.Map{"preview": rep, "text": rep.Text(), "subscriptions": subs, "enabled": st.ReportEnabled, "hour": st.ReportHour})
}

func (con *Console) subscribe(c *fiber.Ctx, a *actor) error {
	var ch notify.Channel
	if err := bodyJSON(c, &ch); err != nil {
		return err
	}
	now := con.cfg.Now()
	ch.ID, ch.CreatedAt, ch.CreatedBy = newConsoleID(now), now.UTC(), a.user.Name
	if err := ch.Validate(); err != nil {
		return err
	}
	s := Subscription{ID: ch.ID, Channel: ch, CreatedAt: now.UTC(), CreatedBy: a.user.Name}
	if err := con.cfg.Store.ConsolePut(c.UserContext(), kindSubscription, s.ID, s); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"id": s.ID, "channel": channelView(ch)})
}

func (con *Console) unsubscribe(c *fiber.Ctx, a *actor) error {
	ctx := c.UserContext()
	var s Subscription
	if err := con.cfg.Store.ConsoleGet(ctx, kindSubscription, param(c, "id"), &s); err != nil {
		return err
	}
	if !a.owns(s.CreatedBy) {
		return engine.Errorf(codeUnauthorized, "只能解除自己的订阅", "you may remove only your own subscriptions")
	}
	if err := con.cfg.Store.ConsoleDelete(ctx, kindSubscription, s.ID); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"deleted": s.ID})
}

// SendDailyReport sends day's report to every subscription, each covering
// what its owner may see. It returns the number delivered.
func (con *Console) SendDailyReport(ctx context.Context, day time.Time) int {
	delivered := 0
	for _, s := range con.subscriptions(ctx) {
		u, err := con.cfg.Store.FindUser(ctx, s.CreatedBy)
		if err != nil {
			continue // the owner is gone: so is the subscription's right to data
		}
		rep, err := con.buildReport(ctx, day, u)
		if err != nil {
			continue
		}
		ch := s.Channel
		m := notify.Message{Kind: "report", Subject: "核身日报 " + rep.Day + " / Heshen daily report", Text: rep.Text(), Data: rep, Time: con.cfg.Now()}
		err = con.cfg.Sender.Send(ctx, &ch, m)
		code := engine.ResultSuccess
		if err != nil {
			code = "FailedOperation.NotifyFailed"
			con.cfg.Logger.Warn("daily report", "subscription", s.ID, "err", err)
		} else {
			delivered++
		}
		con.log(&engine.OpEntry{Kind: engine.OpKindSystem, Actor: "system", Action: "SendDailyReport", Code: code,
			Request: mustJSON(map[string]string{"subscription": s.ID, "day": rep.Day, "owner": s.CreatedBy})})
	}
	return delivered
}

// EvaluateAlerts checks the rules at now, stores what fired in the history
// and notifies the rules' channels.
func (con *Console) EvaluateAlerts(ctx context.Context, now time.Time) []engine.AlertEvent {
	events := con.cfg.Alerter.Evaluate(now, con.alertRules(ctx))
	if len(events) == 0 {
		return nil
	}
	chs := map[string]notify.Channel{}
	for _, ch := range con.channels(ctx) {
		chs[ch.ID] = ch
	}
	for i := range events {
		ev := &events[i]
		ev.ID = newConsoleID(now)
		ev.Delivery = map[string]string{}
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, id := range ev.Channels {
			ch, ok := chs[id]
			if !ok || ch.Disabled {
				ev.Delivery[id] = "channel missing or disabled"
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := con.cfg.Sender.Send(ctx, &ch, notify.Message{Kind: "alert", Subject: "核身告警 / Heshen alert: " + ev.RuleName,
					Text: ev.Message + "\n" + ev.EN + "\n" + now.In(con.cfg.Location).Format(time.RFC3339) + "\n", Data: ev, Time: now})
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					ev.Delivery[id] = err.Error()
				} else {
					ev.Delivery[id] = "ok"
				}
			}()
		}
		wg.Wait()
		con.cfg.Store.ConsolePut(ctx, kindAlertEvent, ev.ID, ev)
		con.log(&engine.OpEntry{Kind: engine.OpKindSystem, Actor: "system", Action: "AlertFired", Code: engine.ResultSuccess,
			Request: mustJSON(ev)})
	}
	con.cfg.Store.ConsolePrune(ctx, kindAlertEvent, 5000)
	return events
}

// Run evaluates alert rules once a minute and sends the daily report at
// the configured hour until ctx ends.
func (con *Console) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		engine.RunDailyReport(ctx, con.cfg.Clock, con.cfg.Location, func() engine.ReportConfig {
			s := con.settings(ctx)
			return engine.ReportConfig{Enabled: s.ReportEnabled, Hour: s.ReportHour}
		}, con.reload, func(ctx context.Context, day time.Time) { con.SendDailyReport(ctx, day) })
	}()
	for {
		now := con.cfg.Clock.Now()
		next := now.Truncate(time.Minute).Add(time.Minute + time.Second)
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-con.cfg.Clock.After(next.Sub(now)):
			con.EvaluateAlerts(ctx, con.cfg.Clock.Now())
		}
	}
}

// SeedAlerts primes the per-minute counters from the operation log after a
// start, hour by hour over the last two days (the day ratio needs
// yesterday). Counts land on each hour's first minute.
func (con *Console) SeedAlerts(ctx context.Context) error {
	if con.cfg.Search == nil {
		return nil
	}
	now := con.cfg.Now().Truncate(time.Hour)
	for h := now.Add(-48 * time.Hour); !h.After(now); h = h.Add(time.Hour) {
		res, err := con.cfg.Search.Search(ctx, engine.OpQuery{Kind: engine.OpKindAPI, From: h, To: h.Add(time.Hour), Limit: 1, Facets: true})
		if err != nil {
			return err
		}
		for _, f := range res.Facets["action"] {
			if strings.TrimSpace(f.Term) != "" {
				con.cfg.Alerter.Seed(f.Term, h, f.Count, 0)
			}
		}
	}
	return nil
}

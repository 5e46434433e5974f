package webui

import (
	"bytes"
	"context"
	"encoding/csv"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"heshen/engine"
)

// statsQuery is a parsed usage/analytics query.
type statsQuery struct {
	rng                      engine.StatsRange
	app, action, channel, by string
}

func (con *Console) parseStats(c *fiber.Ctx) (statsQuery, error) {
	r, err := engine.ResolveRange(c.Query("range", engine.Range7Days), c.Query("from"), c.Query("to"), con.cfg.Now(), con.cfg.Location)
	return statsQuery{rng: r, app: strings.Clone(c.Query("app_id")), action: strings.Clone(c.Query("action")),
		channel: strings.Clone(c.Query("channel")), by: strings.Clone(c.Query("by"))}, err
}

// collect aggregates the records the actor may see over q.
func (con *Console) collect(ctx context.Context, a *actor, q statsQuery) (*engine.Stats, error) {
	own, err := con.ownApps(ctx, a)
	if err != nil {
		return nil, err
	}
	s := engine.NewStats(q.rng)
	err = con.cfg.Store.EachRecord(ctx, q.rng.From, q.rng.To, func(r *engine.Record) bool {
		ch := r.Channel
		if ch == "" {
			ch = "api"
		}
		if visibleRecord(own, a, r) && (q.app == "" || r.AppID == q.app) && (q.action == "" || r.Action == q.action) && (q.channel == "" || ch == q.channel) {
			s.Add(r)
		}
		return true
	})
	return s, err
}

func (con *Console) usage(c *fiber.Ctx, a *actor) (*engine.Stats, statsQuery, error) {
	q, err := con.parseStats(c)
	if err != nil {
		return nil, q, err
	}
	s, err := con.collect(c.UserContext(), a, q)
	return s, q, err
}

func rangeJSON(r engine.StatsRange) fiber.Map {
	return fiber.Map{"from": r.From, "to": r.To, "days": r.Days()}
}

func (con *Console) getUsage(c *fiber.Ctx, a *actor) error {
	s, q, err := con.usage(c, a)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"range": rangeJSON(q.rng), "table": s.Usage(q.by), "rows": s.Rows(), "scope": a.scope.String()})
}

func (con *Console) getUsageCSV(c *fiber.Ctx, a *actor) error {
	s, q, err := con.usage(c, a)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	b.WriteString("\ufeff") // so spreadsheet programs read the UTF-8
	w := csv.NewWriter(&b)
	w.Write([]string{"day", "app_id", "action", "channel", "calls", "passed"})
	for _, r := range s.Rows() {
		w.Write([]string{r.Day, r.AppID, r.Action, r.Channel, strconv.Itoa(r.Calls), strconv.Itoa(r.Passed)})
	}
	w.Flush()
	days := q.rng.Days()
	name := "heshen-usage.csv"
	if len(days) > 0 {
		name = "heshen-usage-" + days[0] + "-" + days[len(days)-1] + ".csv"
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	return c.Send(b.Bytes())
}

func (con *Console) getUsageSVG(c *fiber.Ctx, a *actor) error {
	s, q, err := con.usage(c, a)
	if err != nil {
		return err
	}
	t := s.Usage(q.by)
	c.Set(fiber.HeaderContentType, "image/svg+xml")
	return c.SendString(lineChart(t.Days, t.Series, false, c.Query("lang")))
}

func (con *Console) getAnalytics(c *fiber.Ctx, a *actor) error {
	s, q, err := con.usage(c, a)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"range": rangeJSON(q.rng), "analytics": s.Analytics(), "scope": a.scope.String()})
}

// getAnalyticsSVG draws the trend of completions, passes (metric=count) or
// the pass rate (metric=rate).
func (con *Console) getAnalyticsSVG(c *fiber.Ctx, a *actor) error {
	s, q, err := con.usage(c, a)
	if err != nil {
		return err
	}
	an := s.Analytics()
	days := q.rng.Days()
	c.Set(fiber.HeaderContentType, "image/svg+xml")
	if c.Query("metric") == "rate" {
		rate := engine.Series{Key: "pass_rate", Values: make([]int, len(days))}
		for i, t := range an.Trend {
			rate.Values[i] = int(t.PassRate*10 + 0.5) // tenths of a percent
		}
		return c.SendString(lineChart(days, []engine.Series{rate}, true, c.Query("lang")))
	}
	done := engine.Series{Key: "completed", Values: make([]int, len(days))}
	pass := engine.Series{Key: "passed", Values: make([]int, len(days))}
	for i, t := range an.Trend {
		done.Values[i], pass.Values[i] = t.Completed, t.Passed
		done.Total += t.Completed
		pass.Total += t.Passed
	}
	return c.SendString(lineChart(days, []engine.Series{done, pass}, false, c.Query("lang")))
}

func (con *Console) getDashboard(c *fiber.Ctx, a *actor) error {
	ctx := c.UserContext()
	now := con.cfg.Now()
	week, err := engine.ResolveRange(engine.Range7Days, "", "", now, con.cfg.Location)
	if err != nil {
		return err
	}
	// Yesterday and today are both inside the week: one walk.
	s, err := con.collect(ctx, a, statsQuery{rng: week})
	if err != nil {
		return err
	}
	an := s.Analytics()
	n := len(an.Trend)
	today, yesterday := an.Trend[n-1], engine.Tally{}
	if n > 1 {
		yesterday = an.Trend[n-2]
	}
	own, _ := con.ownApps(ctx, a)
	requested := con.reviewRequests(ctx)
	pending := 0
	recent := week.From.AddDate(0, 0, 4) // the last three days
	con.cfg.Store.EachRecord(ctx, recent, now.Add(time.Second), func(r *engine.Record) bool {
		if visibleRecord(own, a, r) && matchStatus(r, "pending", requested[r.ID]) {
			pending++
		}
		return true
	})
	var alerts []engine.AlertEvent
	if con.policy.Scope(a.user, engine.ActDescribeAlerts) != engine.ScopeNone {
		alerts = con.alertHistory(ctx, 5)
	}
	if alerts == nil {
		alerts = []engine.AlertEvent{}
	}
	u := s.Usage(engine.ByAction)
	return c.JSON(fiber.Map{"today": today, "yesterday": yesterday, "week": an.Tally, "pending_reviews": pending,
		"alerts": alerts, "chart": lineChart(u.Days, u.Series, false, c.Query("lang")), "scope": a.scope.String()})
}

package engine

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
)

// Alert rule kinds (seed 003, 创建告警: 调用量 and 今日昨日流量比; design §2.6
// adds the failure rate).
const (
	AlertCalls       = "calls"        // calls of an action per minute > N for K consecutive minutes
	AlertFailureRate = "failure_rate" // failed calls per minute > P % for K consecutive minutes
	AlertDayRatio    = "day_ratio"    // calls today so far / yesterday by the same time > P %
)

// AlertRule is one alert policy. Action "" means all actions together.
type AlertRule struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Kind      string  `json:"kind"`
	Action    string  `json:"action"`
	Threshold float64 `json:"threshold"` // calls per minute, or percent
	Minutes   int     `json:"minutes"`   // K consecutive minutes (calls, failure_rate)
	// RepeatMinutes is the least time between two notifications of the
	// rule while it stays triggered (seed: 重复通知; default 60).
	RepeatMinutes int       `json:"repeat_minutes"`
	Channels      []string  `json:"channels"` // notification channel IDs
	Disabled      bool      `json:"disabled,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	CreatedBy     string    `json:"created_by,omitempty"`
}

// Validate checks a rule before it is saved.
func (r *AlertRule) Validate() error {
	bad := func(zh, f string, a ...any) error { return Errorf(CodeInvalidParameterValue, zh, f, a...) }
	if strings.TrimSpace(r.Name) == "" || len(r.Name) > 200 {
		return bad("规则名称不能为空", "name must be 1 to 200 bytes")
	}
	switch r.Kind {
	case AlertCalls:
		if r.Threshold < 0 || r.Threshold > 1e9 {
			return bad("阈值无效", "threshold must be a number of calls per minute")
		}
	case AlertFailureRate, AlertDayRatio:
		if r.Threshold < 0 || r.Threshold > 1e6 {
			return bad("阈值无效", "threshold must be a percentage")
		}
	default:
		return bad("规则类型无效", "kind must be calls, failure_rate or day_ratio, not %q", r.Kind)
	}
	if r.Kind != AlertDayRatio && (r.Minutes < 1 || r.Minutes > 60) {
		return bad("持续分钟数应为1到60", "minutes must be 1 to 60")
	}
	if r.RepeatMinutes < 0 || r.RepeatMinutes > 7*24*60 {
		return bad("重复通知间隔无效", "repeat_minutes must be 0 to 10080")
	}
	if len(r.Action) > 64 || strings.ContainsAny(r.Action, " \r\n") {
		return bad("接口名无效", "action is not an action name")
	}
	return nil
}

// AlertEvent is one firing of a rule.
type AlertEvent struct {
	ID        string    `json:"id"`
	RuleID    string    `json:"rule_id"`
	RuleName  string    `json:"rule_name"`
	Kind      string    `json:"kind"`
	Action    string    `json:"action"`
	At        time.Time `json:"at"`
	Value     float64   `json:"value"`
	Threshold float64   `json:"threshold"`
	Message   string    `json:"message"`
	EN        string    `json:"message_en"`
	Channels  []string  `json:"channels"`
	// Delivery is filled in by whoever sends it: channel ID → "ok" or the error.
	Delivery map[string]string `json:"delivery,omitempty"`
}

// alertKeep is how long per-minute counts are kept: two days and an hour,
// enough for "today vs yesterday by the same time".
const alertKeep = 49 * time.Hour

type minuteCount struct{ calls, failed int }

// Alerter counts calls per action and minute and evaluates alert rules on
// them. It is safe for concurrent use.
type Alerter struct {
	loc *time.Location

	mu        sync.Mutex
	counts    map[string]map[int64]minuteCount // action → unix minute → counts
	lastFired map[string]time.Time             // rule ID → last notification
}

// NewAlerter counts in loc's days (nil: time.Local).
func NewAlerter(loc *time.Location) *Alerter {
	if loc == nil {
		loc = time.Local
	}
	return &Alerter{loc: loc, counts: map[string]map[int64]minuteCount{}, lastFired: map[string]time.Time{}}
}

func minuteOf(t time.Time) int64 { return t.Unix() / 60 }

// Observe counts one call of action at time at.
func (a *Alerter) Observe(action string, at time.Time, failed bool) {
	a.Seed(action, at, 1, b2i(failed))
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Seed adds n calls (failed of them failed) of action in the minute of at,
// e.g. from the operation log after a restart.
func (a *Alerter) Seed(action string, at time.Time, n, failed int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := a.counts[action]
	if m == nil {
		m = map[int64]minuteCount{}
		a.counts[action] = m
	}
	c := m[minuteOf(at)]
	c.calls += n
	c.failed += failed
	m[minuteOf(at)] = c
}

// CallFailed reports whether an operation-log code is a failed call.
func CallFailed(code string) bool {
	return code != "" && code != ResultSuccess && code != "0"
}

// alertTee counts API entries, then passes every entry on.
type alertTee struct {
	a    *Alerter
	next OpLog
}

func (t alertTee) Append(e *OpEntry) {
	if e.Kind == OpKindAPI && e.Action != "" {
		t.a.Observe(e.Action, e.Time, CallFailed(e.Code))
	}
	if t.next != nil {
		t.next.Append(e)
	}
}

// OpLog returns an OpLog that counts every API call for the alert rules
// and then hands the entry to next (which may be nil).
func (a *Alerter) OpLog(next OpLog) OpLog { return alertTee{a, next} }

// minute returns the counts of one minute, of one action or ("") all.
func (a *Alerter) minute(action string, m int64) minuteCount {
	if action != "" {
		return a.counts[action][m]
	}
	var sum minuteCount
	for _, mm := range a.counts {
		c := mm[m]
		sum.calls += c.calls
		sum.failed += c.failed
	}
	return sum
}

// between sums calls in [from, to) minutes.
func (a *Alerter) between(action string, from, to int64) int {
	n := 0
	add := func(mm map[int64]minuteCount) {
		for m, c := range mm {
			if m >= from && m < to {
				n += c.calls
			}
		}
	}
	if action != "" {
		add(a.counts[action])
	} else {
		for _, mm := range a.counts {
			add(mm)
		}
	}
	return n
}

// DayCalls returns the calls of action ("" all) today until now and
// yesterday until the same time of day.
func (a *Alerter) DayCalls(action string, now time.Time) (today, yesterday int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.dayCalls(action, now)
}

func (a *Alerter) dayCalls(action string, now time.Time) (int, int) {
	start := dayStart(now, a.loc)
	ystart := start.AddDate(0, 0, -1)
	same := ystart.Add(now.Sub(start))
	return a.between(action, minuteOf(start), minuteOf(now)+1), a.between(action, minuteOf(ystart), minuteOf(same)+1)
}

// Evaluate checks rules at now against the complete minutes before it and
// returns the events to notify, at most one per rule per RepeatMinutes.
// It also forgets counts older than two days.
func (a *Alerter) Evaluate(now time.Time, rules []AlertRule) []AlertEvent {
	a.mu.Lock()
	defer a.mu.Unlock()
	cur := minuteOf(now)
	for _, mm := range a.counts {
		for m := range mm {
			if m < cur-int64(alertKeep/time.Minute) {
				delete(mm, m)
			}
		}
	}
	var out []AlertEvent
	for _, r := range rules {
		if r.Disabled {
			continue
		}
		value, fired := 0.0, false
		switch r.Kind {
		case AlertCalls, AlertFailureRate:
			fired = r.Minutes > 0
			value = math.Inf(1)
			for m := cur - int64(r.Minutes); m < cur; m++ {
				c := a.minute(r.Action, m)
				v := float64(c.calls)
				if r.Kind == AlertFailureRate {
					v = 0
					if c.calls > 0 {
						v = float64(c.failed) * 100 / float64(c.calls)
					}
				}
				value = min(value, v)
				if v <= r.Threshold {
					fired = false
					break
				}
			}
		case AlertDayRatio:
			today, yest := a.dayCalls(r.Action, now)
			if yest > 0 {
				value = float64(today) * 100 / float64(yest)
				fired = value > r.Threshold
			}
		}
		if !fired {
			continue
		}
		repeat := time.Duration(r.RepeatMinutes) * time.Minute
		if r.RepeatMinutes == 0 {
			repeat = time.Hour
		}
		if last, ok := a.lastFired[r.ID]; ok && now.Sub(last) < repeat {
			continue
		}
		a.lastFired[r.ID] = now
		out = append(out, alertEvent(r, now, value))
	}
	return out
}

func alertEvent(r AlertRule, now time.Time, value float64) AlertEvent {
	act, actEN := r.Action, r.Action
	if act == "" {
		act, actEN = "全部接口", "all actions"
	}
	e := AlertEvent{RuleID: r.ID, RuleName: r.Name, Kind: r.Kind, Action: r.Action, At: now,
		Value: math.Round(value*100) / 100, Threshold: r.Threshold, Channels: slices.Clone(r.Channels)}
	switch r.Kind {
	case AlertCalls:
		e.Message = fmt.Sprintf("【%s】%s 调用量连续 %d 分钟大于 %g 次/分钟(最低 %g)", r.Name, act, r.Minutes, r.Threshold, e.Value)
		e.EN = fmt.Sprintf("[%s] calls of %s above %g per minute for %d consecutive minutes (lowest %g)", r.Name, actEN, r.Threshold, r.Minutes, e.Value)
	case AlertFailureRate:
		e.Message = fmt.Sprintf("【%s】%s 失败率连续 %d 分钟大于 %g%%(最低 %g%%)", r.Name, act, r.Minutes, r.Threshold, e.Value)
		e.EN = fmt.Sprintf("[%s] failure rate of %s above %g%% for %d consecutive minutes (lowest %g%%)", r.Name, actEN, r.Threshold, r.Minutes, e.Value)
	case AlertDayRatio:
		e.Message = fmt.Sprintf("【%s】%s 今日调用量为昨日同期的 %g%%,大于 %g%%", r.Name, act, e.Value, r.Threshold)
		e.EN = fmt.Sprintf("[%s] calls of %s today are %g%% of yesterday by this time, above %g%%", r.Name, actEN, e.Value, r.Threshold)
	}
	return e
}

// Clock is the time source of schedules; tests use a fake one.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// NextReportTime is the first time at or after now that is hour:00 in loc.
func NextReportTime(now time.Time, hour int, loc *time.Location) time.Time {
	t := now.In(loc)
	next := time.Date(t.Year(), t.Month(), t.Day(), hour, 0, 0, 0, loc)
	if next.Before(t) {
		next = time.Date(t.Year(), t.Month(), t.Day()+1, hour, 0, 0, 0, loc)
	}
	return next
}

// ReportConfig says when the daily report goes out; Enabled false pauses it.
type ReportConfig struct {
	Enabled bool
	Hour    int // 0–23 in the scheduler's location (seed: 10 点)
}

// RunDailyReport calls send once a day at the configured hour with the
// day the report covers (yesterday, as midnight in loc) until ctx ends.
// config is read before every wait; a value on reload makes it read again
// at once (the hour changed).
func RunDailyReport(ctx context.Context, clock Clock, loc *time.Location, config func() ReportConfig, reload <-chan struct{}, send func(ctx context.Context, day time.Time)) {
	if loc == nil {
		loc = time.Local
	}
	var lastDay, lastDue time.Time
	for {
		cfg := config()
		now := clock.Now()
		var wait <-chan time.Time
		var due time.Time
		if cfg.Enabled && cfg.Hour >= 0 && cfg.Hour < 24 {
			due = NextReportTime(now, cfg.Hour, loc)
			if !due.After(lastDue) { // just sent at this very time
				due = NextReportTime(lastDue.Add(time.Second), cfg.Hour, loc)
			}
			wait = clock.After(due.Sub(now))
		}
		select {
		case <-ctx.Done():
			return
		case <-reload:
			continue
		case <-wait:
		}
		day := dayStart(due, loc).AddDate(0, 0, -1)
		if day.Equal(lastDay) {
			continue
		}
		lastDay, lastDue = day, due
		send(ctx, day)
	}
}

// DailyReport is the summary sent each morning: the day's calls by action
// and the last seven days' trend (seed 003, 订阅日报).
type DailyReport struct {
	Day      string   `json:"day"`
	Calls    int      `json:"calls"`
	Passed   int      `json:"passed"`
	PassRate float64  `json:"pass_rate"`
	ByAction []Series `json:"by_action"` // Values has one entry: the day
	Trend    []Tally  `json:"trend"`     // the seven days ending on Day
	Scope    string   `json:"scope"`     // "all", or the user whose own items it covers
}

// BuildDailyReport summarises week, a Stats over the seven days ending on
// day (inclusive).
func BuildDailyReport(day time.Time, week *Stats) DailyReport {
	rep := DailyReport{Day: day.Format(DayFormat), Scope: "all", ByAction: []Series{}}
	an := week.Analytics()
	rep.Trend = an.Trend
	for _, t := range an.Trend {
		if t.Key == rep.Day {
			rep.Calls, rep.Passed, rep.PassRate = t.Completed, t.Passed, math.Round(t.PassRate*10)/10
		}
	}
	u := week.Usage(ByAction)
	last := len(u.Days) - 1
	for _, s := range u.Series {
		if last >= 0 && u.Days[last] == rep.Day && s.Values[last] > 0 {
			rep.ByAction = append(rep.ByAction, Series{Key: s.Key, Values: []int{s.Values[last]}, Total: s.Values[last]})
		}
	}
	slices.SortFunc(rep.ByAction, func(a, b Series) int { return b.Total - a.Total })
	return rep
}

// Text renders the report for e-mail: Chinese, then English.
func (r DailyReport) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "核身日报 %s\n调用量 %d 次,通过 %d 次,通过率 %.1f%%\n", r.Day, r.Calls, r.Passed, r.PassRate)
	for _, s := range r.ByAction {
		fmt.Fprintf(&b, "  %s: %d\n", s.Key, s.Total)
	}
	b.WriteString("近7天调用量 / last 7 days:\n")
	for _, t := range r.Trend {
		fmt.Fprintf(&b, "  %s  %6d  %5.1f%%  %s\n", t.Key, t.Completed, t.PassRate, strings.Repeat("█", bar(t.Completed, r.Trend)))
	}
	fmt.Fprintf(&b, "\nHeshen daily report %s: %d calls, %d passed, pass rate %.1f%%.\n", r.Day, r.Calls, r.Passed, r.PassRate)
	return b.String()
}

func bar(n int, all []Tally) int {
	mx := 0
	for _, t := range all {
		mx = max(mx, t.Completed)
	}
	if mx == 0 {
		return 0
	}
	return (n*30 + mx - 1) / mx
}

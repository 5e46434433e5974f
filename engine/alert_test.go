package engine

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAlertCallsConsecutiveMinutes(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	a := NewAlerter(loc)
	base := time.Date(2025, 3, 10, 9, 0, 0, 0, loc)
	rule := AlertRule{ID: "r1", Name: "核验突增", Kind: AlertCalls, Action: "IdCardVerification", Threshold: 5, Minutes: 3, Channels: []string{"c1"}}
	// Minutes 0,1: 6 calls each; minute 2: 5 (not above 5); minutes 3,4,5: 7.
	per := []int{6, 6, 5, 7, 7, 7}
	for m, n := range per {
		for i := 0; i < n; i++ {
			a.Observe("IdCardVerification", base.Add(time.Duration(m)*time.Minute+time.Duration(i)*time.Second), false)
		}
	}
	// Other actions do not count toward an action's rule.
	for i := 0; i < 100; i++ {
		a.Observe("DetectAuth", base.Add(time.Minute), false)
	}
	for m := 1; m <= 5; m++ {
		if ev := a.Evaluate(base.Add(time.Duration(m)*time.Minute+time.Second), []AlertRule{rule}); len(ev) != 0 {
			t.Fatalf("fired after minute %d: %+v", m-1, ev)
		}
	}
	ev := a.Evaluate(base.Add(6*time.Minute), []AlertRule{rule})
	if len(ev) != 1 || ev[0].Value != 7 || !strings.Contains(ev[0].Message, "连续 3 分钟") || ev[0].Channels[0] != "c1" {
		t.Fatalf("minute 6: %+v", ev)
	}
	// Still triggered a minute later, but the repeat interval holds it back.
	a.Observe("IdCardVerification", base.Add(6*time.Minute), false)
	if ev := a.Evaluate(base.Add(7*time.Minute), []AlertRule{rule}); len(ev) != 0 {
		t.Errorf("repeated within the hour: %+v", ev)
	}
	// All actions together: the DetectAuth burst makes minute 1 > 100.
	all := AlertRule{ID: "r2", Name: "all", Kind: AlertCalls, Threshold: 100, Minutes: 1}
	if ev := a.Evaluate(base.Add(2*time.Minute), []AlertRule{all}); len(ev) != 1 || ev[0].Value != 106 {
		t.Errorf("all actions: %+v", ev)
	}
	rule.Disabled = true
	rule.ID = "r3"
	if ev := a.Evaluate(base.Add(6*time.Minute), []AlertRule{rule}); len(ev) != 0 {
		t.Error("disabled rule fired")
	}
}

func TestAlertFailureRateAndTee(t *testing.T) {
	a := NewAlerter(time.UTC)
	got := 0
	next := opLogFunc(func(*OpEntry) { got++ })
	log := a.OpLog(next)
	base := time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)
	for m := 0; m < 2; m++ {
		for i := 0; i < 4; i++ {
			code := "Success"
			if i < 3 {
				code = "FailedOperation.CompareLowSimilarity"
			}
			log.Append(&OpEntry{Kind: OpKindAPI, Action: "LivenessCompare", Code: code, Time: base.Add(time.Duration(m) * time.Minute)})
		}
	}
	log.Append(&OpEntry{Kind: OpKindConsole, Action: "LivenessCompare", Code: "InternalError", Time: base})
	if got != 9 {
		t.Errorf("tee passed on %d entries", got)
	}
	r := AlertRule{ID: "f", Name: "失败率", Kind: AlertFailureRate, Action: "LivenessCompare", Threshold: 50, Minutes: 2}
	ev := a.Evaluate(base.Add(2*time.Minute), []AlertRule{r})
	if len(ev) != 1 || ev[0].Value != 75 {
		t.Fatalf("failure rate: %+v", ev)
	}
	r.Threshold = 80
	r.ID = "g"
	if ev := a.Evaluate(base.Add(2*time.Minute), []AlertRule{r}); len(ev) != 0 {
		t.Errorf("75%% fired a rule at 80%%")
	}
}

type opLogFunc func(*OpEntry)

func (f opLogFunc) Append(e *OpEntry) { f(e) }

func TestAlertDayRatio(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	a := NewAlerter(loc)
	now := time.Date(2025, 3, 10, 12, 0, 0, 0, loc)
	a.Seed("DetectAuth", now.Add(-24*time.Hour-2*time.Hour), 100, 0) // yesterday 10:00
	a.Seed("DetectAuth", now.Add(-24*time.Hour+time.Hour), 1000, 0)  // yesterday 13:00: after the same time, not counted
	a.Seed("DetectAuth", now.Add(-3*time.Hour), 250, 0)              // today 09:00
	today, yest := a.DayCalls("DetectAuth", now)
	if today != 250 || yest != 100 {
		t.Fatalf("day calls %d/%d", today, yest)
	}
	r := AlertRule{ID: "d", Name: "日环比", Kind: AlertDayRatio, Action: "DetectAuth", Threshold: 200}
	ev := a.Evaluate(now, []AlertRule{r})
	if len(ev) != 1 || ev[0].Value != 250 || !strings.Contains(ev[0].EN, "250%") {
		t.Fatalf("ratio: %+v", ev)
	}
	r.Threshold, r.ID = 300, "e"
	if ev := a.Evaluate(now, []AlertRule{r}); len(ev) != 0 {
		t.Error("250% fired a 300% rule")
	}
	// No calls yesterday: no ratio, no alert.
	r.Action, r.ID, r.Threshold = "Other", "f", 1
	a.Seed("Other", now.Add(-time.Hour), 5, 0)
	if ev := a.Evaluate(now, []AlertRule{r}); len(ev) != 0 {
		t.Error("ratio over zero fired")
	}
	// Counts older than two days are forgotten.
	a.Evaluate(now.Add(72*time.Hour), nil)
	if today, yest := a.DayCalls("DetectAuth", now); today != 0 || yest != 0 {
		t.Errorf("old counts kept: %d %d", today, yest)
	}
}

func TestAlertRuleValidate(t *testing.T) {
	good := AlertRule{Name: "x", Kind: AlertCalls, Threshold: 10, Minutes: 3}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, r := range []AlertRule{
		{Kind: AlertCalls, Threshold: 1, Minutes: 1},
		{Name: "x", Kind: "volume", Minutes: 1},
		{Name: "x", Kind: AlertCalls, Threshold: -1, Minutes: 1},
		{Name: "x", Kind: AlertCalls, Threshold: 1, Minutes: 0},
		{Name: "x", Kind: AlertFailureRate, Threshold: 1, Minutes: 61},
		{Name: "x", Kind: AlertCalls, Threshold: 1, Minutes: 1, Action: "a b"},
	} {
		if ErrorCode(r.Validate()) != CodeInvalidParameterValue {
			t.Errorf("accepted %+v", r)
		}
	}
}

// fakeClock fires After channels when the test moves time on.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
	added   chan struct{}
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{now: t, added: make(chan struct{}, 100)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.waiters = append(c.waiters, fakeWaiter{c.now.Add(d), ch})
	c.added <- struct{}{}
	return ch
}

// advance waits for the scheduler to wait, then moves time to t and fires
// whatever is due.
func (c *fakeClock) advance(tb testing.TB, t time.Time) {
	select {
	case <-c.added:
	case <-time.After(5 * time.Second):
		tb.Fatal("scheduler never waited")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
	keep := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(t) {
			w.ch <- t
		} else {
			keep = append(keep, w)
		}
	}
	c.waiters = keep
}

func TestDailyReportSchedule(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	start := time.Date(2025, 3, 10, 8, 30, 0, 0, loc)
	if got := NextReportTime(start, 10, loc); !got.Equal(time.Date(2025, 3, 10, 10, 0, 0, 0, loc)) {
		t.Errorf("next at 08:30: %v", got)
	}
	if got := NextReportTime(time.Date(2025, 3, 10, 10, 0, 1, 0, loc), 10, loc); !got.Equal(time.Date(2025, 3, 11, 10, 0, 0, 0, loc)) {
		t.Errorf("next at 10:00:01: %v", got)
	}
	clock := newFakeClock(start)
	sent := make(chan time.Time, 10)
	var mu sync.Mutex
	cfg := ReportConfig{Enabled: true, Hour: 10}
	reload := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		RunDailyReport(ctx, clock, loc, func() ReportConfig { mu.Lock(); defer mu.Unlock(); return cfg }, reload,
			func(_ context.Context, day time.Time) { sent <- day })
		close(done)
	}()
	expect := func(day string) {
		t.Helper()
		select {
		case d := <-sent:
			if d.Format(DayFormat) != day {
				t.Errorf("report for %s, want %s", d.Format(DayFormat), day)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no report for %s", day)
		}
	}
	// 09:59 passes without a report; 10:00 sends yesterday's.
	clock.advance(t, time.Date(2025, 3, 10, 10, 0, 0, 0, loc))
	expect("2025-03-09")
	// The next day at 10:00 again, once.
	clock.advance(t, time.Date(2025, 3, 11, 10, 0, 0, 0, loc))
	expect("2025-03-10")
	// The hour moves to 07:00: reload, and the next one goes at 07:00 on the 12th.
	mu.Lock()
	cfg.Hour = 7
	mu.Unlock()
	reload <- struct{}{}
	<-clock.added // the wait made before the reload
	clock.advance(t, time.Date(2025, 3, 12, 7, 0, 0, 0, loc))
	expect("2025-03-11")
	select {
	case d := <-sent:
		t.Errorf("extra report %v", d)
	default:
	}
	cancel()
	<-done
}

func TestDailyReportContent(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	day := time.Date(2025, 3, 9, 0, 0, 0, 0, loc)
	week := NewStats(StatsRange{From: day.AddDate(0, 0, -6), To: day.AddDate(0, 0, 1), Loc: loc})
	for i := 0; i < 10; i++ {
		week.Add(&Record{Action: "DetectAuth", ErrCode: i % 5, CreatedAt: day.Add(time.Duration(i) * time.Hour)})
	}
	week.Add(&Record{Action: "IdCardVerification", CreatedAt: day.Add(-24 * time.Hour)})
	rep := BuildDailyReport(day, week)
	if rep.Day != "2025-03-09" || rep.Calls != 10 || rep.Passed != 2 || rep.PassRate != 20 || len(rep.Trend) != 7 || len(rep.ByAction) != 1 {
		t.Fatalf("report %+v", rep)
	}
	txt := rep.Text()
	if !strings.Contains(txt, "核身日报 2025-03-09") || !strings.Contains(txt, "2025-03-08") || !strings.Contains(txt, "pass rate 20.0%") {
		t.Errorf("text:\n%s", txt)
	}
}

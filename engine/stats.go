package engine

import (
	"cmp"
	"slices"
	"strconv"
	"time"
)

// Usage statistics and analytics over verification records (seed 003:
// 计费调用量统计 and 数据分析). One record is one billable call and one
// completed verification; it passed when its flow code is 0.

// Range names for statistics queries.
const (
	RangeToday     = "today"
	RangeYesterday = "yesterday"
	Range7Days     = "7d"
	Range30Days    = "30d"
	RangeCustom    = "custom"
)

// MaxStatsDays bounds a custom range (seed 003: 90 天内指定起止时间).
const MaxStatsDays = 90

// DayFormat is how days are written in statistics.
const DayFormat = "2006-01-02"

// StatsRange is a half-open time range [From, To) covering whole days in
// Loc, except that a range ending today ends now.
type StatsRange struct {
	From, To time.Time
	Loc      *time.Location
}

// Days lists the range's days in Loc, oldest first.
func (r StatsRange) Days() []string {
	var out []string
	for d := dayStart(r.From, r.Loc); d.Before(r.To); d = d.AddDate(0, 0, 1) {
		out = append(out, d.Format(DayFormat))
	}
	return out
}

func dayStart(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}

// ResolveRange turns a range name (today, yesterday, 7d, 30d, custom) into
// times at now in loc; custom takes from and to as inclusive days
// (YYYY-MM-DD), at most MaxStatsDays days, none after today.
func ResolveRange(name, from, to string, now time.Time, loc *time.Location) (StatsRange, error) {
	if loc == nil {
		loc = time.Local
	}
	today := dayStart(now, loc)
	r := StatsRange{Loc: loc, To: now}
	switch name {
	case RangeToday, "":
		r.From = today
	case RangeYesterday:
		r.From, r.To = today.AddDate(0, 0, -1), today
	case Range7Days:
		r.From = today.AddDate(0, 0, -6)
	case Range30Days:
		r.From = today.AddDate(0, 0, -29)
	case RangeCustom:
		f, err1 := time.ParseInLocation(DayFormat, from, loc)
		t, err2 := time.ParseInLocation(DayFormat, to, loc)
		if err1 != nil || err2 != nil {
			return r, Errorf(CodeInvalidParameterValue, "日期格式应为 YYYY-MM-DD", "from and to must be days as YYYY-MM-DD")
		}
		if t.Before(f) {
			return r, Errorf(CodeInvalidParameterValue, "结束日期早于开始日期", "to is before from")
		}
		if t.After(today) {
			return r, Errorf(CodeInvalidParameterValue, "结束日期不能晚于今天", "to is after today")
		}
		if days := int(t.Sub(f).Hours()/24+0.5) + 1; days > MaxStatsDays {
			return r, Errorf(CodeInvalidParameterValue, "自定义时间范围最多90天", "a custom range spans at most %d days, not %d", MaxStatsDays, days)
		}
		r.From, r.To = f, t.AddDate(0, 0, 1)
		if r.To.After(now) {
			r.To = now
		}
	default:
		return r, Errorf(CodeInvalidParameterValue, "时间范围无效", "range must be today, yesterday, 7d, 30d or custom, not %q", name)
	}
	return r, nil
}

// Passed reports whether a record counts as a passed verification.
func (r *Record) Passed() bool { return r.ErrCode == 0 }

// FailureCode is the code a failed record is counted under in analytics:
// its Tencent Result, or its flow code when the Result says nothing.
func (r *Record) FailureCode() string {
	if r.Result != "" && r.Result != "0" && r.Result != ResultSuccess {
		return r.Result
	}
	return strconv.Itoa(r.ErrCode)
}

// Usage dimensions.
const (
	ByAction  = "action"
	ByApp     = "app"
	ByChannel = "channel"
)

// UsageRow is the calls of one day, app, action and channel.
type UsageRow struct {
	Day     string `json:"day"`
	AppID   string `json:"app_id"`
	Action  string `json:"action"`
	Channel string `json:"channel"`
	Calls   int    `json:"calls"`
	Passed  int    `json:"passed"`
}

// Series is one line of a chart: a value per day.
type Series struct {
	Key    string `json:"key"`
	Values []int  `json:"values"`
	Total  int    `json:"total"`
}

// UsageTable is calls per day split by one dimension.
type UsageTable struct {
	Days   []string `json:"days"`
	By     string   `json:"by"`
	Series []Series `json:"series"` // largest total first
	Total  int      `json:"total"`
}

// Tally counts completions and passes.
type Tally struct {
	Key       string  `json:"key"`
	Completed int     `json:"completed"`
	Passed    int     `json:"passed"`
	PassRate  float64 `json:"pass_rate"` // percent, 0 when nothing completed
}

func (t *Tally) rate() {
	t.PassRate = 0
	if t.Completed > 0 {
		t.PassRate = float64(t.Passed) * 100 / float64(t.Completed)
	}
}

// FailureReason is the number of failed verifications with one code on one
// channel.
type FailureReason struct {
	Channel string `json:"channel"`
	Code    string `json:"code"`
	Count   int    `json:"count"`
}

// Analytics is seed 003's 数据分析: completions, passes and pass rate
// overall, by channel and per day, and failure reasons by channel and code.
type Analytics struct {
	Tally
	ByChannel []Tally         `json:"by_channel"`
	Trend     []Tally         `json:"trend"` // Key is the day
	Reasons   []FailureReason `json:"reasons"`
}

// Stats aggregates records over one range. Add records, then read Usage,
// Rows and Analytics. Not safe for concurrent use.
type Stats struct {
	rng     StatsRange
	days    []string
	dayIdx  map[string]int
	rows    map[UsageRow]*UsageRow // key has Calls/Passed zero
	reasons map[[2]string]int
}

// NewStats starts an aggregation over r.
func NewStats(r StatsRange) *Stats {
	if r.Loc == nil {
		r.Loc = time.Local
	}
	s := &Stats{rng: r, days: r.Days(), dayIdx: map[string]int{}, rows: map[UsageRow]*UsageRow{}, reasons: map[[2]string]int{}}
	for i, d := range s.days {
		s.dayIdx[d] = i
	}
	return s
}

// Range is the aggregated range.
func (s *Stats) Range() StatsRange { return s.rng }

// Add counts one record; records outside the range are ignored.
func (s *Stats) Add(r *Record) {
	if r.CreatedAt.Before(s.rng.From) || !r.CreatedAt.Before(s.rng.To) {
		return
	}
	ch := r.Channel
	if ch == "" {
		ch = "api"
	}
	k := UsageRow{Day: r.CreatedAt.In(s.rng.Loc).Format(DayFormat), AppID: r.AppID, Action: r.Action, Channel: ch}
	row := s.rows[k]
	if row == nil {
		row = &UsageRow{Day: k.Day, AppID: k.AppID, Action: k.Action, Channel: k.Channel}
		s.rows[k] = row
	}
	row.Calls++
	if r.Passed() {
		row.Passed++
	} else {
		s.reasons[[2]string{ch, r.FailureCode()}]++
	}
}

// Rows are the per-day, app, action and channel counts, by day then app,
// action and channel (the CSV download).
func (s *Stats) Rows() []UsageRow {
	out := make([]UsageRow, 0, len(s.rows))
	for _, r := range s.rows {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b UsageRow) int {
		return cmp.Or(cmp.Compare(a.Day, b.Day), cmp.Compare(a.AppID, b.AppID), cmp.Compare(a.Action, b.Action), cmp.Compare(a.Channel, b.Channel))
	})
	return out
}

func dimension(r *UsageRow, by string) string {
	switch by {
	case ByApp:
		return r.AppID
	case ByChannel:
		return r.Channel
	}
	return r.Action
}

// Usage is calls per day split by one dimension (ByAction, ByApp or
// ByChannel; anything else means ByAction).
func (s *Stats) Usage(by string) UsageTable {
	if by != ByApp && by != ByChannel {
		by = ByAction
	}
	t := UsageTable{Days: s.days, By: by, Series: []Series{}}
	idx := map[string]int{}
	for _, r := range s.rows {
		key := dimension(r, by)
		i, ok := idx[key]
		if !ok {
			i = len(t.Series)
			idx[key] = i
			t.Series = append(t.Series, Series{Key: key, Values: make([]int, len(s.days))})
		}
		if d, ok := s.dayIdx[r.Day]; ok {
			t.Series[i].Values[d] += r.Calls
		}
		t.Series[i].Total += r.Calls
		t.Total += r.Calls
	}
	slices.SortFunc(t.Series, func(a, b Series) int { return cmp.Or(cmp.Compare(b.Total, a.Total), cmp.Compare(a.Key, b.Key)) })
	return t
}

// Analytics computes completions, passes, pass rates and failure reasons.
func (s *Stats) Analytics() Analytics {
	var a Analytics
	a.Key = "all"
	ch := map[string]*Tally{}
	trend := make([]Tally, len(s.days))
	for i, d := range s.days {
		trend[i].Key = d
	}
	for _, r := range s.rows {
		a.Completed += r.Calls
		a.Passed += r.Passed
		t := ch[r.Channel]
		if t == nil {
			t = &Tally{Key: r.Channel}
			ch[r.Channel] = t
		}
		t.Completed += r.Calls
		t.Passed += r.Passed
		if d, ok := s.dayIdx[r.Day]; ok {
			trend[d].Completed += r.Calls
			trend[d].Passed += r.Passed
		}
	}
	a.rate()
	for _, t := range ch {
		t.rate()
		a.ByChannel = append(a.ByChannel, *t)
	}
	slices.SortFunc(a.ByChannel, func(x, y Tally) int { return cmp.Or(cmp.Compare(y.Completed, x.Completed), cmp.Compare(x.Key, y.Key)) })
	for i := range trend {
		trend[i].rate()
	}
	a.Trend = trend
	for k, n := range s.reasons {
		a.Reasons = append(a.Reasons, FailureReason{Channel: k[0], Code: k[1], Count: n})
	}
	slices.SortFunc(a.Reasons, func(x, y FailureReason) int {
		return cmp.Or(cmp.Compare(y.Count, x.Count), cmp.Compare(x.Channel, y.Channel), cmp.Compare(x.Code, y.Code))
	})
	if a.ByChannel == nil {
		a.ByChannel = []Tally{}
	}
	if a.Reasons == nil {
		a.Reasons = []FailureReason{}
	}
	return a
}

package engine

import (
	"testing"
	"time"
)

func TestResolveRange(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	now := time.Date(2025, 3, 10, 15, 30, 0, 0, loc)
	midnight := time.Date(2025, 3, 10, 0, 0, 0, 0, loc)
	cases := []struct {
		name, from, to string
		wantFrom       time.Time
		wantTo         time.Time
		days           int
	}{
		{"today", "", "", midnight, now, 1},
		{"yesterday", "", "", midnight.AddDate(0, 0, -1), midnight, 1},
		{"7d", "", "", midnight.AddDate(0, 0, -6), now, 7},
		{"30d", "", "", midnight.AddDate(0, 0, -29), now, 30},
		{"custom", "2025-01-01", "2025-01-31", time.Date(2025, 1, 1, 0, 0, 0, 0, loc), time.Date(2025, 2, 1, 0, 0, 0, 0, loc), 31},
		{"custom", "2024-12-11", "2025-03-10", time.Date(2024, 12, 11, 0, 0, 0, 0, loc), now, 90},
	}
	for _, c := range cases {
		r, err := ResolveRange(c.name, c.from, c.to, now, loc)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !r.From.Equal(c.wantFrom) || !r.To.Equal(c.wantTo) || len(r.Days()) != c.days {
			t.Errorf("%s %s..%s: got %v..%v (%d days)", c.name, c.from, c.to, r.From, r.To, len(r.Days()))
		}
	}
	for _, bad := range [][3]string{
		{"custom", "2024-12-10", "2025-03-10"}, // 91 days
		{"custom", "2025-03-01", "2025-02-01"}, // reversed
		{"custom", "2025-03-01", "2025-03-11"}, // future
		{"custom", "2025/03/01", "2025-03-02"},
		{"forever", "", ""},
	} {
		if _, err := ResolveRange(bad[0], bad[1], bad[2], now, loc); ErrorCode(err) != CodeInvalidParameterValue {
			t.Errorf("%v: err %v", bad, err)
		}
	}
}

func TestStatsUsageAndAnalytics(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	now := time.Date(2025, 3, 10, 12, 0, 0, 0, loc)
	r, _ := ResolveRange("7d", "", "", now, loc)
	s := NewStats(r)
	add := func(day int, hour int, app, action, ch string, code int, result string) {
		s.Add(&Record{AppID: app, Action: action, Channel: ch, ErrCode: code, Result: result,
			CreatedAt: time.Date(2025, 3, day, hour, 0, 0, 0, loc).UTC()})
	}
	add(10, 1, "a1", "IdCardVerification", "api", 0, "0")
	add(10, 2, "a1", "IdCardVerification", "api", 0, "0")
	add(10, 3, "a1", "IdCardVerification", "api", 1, "FailedOperation.CompareLowSimilarity")
	add(9, 23, "a2", "DetectAuth", "h5", 0, "Success")
	add(9, 22, "a2", "DetectAuth", "h5", 2004, "")
	add(4, 0, "a2", "DetectAuth", "counter", 0, "")   // first day of the range
	add(3, 23, "a2", "DetectAuth", "counter", 0, "")  // before it
	add(10, 13, "a2", "DetectAuth", "counter", 0, "") // after now? no: the range ends now, 13:00 is after
	// Local midnight vs UTC: 00:30 CST on the 10th is the 9th in UTC but the 10th here.
	s.Add(&Record{AppID: "a1", Action: "IdCardVerification", CreatedAt: time.Date(2025, 3, 10, 0, 30, 0, 0, loc)})

	u := s.Usage(ByAction)
	if len(u.Days) != 7 || u.Days[0] != "2025-03-04" || u.Days[6] != "2025-03-10" {
		t.Fatalf("days %v", u.Days)
	}
	if u.Total != 7 {
		t.Errorf("total %d, want 7", u.Total)
	}
	if u.Series[0].Key != "IdCardVerification" || u.Series[0].Values[6] != 4 || u.Series[0].Total != 4 {
		t.Errorf("series %+v", u.Series[0])
	}
	if u.Series[1].Values[5] != 2 || u.Series[1].Values[0] != 1 {
		t.Errorf("DetectAuth %+v", u.Series[1])
	}
	byCh := s.Usage(ByChannel)
	if len(byCh.Series) != 3 {
		t.Errorf("channels %+v", byCh.Series)
	}

	a := s.Analytics()
	if a.Completed != 7 || a.Passed != 5 || a.PassRate < 71.4 || a.PassRate > 71.5 {
		t.Errorf("analytics %+v", a.Tally)
	}
	if len(a.Reasons) != 2 {
		t.Fatalf("reasons %+v", a.Reasons)
	}
	for _, fr := range a.Reasons {
		switch fr.Channel {
		case "api":
			if fr.Code != "FailedOperation.CompareLowSimilarity" {
				t.Errorf("api reason %+v", fr)
			}
		case "h5":
			if fr.Code != "2004" {
				t.Errorf("h5 reason %+v", fr)
			}
		default:
			t.Errorf("reason %+v", fr)
		}
	}
	if a.Trend[6].Completed != 4 || a.Trend[6].Passed != 3 || a.Trend[6].PassRate != 75 {
		t.Errorf("trend today %+v", a.Trend[6])
	}
	rows := s.Rows()
	if len(rows) == 0 || rows[0].Day != "2025-03-04" {
		t.Errorf("rows %+v", rows)
	}
	empty := NewStats(r).Analytics()
	if empty.PassRate != 0 || empty.Reasons == nil || empty.ByChannel == nil {
		t.Errorf("empty analytics %+v", empty)
	}
}

package store

import (
	"context"
	"sync"
	"testing"
	"time"

	"heshen/engine"
)

// fakeClock is a settable clock whose After fires when Advance passes it.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
	waiting chan struct{} // signalled on each After
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock(t time.Time) *fakeClock {
	return &fakeClock{now: t, waiting: make(chan struct{}, 100)}
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.waiters = append(c.waiters, waiter{c.now.Add(d), ch})
	c.waiting <- struct{}{}
	return ch
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

// seed stores, at t0: a media blob without expiry, one expiring at t0+30m,
// a BizToken, and a record naming a person; and a second record one day later.
func seedRetention(t *testing.T, db *DB, t0 time.Time) (ids struct{ media, mediaExp, token, rec1, rec2 string }) {
	t.Helper()
	m1 := &engine.Media{Kind: "video", Data: []byte("v"), CreatedAt: t0}
	m2 := &engine.Media{Kind: "best_frame", Data: []byte("f"), CreatedAt: t0, ExpiresAt: t0.Add(30 * time.Minute)}
	tok := &engine.BizToken{RuleID: "1", IDNumber: "11010519491231002X", Name: "张三", CreatedAt: t0}
	for _, m := range []*engine.Media{m1, m2} {
		if err := db.PutMedia(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.PutBizToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	r1 := &engine.Record{Action: "DetectAuth", IDNumber: "11010519491231002X", Name: "张三", Media: []string{m1.ID}, ErrCode: 0, Sim: 91, CreatedAt: t0}
	r2 := &engine.Record{Action: "IdCardVerification", IDNumber: "11010519491231002X", Name: "张三", CreatedAt: t0.Add(24 * time.Hour)}
	for _, r := range []*engine.Record{r1, r2} {
		if err := db.CreateRecord(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	ids.media, ids.mediaExp, ids.token, ids.rec1, ids.rec2 = m1.ID, m2.ID, tok.Token, r1.ID, r2.ID
	return ids
}

func TestSweepRetentionDefaults(t *testing.T) {
	db := mustOpenDB(t, Options{})
	t0 := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	ids := seedRetention(t, db, t0)
	r := engine.DefaultRetention
	steps := []struct {
		at   time.Duration
		want engine.SweepReport
	}{
		{29 * time.Minute, engine.SweepReport{}},
		{30 * time.Minute, engine.SweepReport{Media: 1}}, // its own ExpiresAt
		{2*time.Hour - time.Second, engine.SweepReport{}},
		{2 * time.Hour, engine.SweepReport{Media: 1}}, // 2 h after creation
		{72*time.Hour - time.Second, engine.SweepReport{}},
		{72 * time.Hour, engine.SweepReport{BizTokens: 1}},
		{30 * 24 * time.Hour, engine.SweepReport{Identities: 1}},
		{31 * 24 * time.Hour, engine.SweepReport{Identities: 1}},
		{2*365*24*time.Hour - time.Second, engine.SweepReport{}},
		{2 * 365 * 24 * time.Hour, engine.SweepReport{Records: 1}},
		{2*365*24*time.Hour + 24*time.Hour, engine.SweepReport{Records: 1}},
		{3 * 365 * 24 * time.Hour, engine.SweepReport{}},
	}
	for _, s := range steps {
		got, err := db.Sweep(ctx, t0.Add(s.at), r)
		if err != nil {
			t.Fatal(err)
		}
		if got != s.want {
			t.Fatalf("Sweep at t0+%v = %+v, want %+v", s.at, got, s.want)
		}
		switch s.at {
		case 30 * time.Minute:
			if _, err := db.FindMedia(ctx, ids.mediaExp); engine.ErrorCode(err) != engine.CodeResourceNotFound {
				t.Fatalf("expired media still there: %v", err)
			}
			if _, err := db.FindMedia(ctx, ids.media); err != nil {
				t.Fatalf("media swept early: %v", err)
			}
		case 72 * time.Hour:
			if _, err := db.FindBizToken(ctx, ids.token); engine.ErrorCode(err) != engine.CodeResourceNotFound {
				t.Fatalf("BizToken after 3 days: %v", err)
			}
		case 30 * 24 * time.Hour:
			rec, err := db.FindRecord(ctx, ids.rec1)
			if err != nil || rec.IDNumber != "" || rec.Name != "" || rec.Media != nil || rec.Sim != 91 {
				t.Fatalf("record after 30 days = %+v, %v; want identity erased, Sim kept", rec, err)
			}
			if rec, _ := db.FindRecord(ctx, ids.rec2); rec.Name != "张三" {
				t.Fatal("the younger record lost its identity early")
			}
			if ex, _ := db.ExportSubject(ctx, "11010519491231002X"); len(ex.Records) != 1 {
				t.Fatalf("subject index still lists %d records, want 1", len(ex.Records))
			}
		case 2 * 365 * 24 * time.Hour:
			if _, err := db.FindRecord(ctx, ids.rec1); engine.ErrorCode(err) != engine.CodeResourceNotFound {
				t.Fatalf("record after 2 years: %v", err)
			}
		}
	}
	logs, err := db.Sweeps(ctx, 0)
	// Seven sweeps deleted something; the two older than the monitoring
	// period at the last of them were trimmed.
	if err != nil || len(logs) != 5 {
		t.Fatalf("Sweeps = %d, %v; want 5 logged sweeps", len(logs), err)
	}
	if logs[0].Report.Records != 1 || !logs[0].At.Equal(t0.Add(2*365*24*time.Hour+24*time.Hour)) {
		t.Fatalf("newest sweep log = %+v", logs[0])
	}
}

func TestSweepZeroKeepsForeverAndCustomPeriods(t *testing.T) {
	db := mustOpenDB(t, Options{})
	t0 := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	seedRetention(t, db, t0)
	got, err := db.Sweep(ctx, t0.Add(100*365*24*time.Hour), engine.Retention{})
	if err != nil {
		t.Fatal(err)
	}
	// Only the media with its own ExpiresAt goes; zero periods keep the rest.
	if got != (engine.SweepReport{Media: 1}) {
		t.Fatalf("Sweep with zero retention = %+v", got)
	}
	got, _ = db.Sweep(ctx, t0.Add(25*time.Hour), engine.Retention{Media: time.Minute, Results: time.Hour, Identity: time.Hour, Monitor: 24 * time.Hour})
	if got != (engine.SweepReport{Media: 1, BizTokens: 1, Identities: 2, Records: 1}) {
		t.Fatalf("Sweep with short periods = %+v", got)
	}
}

func TestSweepLargeBacklogInChunks(t *testing.T) {
	db := mustOpenDB(t, Options{})
	t0 := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	const n = 2*sweepChunk + 17
	for i := 0; i < n; i++ {
		if err := db.CreateRecord(ctx, &engine.Record{Action: "A", Name: "n", CreatedAt: t0.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.Sweep(ctx, t0.Add(31*24*time.Hour), engine.DefaultRetention)
	if err != nil || got.Identities != n {
		t.Fatalf("Sweep = %+v, %v; want %d identities", got, err, n)
	}
}

func TestRunSweeperWithFakeClock(t *testing.T) {
	db := mustOpenDB(t, Options{})
	t0 := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	seedRetention(t, db, t0)
	clock := newFakeClock(t0)
	reports := make(chan engine.SweepReport, 10)
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() {
		done <- db.RunSweeper(cctx, time.Hour, clock, engine.DefaultRetention, func(r engine.SweepReport, err error) {
			if err != nil {
				t.Error(err)
			}
			reports <- r
		})
	}()
	next := func() engine.SweepReport {
		select {
		case r := <-reports:
			return r
		case <-time.After(5 * time.Second):
			t.Fatal("no sweep")
		}
		return engine.SweepReport{}
	}
	if r := next(); r != (engine.SweepReport{}) {
		t.Fatalf("first sweep at t0 = %+v", r)
	}
	var total engine.SweepReport
	for h := 1; h <= 73; h++ {
		<-clock.waiting // the sweeper is waiting for its next tick
		clock.Advance(time.Hour)
		r := next()
		total.Media += r.Media
		total.BizTokens += r.BizTokens
	}
	if total != (engine.SweepReport{Media: 2, BizTokens: 1}) {
		t.Fatalf("73 hourly sweeps deleted %+v, want 2 media and 1 BizToken", total)
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("RunSweeper returned %v", err)
	}
}

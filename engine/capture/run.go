package capture

import (
	"context"
	"errors"
	"sync"
	"time"

	"heshen/engine"
)

// RunStats measure one liveness run.
type RunStats struct {
	Analysed    int           // frames analysed
	AnalyzeTime time.Duration // wall time in FaceEngine.AnalyzeFrame
	FirstFrame  time.Time     // first frame handed to analysis (server receipt time)
	Decided     time.Time     // verdict
	Capture     Stats         // the session's counters at the verdict
}

// RunLiveness drives ls with the session's frames until it decides: it
// sends the challenge steps on the DataChannel when they are due, analyses
// the newest frame each time (stale ones are dropped by Next), and passes
// the page's acks on. The verdict comes only from decoded frames.
//
// It neither closes the session nor tells the page the result: the flow
// may still compare the best frame, then Send {"type":"result",…} and Close.
func RunLiveness(ctx context.Context, s *Session, fe engine.FaceEngine, ls *engine.LivenessSession) (*engine.LivenessVerdict, RunStats) {
	var st RunStats
	type result struct {
		f      engine.Frame
		a      *engine.Analysis
		err    error
		stream bool // err came from the stream, not from analysis
		took   time.Duration
	}
	ctx, cancel := context.WithCancel(ctx)
	results := make(chan result)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	opt := ls.AnalyzeOptions()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			f, err := s.Next(ctx)
			r := result{f: f, err: err, stream: err != nil}
			if err == nil {
				t0 := time.Now()
				r.a, r.err = fe.AnalyzeFrame(ctx, f, opt)
				r.took = time.Since(t0)
			}
			select {
			case results <- r:
			case <-ctx.Done():
				return
			}
			if r.stream {
				return
			}
		}
	}()

	finish := func(v *engine.LivenessVerdict) (*engine.LivenessVerdict, RunStats) {
		st.Decided = time.Now()
		st.Capture = s.Stats()
		return v, st
	}
	ready := s.Ready()
	isReady := false
	sendDue := func(now time.Time) error {
		if !isReady {
			return nil
		}
		for _, step := range ls.Due(now) {
			if err := s.Send(step); err != nil {
				return err
			}
		}
		return nil
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	engineErrs := 0
	for {
		var err error
		select {
		case <-ready:
			ready, isReady = nil, true
			err = sendDue(time.Now())
		case now := <-tick.C:
			if err = sendDue(now); err == nil {
				if v := ls.Tick(now); v != nil {
					return finish(v)
				}
			}
		case m := <-s.Messages():
			if m.Type == "ack" {
				ls.Ack(m.ID, m.At)
			}
		case r := <-results:
			if r.stream {
				err = r.err
				break
			}
			if r.err != nil {
				// Bad frames are skipped; an engine that keeps failing is not.
				if engineErrs++; engineErrs >= 5 {
					return finish(ls.Abort(time.Now(), engine.LiveEngineTimeout, r.err))
				}
				continue
			}
			engineErrs = 0
			if st.FirstFrame.IsZero() {
				st.FirstFrame = r.f.At
			}
			st.Analysed++
			st.AnalyzeTime += r.took
			if v := ls.Feed(r.f, r.a); v != nil {
				return finish(v)
			}
			err = sendDue(time.Now())
		case <-ctx.Done():
			err = ctx.Err()
		}
		if err != nil {
			code := engine.LiveNetwork
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				code = engine.LiveEngineTimeout
			}
			return finish(ls.Abort(time.Now(), code, err))
		}
	}
}

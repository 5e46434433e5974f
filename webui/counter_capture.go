package webui

import (
	"context"
	"sync"
	"time"

	"heshen/engine"
)

// counterCapture is the console's CounterCapture over the hosted flow's
// capture, liveness and comparison (records with Channel "counter").
type counterCapture struct {
	live *Live
	mu   sync.Mutex
	runs map[string]*counterRun
}

type counterRun struct {
	started time.Time
	done    bool
	res     *CounterResult
	err     error
}

func newCounterCapture(l *Live) *counterCapture {
	return &counterCapture{live: l, runs: map[string]*counterRun{}}
}

// Offer answers the counter page's offer and starts the verification.
func (cc *counterCapture) Offer(ctx context.Context, req CounterRequest, sdp string) (string, error) {
	l := cc.live
	if l.cfg.Capture == nil {
		return "", engine.Errorf(codeCaptureMissing, "本机未启用实时采集", "live capture is not enabled on this server")
	}
	if req.Rule == nil {
		return "", engine.Errorf(engine.CodeInvalidParameter, "缺少业务流程", "no flow given")
	}
	now := time.Now()
	cc.mu.Lock()
	for id, r := range cc.runs {
		if now.Sub(r.started) > counterTTL {
			delete(cc.runs, id)
		}
	}
	if r := cc.runs[req.SessionID]; r != nil && !r.done {
		cc.mu.Unlock()
		return "", engine.Errorf(engine.CodeUnsupportedOperation, "该柜台核验正在进行中", "this counter verification is already capturing")
	}
	run := &counterRun{started: now}
	cc.runs[req.SessionID] = run
	cc.mu.Unlock()
	answer, sess, err := l.cfg.Capture.Answer(ctx, sdp)
	if err != nil {
		cc.mu.Lock()
		delete(cc.runs, req.SessionID)
		cc.mu.Unlock()
		return "", err
	}
	l.start(sess, liveJob{channel: "counter", rule: req.Rule, appID: req.AppID, idNumber: req.IDNumber, name: req.Name,
		operator: req.Operator, done: func(o *engine.Outcome, err error) {
			cc.mu.Lock()
			defer cc.mu.Unlock()
			run.done, run.err = true, err
			if o != nil {
				run.res = &CounterResult{RecordID: o.Record.ID, Passed: o.Pass, ErrCode: o.Attempt.ErrCode, Result: o.Result,
					Sim: o.Attempt.Sim, LiveStatus: o.Attempt.LiveStatus, Message: o.Message, EN: o.EN, BestFrame: o.Attempt.BestFrame}
			}
		}})
	return answer, nil
}

// Result reports the verdict; done is false while the capture runs.
func (cc *counterCapture) Result(_ context.Context, sessionID string) (*CounterResult, bool, error) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	r := cc.runs[sessionID]
	if r == nil {
		return nil, false, notFoundErr("柜台核验", sessionID)
	}
	if !r.done {
		return nil, false, nil
	}
	if r.err != nil {
		e := engine.AsError(r.err)
		return &CounterResult{ErrCode: engine.LiveEngineTimeout, Result: e.Code, Message: "核验未完成：" + e.Message, EN: "not completed: " + e.EN}, true, nil
	}
	return r.res, true, nil
}

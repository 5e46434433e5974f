package webui

import (
	"context"
	"time"

	"heshen/engine"
	"heshen/engine/capture"
)

// liveJob is one capture to run: an H5 attempt (page set) or a counter
// verification.
type liveJob struct {
	channel  string
	page     *engine.Page // h5
	rule     *engine.Rule
	appID    string
	idNumber string // counter
	name     string
	operator string
	release  func()
	// done receives the outcome (nil with err when the attempt was not
	// recorded, e.g. at shutdown).
	done func(*engine.Outcome, error)
}

// tapFaces records each analysed frame for the clip on its way to the engine.
type tapFaces struct {
	engine.FaceEngine
	rec *engine.ClipRecorder
}

func (t tapFaces) AnalyzeFrame(ctx context.Context, f engine.Frame, opt engine.AnalyzeOptions) (*engine.Analysis, error) {
	if t.rec != nil {
		t.rec.Add(f)
	}
	return t.FaceEngine.AnalyzeFrame(ctx, f, opt)
}

func (l *Live) start(sess *capture.Session, j liveJob) {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		l.run(sess, j)
	}()
}

// resultMsg is the DataChannel's final message to the page.
type resultMsg struct {
	Type         string  `json:"type"` // "result"
	Pass         bool    `json:"pass"`
	ErrCode      int     `json:"err_code"`
	Message      string  `json:"message"`
	EN           string  `json:"message_en"`
	Sim          float64 `json:"sim,omitempty"`
	Retry        bool    `json:"retry"`
	AttemptsLeft int     `json:"attempts_left"`
	Redirect     string  `json:"redirect,omitempty"`
}

// run drives liveness on the session's frames, records the clip,
// concludes the attempt and tells the page.
func (l *Live) run(sess *capture.Session, j liveJob) {
	defer sess.Close()
	if j.release != nil {
		defer j.release()
	}
	finish := func(o *engine.Outcome, err error) {
		if j.done != nil {
			j.done(o, err)
		}
	}
	cfg := engine.LivenessConfig{Mode: j.rule.LivenessMode}
	if cfg.Mode == engine.LivenessUnknown {
		cfg.Mode = engine.LivenessSilent
	}
	if l.cfg.Liveness != nil {
		l.cfg.Liveness(&cfg)
	}
	ls, err := engine.NewLivenessSession(cfg)
	if err != nil {
		e := engine.AsError(err)
		l.tell(sess, resultMsg{Type: "result", ErrCode: engine.LiveEngineTimeout, Message: e.Message, EN: e.EN})
		finish(nil, err)
		return
	}
	var rec *engine.ClipRecorder
	if !l.cfg.NoClip {
		rec = &engine.ClipRecorder{}
	}
	started := time.Now()
	v, st := capture.RunLiveness(l.ctx, sess, tapFaces{l.cfg.Faces, rec}, ls)
	if l.ctx.Err() != nil {
		// Shutting down: the citizen is not charged an attempt.
		l.tell(sess, resultMsg{Type: "result", ErrCode: engine.FlowUnfinished, Retry: true,
			Message: "服务正在重启，请稍后重试", EN: "the service is restarting; please try again shortly"})
		finish(nil, l.ctx.Err())
		return
	}
	rep := RunReport{Channel: j.channel, Mode: cfg.Mode, Pass: v.Pass, ErrCode: v.ErrCode, Analysed: st.Analysed,
		AnalyzeTime: st.AnalyzeTime, Decoded: st.Capture.Decoded, DecodeCPU: st.Capture.DecodeCPU}
	if !st.FirstFrame.IsZero() {
		rep.FirstToVerdict = st.Decided.Sub(st.FirstFrame)
	}
	stages := []engine.Stage{{Name: "capture", Ms: ms(st.Decided.Sub(started))}}
	if !st.Capture.FirstFrame.IsZero() {
		stages = append(stages, engine.Stage{Name: "connect", Ms: ms(st.Capture.FirstFrame.Sub(st.Capture.Started))})
	}
	stages = append(stages, engine.Stage{Name: "liveness", Ms: ms(rep.FirstToVerdict)})
	var clip []byte
	if rec != nil && rec.Len() > 0 {
		t0 := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		clip, err = rec.EncodeMP4(ctx, l.cfg.FFmpeg)
		cancel()
		rep.ClipTime, rep.ClipFrames, rep.ClipBytes = time.Since(t0), rec.Len(), len(clip)
		stages = append(stages, engine.Stage{Name: "clip", Ms: ms(rep.ClipTime)})
		if err != nil {
			l.cfg.Logger.Warn("live capture: clip not recorded", "err", err)
		}
	}
	la := engine.LiveAttempt{Channel: j.channel, Rule: j.rule, AppID: j.appID, IDNumber: j.idNumber, Name: j.name,
		Operator: j.operator, Verdict: v, Clip: clip, Stages: stages, RequestID: sess.ID()}
	if j.page != nil {
		la.Token = j.page.Token
	}
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	out, err := l.cfg.Detector.Conclude(ctx, la)
	cancel()
	rep.ConcludeTime = time.Since(t0)
	if err != nil {
		l.cfg.Logger.Error("live capture: attempt not recorded", "err", err)
		e := engine.AsError(err)
		l.tell(sess, resultMsg{Type: "result", ErrCode: engine.LiveEngineTimeout, Retry: true, Message: "系统繁忙，请重试", EN: "internal error: " + e.EN})
		finish(nil, err)
		return
	}
	msg := resultMsg{Type: "result", Pass: out.Pass, ErrCode: out.Attempt.ErrCode, Message: out.Message, EN: out.EN,
		Sim: out.Attempt.Sim, AttemptsLeft: out.AttemptsLeft, Retry: !out.Final}
	if out.Final && la.Token != nil {
		msg.Redirect = engine.RedirectTarget(la.Token)
	}
	l.tell(sess, msg)
	finish(out, nil)
	if l.cfg.OnRun != nil {
		l.cfg.OnRun(rep)
	}
}

// tell sends the result and gives it a moment to reach the page before
// the connection closes.
func (l *Live) tell(sess *capture.Session, m resultMsg) {
	if sess.Send(m) == nil {
		select {
		case <-time.After(300 * time.Millisecond):
		case <-sess.Done():
		}
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

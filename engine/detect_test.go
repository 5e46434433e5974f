package engine_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"net/url"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"heshen/engine"
	"heshen/store"
)

// detectFaces is a face engine whose photos' embeddings are named by their
// bytes ("a", "b", … are unit vectors; "noface" has none).
type detectFaces struct{}

func unitVec(i int) []float32 {
	v := make([]float32, engine.EmbeddingSize)
	v[i] = 1
	return v
}

func (detectFaces) Analyze(_ context.Context, img []byte, _ engine.AnalyzeOptions) (*engine.Analysis, error) {
	if string(img) == "noface" || len(img) == 0 {
		return &engine.Analysis{Chosen: -1}, nil
	}
	return &engine.Analysis{Chosen: 0, Faces: []engine.Face{{Embedding: unitVec(int(img[0]) % engine.EmbeddingSize)}}}, nil
}

func (detectFaces) AnalyzeFrame(context.Context, engine.Frame, engine.AnalyzeOptions) (*engine.Analysis, error) {
	return nil, errors.New("not used")
}

func (detectFaces) EncodeJPEG(engine.Frame, int) ([]byte, error) {
	return []byte{0xFF, 0xD8, 0xFF, 'j'}, nil
}

type detectEnv struct {
	t     *testing.T
	db    *store.DB
	d     *engine.Detector
	now   time.Time
	appID string
	ctx   context.Context
}

func newDetectEnv(t *testing.T) *detectEnv {
	db, err := store.Open(filepath.Join(t.TempDir(), "heshen.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &detectEnv{t: t, db: db, now: time.Now().UTC(), ctx: context.Background()}
	e.d, err = engine.NewDetector(engine.DetectorOptions{Faces: detectFaces{}, Store: db, Now: func() time.Time { return e.now }})
	if err != nil {
		t.Fatal(err)
	}
	app := &engine.App{Name: "t"}
	if err := db.CreateApp(e.ctx, app); err != nil {
		t.Fatal(err)
	}
	e.appID = app.ID
	if err := db.PutIdentity(e.ctx, &engine.Identity{IDNumber: "11010519491231002X", Name: "张三", Embedding: unitVec('a')}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *detectEnv) rule(r engine.Rule) *engine.Rule {
	e.t.Helper()
	if r.AppID == "" {
		r.AppID = e.appID
	}
	if err := e.db.CreateRule(e.ctx, &r); err != nil {
		e.t.Fatal(err)
	}
	return &r
}

func code(err error) string { return engine.ErrorCode(err) }

// verdict is a liveness verdict; pass with a best frame whose embedding is emb.
func verdict(pass bool, emb []float32) *engine.LivenessVerdict {
	v := &engine.LivenessVerdict{Mode: engine.LivenessSilent, Pass: pass, ErrCode: engine.LiveOK, Code: "Success", Message: "活体检测通过", Sequence: "5"}
	if !pass {
		v.ErrCode, v.Code, v.Message = engine.LiveFakeRecording, "FailedOperation.LivessDetectFake", "疑似非真人"
	}
	if emb != nil {
		v.Best = &engine.LivenessFrame{Frame: engine.Frame{Width: 2, Height: 2, BGR: make([]byte, 12)}, Face: engine.Face{Embedding: emb}}
	}
	return v
}

func TestDetectStart(t *testing.T) {
	e := newDetectEnv(t)
	gallery := e.rule(engine.Rule{LivenessMode: engine.LivenessSilent, CompareSource: engine.CompareGallery})
	photo := e.rule(engine.Rule{LivenessMode: engine.LivenessSilent, CompareSource: engine.ComparePhoto, RedirectURL: "https://rule.example/back"})
	off := e.rule(engine.Rule{LivenessMode: engine.LivenessSilent, CompareSource: engine.CompareNone, Disabled: true})
	other := &engine.App{Name: "other"}
	e.db.CreateApp(e.ctx, other)
	foreign := e.rule(engine.Rule{AppID: other.ID, CompareSource: engine.CompareNone})

	for _, c := range []struct {
		req  engine.DetectAuthRequest
		want string
	}{
		{engine.DetectAuthRequest{RuleID: "77"}, engine.CodeRuleNotExist},
		{engine.DetectAuthRequest{RuleID: foreign.ID}, engine.CodeRuleNotExist},
		{engine.DetectAuthRequest{RuleID: off.ID}, engine.CodeRuleDisabled},
		{engine.DetectAuthRequest{RuleID: gallery.ID}, engine.CodeMissingParameter},
		{engine.DetectAuthRequest{RuleID: gallery.ID, IDNumber: "11010519491231002X"}, engine.CodeMissingParameter},
		{engine.DetectAuthRequest{RuleID: gallery.ID, IDNumber: "110105194912310021", Name: "张三"}, engine.CodeInvalidParameterValue},
		{engine.DetectAuthRequest{RuleID: gallery.ID, IDNumber: "11010519491231002X", Name: "张三", RedirectURL: "data:text/html,x"}, engine.CodeInvalidParameterValue},
		{engine.DetectAuthRequest{RuleID: photo.ID}, engine.CodeMissingParameter},
		{engine.DetectAuthRequest{RuleID: photo.ID, Image: []byte("noface")}, engine.CodeNoFaces},
	} {
		c.req.AppID = e.appID
		if _, _, err := e.d.Start(e.ctx, c.req); code(err) != c.want {
			t.Errorf("%+v: got %v, want %s", c.req, err, c.want)
		}
	}
	tok, _, err := e.d.Start(e.ctx, engine.DetectAuthRequest{AppID: e.appID, RuleID: photo.ID, Image: []byte("photo"), Extra: "x y"})
	if err != nil {
		t.Fatal(err)
	}
	if tok.Token == "" || tok.ExpiresAt.Sub(tok.CreatedAt) != engine.DefaultTokenTTL || tok.RedirectURL != "https://rule.example/back" {
		t.Fatalf("token %+v", tok)
	}
	m, err := e.db.FindMedia(e.ctx, tok.PhotoMedia)
	if err != nil || string(m.Data) != "photo" || !m.ExpiresAt.Equal(tok.ExpiresAt.Add(engine.DefaultRetention.Media)) {
		t.Fatalf("photo media %+v %v", m, err)
	}
	u, _ := url.Parse(engine.RedirectTarget(tok))
	if u.Host != "rule.example" || u.Query().Get("token") != tok.Token || u.Query().Get("Extra") != "x y" {
		t.Errorf("redirect %s", u)
	}
}

func TestDetectAttempts(t *testing.T) {
	e := newDetectEnv(t)
	g := e.rule(engine.Rule{LivenessMode: engine.LivenessSilent, CompareSource: engine.CompareGallery, MaxRetries: 5, SimThreshold: 80})
	start := func(id, name string) *engine.BizToken {
		t.Helper()
		tok, _, err := e.d.Start(e.ctx, engine.DetectAuthRequest{AppID: e.appID, RuleID: g.ID, IDNumber: id, Name: name})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	attempt := func(tok *engine.BizToken, v *engine.LivenessVerdict) *engine.Outcome {
		t.Helper()
		p, release, err := e.d.Begin(e.ctx, tok.Token)
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		out, err := e.d.Conclude(e.ctx, engine.LiveAttempt{Channel: "h5", Token: p.Token, Rule: p.Rule, AppID: e.appID, Verdict: v, Clip: []byte("mp4")})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	// Near but not the same face: Sim between the rule's 80 and 70.
	c75 := engine.CosineFromSim(75)
	near := unitVec('a')
	near['a'], near[1] = float32(c75), float32(math.Sqrt(1-c75*c75))
	for _, c := range []struct {
		id, name   string
		v          *engine.LivenessVerdict
		code, live int
		compared   bool
	}{
		{"11010519491231002X", "张三", verdict(true, unitVec('a')), 0, 0, true},
		{"11010519491231002X", "张三", verdict(false, unitVec('a')), engine.LiveFakeRecording, engine.LiveFakeRecording, false},
		{"11010519491231002X", "李四", verdict(true, unitVec('a')), engine.CompareMismatch, 0, true},
		{"440308199901101512", "李四", verdict(true, unitVec('a')), engine.CompareNotFound, 0, true},
		{"11010519491231002X", "张三", verdict(true, unitVec('b')), engine.CompareLowSim, 0, true},
		{"11010519491231002X", "张三", verdict(true, near), engine.CompareLowSim, 0, true},
		{"11010519491231002X", "张三", verdict(true, nil), engine.CompareNoFace, 0, true},
	} {
		tok := start(c.id, c.name)
		out := attempt(tok, c.v)
		a := out.Attempt
		if a.ErrCode != c.code || a.LiveStatus != c.live || a.Compared != c.compared || out.Pass != (c.code == 0) {
			t.Errorf("%s %s pass=%v: got %+v", c.id, c.name, c.v.Pass, a)
		}
		if c.code == 0 && (a.Sim < 90 || !out.Final || a.BestFrame == "" || a.Video == "") {
			t.Errorf("pass: %+v final=%v", a, out.Final)
		}
		rec, err := e.db.FindRecord(e.ctx, out.Record.ID)
		if err != nil || rec.BizToken != tok.Token || rec.ErrCode != c.code || rec.Channel != "h5" || rec.RuleID != g.ID {
			t.Errorf("record %+v %v (token %s rule %s)", rec, err, tok.Token, g.ID)
		}
	}
}

func TestDetectTokenStates(t *testing.T) {
	e := newDetectEnv(t)
	r := e.rule(engine.Rule{LivenessMode: engine.LivenessAction, CompareSource: engine.CompareNone, MaxRetries: 1})
	tok, _, err := e.d.Start(e.ctx, engine.DetectAuthRequest{AppID: e.appID, RuleID: r.ID, Extra: "e"})
	if err != nil {
		t.Fatal(err)
	}
	info, err := e.d.Info(e.ctx, e.appID, tok.Token, r.ID, engine.InfoWant{BestFrames: true, Videos: true})
	if err != nil || info.ErrCode != engine.FlowUnfinished || info.Final != nil {
		t.Fatalf("before any attempt: %+v %v", info, err)
	}
	if _, err := e.d.Info(e.ctx, "other-app", tok.Token, r.ID, engine.InfoWant{}); code(err) != engine.CodeBizTokenBad {
		t.Errorf("another app's token: %v", err)
	}
	if _, err := e.d.Info(e.ctx, e.appID, tok.Token, "999", engine.InfoWant{}); code(err) != engine.CodeRuleNotExist {
		t.Errorf("wrong rule: %v", err)
	}
	// One capture at a time.
	p, release, err := e.d.Begin(e.ctx, tok.Token)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.d.Begin(e.ctx, tok.Token); err == nil {
		t.Error("a second capture of the same token began")
	}
	out, err := e.d.Conclude(e.ctx, engine.LiveAttempt{Channel: "h5", Token: p.Token, Rule: p.Rule, AppID: e.appID, Verdict: verdict(false, unitVec(3))})
	release()
	if err != nil || out.Final || out.AttemptsLeft != 1 || out.Attempt.Seq != 1 || out.Attempt.Compared {
		t.Fatalf("first failure: %+v %v", out, err)
	}
	p, release, err = e.d.Begin(e.ctx, tok.Token)
	if err != nil {
		t.Fatal(err)
	}
	out, err = e.d.Conclude(e.ctx, engine.LiveAttempt{Channel: "h5", Token: p.Token, Rule: p.Rule, AppID: e.appID, Verdict: verdict(false, unitVec(3)), Clip: []byte("v2")})
	release()
	if err != nil || !out.Final || out.Attempt.Seq != 2 {
		t.Fatalf("second failure: %+v %v", out, err)
	}
	if _, err := e.d.Open(e.ctx, tok.Token); engine.AsFlowStop(err) == nil || engine.AsFlowStop(err).ErrCode != engine.FlowRetryLimit {
		t.Errorf("after the last retry: %v", err)
	}
	info, err = e.d.Info(e.ctx, e.appID, tok.Token, r.ID, engine.InfoWant{BestFrames: true, Videos: true})
	if err != nil || info.ErrCode != engine.LiveFakeRecording || len(info.BestFrames) != 2 || string(info.Videos[1]) != "v2" || info.Videos[0] != nil {
		t.Fatalf("results: %+v %v", info, err)
	}
	// One record for the token, updated with its last attempt and both attempts' media.
	recs, n, _ := e.db.FindRecords(e.ctx, engine.RecordFilter{RuleID: r.ID})
	if n != 1 || len(recs[0].Media) != 3 {
		t.Errorf("records %d %+v", n, recs)
	}
	// Media gone after their period: results still there, media not.
	e.now = e.now.Add(engine.DefaultRetention.Media + time.Minute)
	info, _ = e.d.Info(e.ctx, e.appID, tok.Token, r.ID, engine.InfoWant{BestFrames: true, Videos: true})
	if info.BestFrames[0] != nil || info.Videos[1] != nil || info.ErrCode != engine.LiveFakeRecording {
		t.Errorf("media after retention: %+v", info)
	}

	// Passed → 14; never used and past its TTL → 15 (page and results).
	tok2, _, _ := e.d.Start(e.ctx, engine.DetectAuthRequest{AppID: e.appID, RuleID: r.ID})
	p, release, _ = e.d.Begin(e.ctx, tok2.Token)
	v := verdict(true, unitVec(3))
	v.Mode, v.Sequence = engine.LivenessAction, "2,1"
	out, err = e.d.Conclude(e.ctx, engine.LiveAttempt{Channel: "h5", Token: p.Token, Rule: p.Rule, AppID: e.appID, Verdict: v})
	release()
	if err != nil || !out.Pass || out.Attempt.Compared || out.Attempt.Sequence != "2,1" {
		t.Fatalf("liveness-only pass: %+v %v", out, err)
	}
	if _, err := e.d.Open(e.ctx, tok2.Token); engine.AsFlowStop(err) == nil || engine.AsFlowStop(err).ErrCode != engine.FlowCompleted {
		t.Errorf("after a pass: %v", err)
	}
	tok3, _, _ := e.d.Start(e.ctx, engine.DetectAuthRequest{AppID: e.appID, RuleID: r.ID})
	e.now = e.now.Add(engine.DefaultTokenTTL)
	if _, err := e.d.Open(e.ctx, tok3.Token); engine.AsFlowStop(err) == nil || engine.AsFlowStop(err).ErrCode != engine.FlowExpired {
		t.Errorf("expired: %v", err)
	}
	if info, _ := e.d.Info(e.ctx, e.appID, tok3.Token, r.ID, engine.InfoWant{}); info.ErrCode != engine.FlowExpired {
		t.Errorf("expired result %d", info.ErrCode)
	}
	if _, err := e.d.Open(e.ctx, "NO-SUCH-TOKEN"); code(err) != engine.CodeResourceNotFound {
		t.Errorf("unknown token: %v", err)
	}
}

func TestDetectTypedIdentityAndCounter(t *testing.T) {
	e := newDetectEnv(t)
	r := e.rule(engine.Rule{LivenessMode: engine.LivenessSilent, CompareSource: engine.CompareGallery, IdentityTyped: true})
	tok, _, err := e.d.Start(e.ctx, engine.DetectAuthRequest{AppID: e.appID, RuleID: r.ID})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := e.d.Open(e.ctx, tok.Token); err != nil || !p.NeedIdentity {
		t.Fatalf("typed identity not asked: %+v %v", p, err)
	}
	if _, _, err := e.d.Begin(e.ctx, tok.Token); err == nil {
		t.Error("capture began without the identity")
	}
	if err := e.d.SetIdentity(e.ctx, tok.Token, "110105194912310021", "张三"); err == nil {
		t.Error("a bad ID number was accepted")
	}
	if err := e.d.SetIdentity(e.ctx, tok.Token, "11010519491231002x", "张三"); err != nil {
		t.Fatal(err)
	}
	p, release, err := e.d.Begin(e.ctx, tok.Token)
	if err != nil || p.Token.IDNumber != "11010519491231002X" {
		t.Fatalf("begin: %+v %v", p, err)
	}
	if err := e.d.SetIdentity(e.ctx, tok.Token, "440308199901101512", "李四"); err == nil {
		t.Error("the identity changed during a capture")
	}
	release()

	// A photo flow whose photo has been swept: 2008.
	pr := e.rule(engine.Rule{LivenessMode: engine.LivenessSilent, CompareSource: engine.ComparePhoto})
	ptok, _, err := e.d.Start(e.ctx, engine.DetectAuthRequest{AppID: e.appID, RuleID: pr.ID, Image: []byte("a-photo")})
	if err != nil {
		t.Fatal(err)
	}
	e.db.DeleteMedia(e.ctx, ptok.PhotoMedia)
	out, err := e.d.Conclude(e.ctx, engine.LiveAttempt{Channel: "h5", Token: ptok, Rule: pr, AppID: e.appID, Verdict: verdict(true, unitVec('a'))})
	if err != nil || out.Attempt.ErrCode != engine.CompareNoSource {
		t.Errorf("swept photo: %+v %v", out, err)
	}

	// Counter: no token, the operator's record.
	out, err = e.d.Conclude(e.ctx, engine.LiveAttempt{Channel: "counter", Rule: r, AppID: e.appID, IDNumber: "11010519491231002X", Name: "张三",
		Operator: "clerk", Verdict: verdict(true, unitVec('a'))})
	if err != nil || !out.Pass || out.Record.Channel != "counter" || out.Record.CreatedBy != "clerk" || out.Record.BizToken != "" {
		t.Fatalf("counter: %+v %v", out, err)
	}
}

func TestClipRecorder(t *testing.T) {
	rec := &engine.ClipRecorder{}
	t0 := time.Now()
	for i := range 60 { // 2 s at 30 fps
		f := engine.Frame{Width: 640, Height: 480, BGR: bytes.Repeat([]byte{byte(i * 4), 128, 200}, 640*480), At: t0.Add(time.Duration(i) * time.Second / 30)}
		rec.Add(f)
	}
	if n := rec.Len(); n < 9 || n > 11 {
		t.Fatalf("kept %d frames of 2 s at 5 fps", n)
	}
	rec.Add(engine.Frame{Width: 10, Height: 10, BGR: []byte{1}}) // short buffer: ignored
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed")
	}
	mp4, err := rec.EncodeMP4(context.Background(), "")
	if err != nil || len(mp4) < 200 || !bytes.Contains(mp4[:16], []byte("ftyp")) {
		t.Fatalf("clip: %d bytes, %v", len(mp4), err)
	}
	if b, err := (&engine.ClipRecorder{}).EncodeMP4(context.Background(), ""); b != nil || err != nil {
		t.Errorf("empty recorder: %v %v", b, err)
	}
}

package webui_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	faceid "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/faceid/v20180301"

	"heshen/engine"
	"heshen/engine/capture"
	"heshen/engine/eligibility"
	"heshen/store"
	"heshen/webui"
)

// liveEnv is a server with the hosted flow, live capture on loopback and
// the console (counter mode over the same capture).
type liveEnv struct {
	*harness
	live    *webui.Live
	cap     *capture.Server
	con     *webui.Console
	adminPW string
	mu      sync.Mutex
	reports []webui.RunReport
}

func newLiveEnv(t *testing.T, withCapture bool) *liveEnv {
	t.Helper()
	le := &liveEnv{}
	var once sync.Once
	le.harness = newHarness(t, func(o *webui.Options) {
		db := o.Store.(*store.DB)
		faces, keys := shared(t)
		det, err := engine.NewDetector(engine.DetectorOptions{Faces: faces, Store: db})
		if err != nil {
			t.Fatal(err)
		}
		lc := webui.LiveConfig{Faces: faces, Detector: det, Liveness: func(c *engine.LivenessConfig) {
			// A fixed challenge the clip cannot follow (blink, open mouth...):
			// with a random one, its natural nods and turns sometimes pass.
			if c.Mode == engine.LivenessAction {
				c.Rand = rand.New(rand.NewPCG(1, 1))
			}
		}, OnRun: func(r webui.RunReport) {
			le.mu.Lock()
			le.reports = append(le.reports, r)
			le.mu.Unlock()
		}}
		if withCapture {
			le.cap, err = capture.New(capture.Options{UDPAddr: "127.0.0.1:0", Loopback: true})
			if err != nil {
				t.Fatal(err)
			}
			lc.Capture = le.cap
		}
		if le.live, err = webui.NewLive(lc); err != nil {
			t.Fatal(err)
		}
		checker, err := eligibility.Load("")
		if err != nil {
			t.Fatal(err)
		}
		le.con, err = webui.NewConsole(context.Background(), webui.ConsoleConfig{Store: db, Faces: faces, Keys: keys, Checker: checker,
			BcryptCost: 4, Counter: le.live.Counter(),
			PrintAdminPassword: func(_, pw string) { once.Do(func() { le.adminPW = pw }) }})
		if err != nil {
			t.Fatal(err)
		}
		o.Live, o.Console = le.live, le.con
	})
	// Registered after the harness's cleanup, so it runs first: captures
	// end before the store closes.
	t.Cleanup(func() {
		le.live.Close()
		if le.cap != nil {
			le.cap.Close()
		}
	})
	return le
}

func (le *liveEnv) rule(r engine.Rule) string {
	le.t.Helper()
	r.AppID = le.appID
	if r.Name == "" {
		r.Name = fmt.Sprintf("mode %d", r.LivenessMode)
	}
	if err := le.db.CreateRule(context.Background(), &r); err != nil {
		le.t.Fatal(err)
	}
	return r.ID
}

func (le *liveEnv) detectAuth(params map[string]any) (string, string, error) {
	le.t.Helper()
	out, err := le.call(le.sdk(), "DetectAuth", params)
	if err != nil {
		return "", "", err
	}
	return out["BizToken"].(string), out["Url"].(string), nil
}

// pageInfo GETs /h5/{token}/info.
func (le *liveEnv) pageInfo(token string) (int, map[string]any) {
	le.t.Helper()
	r, err := http.Get("http://" + le.addr + "/h5/" + token + "/info")
	if err != nil {
		le.t.Fatal(err)
	}
	defer r.Body.Close()
	var out map[string]any
	json.NewDecoder(r.Body).Decode(&out)
	return r.StatusCode, out
}

func errCodeOf(m map[string]any) float64 {
	e, _ := m["error"].(map[string]any)
	n, _ := e["err_code"].(float64)
	return n
}

// TestH5Errors: DetectAuth's refusals and the page's token checks, without
// a browser.
func TestH5Errors(t *testing.T) {
	le := newLiveEnv(t, false)
	ctx := context.Background()
	gallery := le.rule(engine.Rule{LivenessMode: engine.LivenessSilent, CompareSource: engine.CompareGallery, MaxRetries: 1})
	photo := le.rule(engine.Rule{LivenessMode: engine.LivenessSilent, CompareSource: engine.ComparePhoto})
	off := le.rule(engine.Rule{LivenessMode: engine.LivenessSilent, CompareSource: engine.CompareNone, Disabled: true})
	other := &engine.App{Name: "other"}
	le.db.CreateApp(ctx, other)
	foreign := &engine.Rule{AppID: other.ID, LivenessMode: engine.LivenessSilent, CompareSource: engine.CompareNone}
	le.db.CreateRule(ctx, foreign)

	for _, c := range []struct {
		params map[string]any
		code   string
	}{
		{map[string]any{}, "MissingParameter"},
		{map[string]any{"RuleId": "999"}, engine.CodeRuleNotExist},
		{map[string]any{"RuleId": foreign.ID}, engine.CodeRuleNotExist},
		{map[string]any{"RuleId": off}, engine.CodeRuleDisabled},
		{map[string]any{"RuleId": gallery}, "MissingParameter"},
		{map[string]any{"RuleId": gallery, "IdCard": "110105194912310021", "Name": obamaName}, "InvalidParameterValue"},
		{map[string]any{"RuleId": gallery, "IdCard": obamaID, "Name": obamaName, "RedirectUrl": "javascript:alert(1)"}, "InvalidParameterValue"},
		{map[string]any{"RuleId": photo}, "MissingParameter"},
		{map[string]any{"RuleId": photo, "ImageBase64": b64(noFacePNG(t))}, engine.CodeNoFaces},
		{map[string]any{"RuleId": gallery, "IdCard": obamaID, "Name": obamaName, "Extra": strings.Repeat("x", 1025)}, "InvalidParameterValue"},
	} {
		if _, _, err := le.detectAuth(c.params); err == nil || sdkCode(t, err) != c.code {
			t.Errorf("DetectAuth %v: got %v, want %s", c.params["RuleId"], err, c.code)
		}
	}

	tok, url, err := le.detectAuth(map[string]any{"RuleId": gallery, "IdCard": strings.ToLower(obamaID), "Name": obamaName,
		"RedirectUrl": "https://example.com/back?x=1", "Extra": "order-7"})
	if err != nil {
		t.Fatal(err)
	}
	if url != "http://"+le.addr+"/h5/"+tok {
		t.Errorf("Url %s", url)
	}
	bt, err := le.db.FindBizToken(ctx, tok)
	if err != nil || bt.IDNumber != obamaID || bt.ExpiresAt.Sub(bt.CreatedAt) != 7200*time.Second {
		t.Fatalf("token %+v %v", bt, err)
	}
	if st, info := le.pageInfo(tok); st != 200 || info["attempts_left"] != 2.0 || info["capture"] != false {
		t.Errorf("info %d %v", st, info)
	}
	// The page itself, with its CSP.
	r, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 200 || !strings.Contains(r.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("page %d %v", r.StatusCode, r.Header)
	}
	// No capture on this server: the offer says so.
	req, _ := http.NewRequest("POST", "http://"+le.addr+"/h5/"+tok+"/offer", strings.NewReader(`{"sdp":"v=0"}`))
	req.Header.Set("X-Heshen-Consent", "agree")
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != 503 {
		t.Errorf("offer without capture: %v %v", r, err)
	}

	// Results before any attempt: 17 (unfinished).
	res, err := le.call(le.sdk(), "GetDetectInfoEnhanced", map[string]any{"BizToken": tok, "RuleId": gallery, "InfoType": "0"})
	if err != nil {
		t.Fatal(err)
	}
	text := res["Text"].(map[string]any)
	if text["ErrCode"] != 17.0 || text["Extra"] != "order-7" || text["IdCard"] != obamaID || text["LiveStatus"] != nil {
		t.Errorf("unfinished text %v", text)
	}
	for _, c := range []struct {
		params map[string]any
		code   string
	}{
		{map[string]any{"BizToken": "NOPE-0000-0000", "RuleId": gallery}, engine.CodeBizTokenBad},
		{map[string]any{"BizToken": tok, "RuleId": photo}, engine.CodeRuleNotExist},
		{map[string]any{"BizToken": tok}, "MissingParameter"},
		{map[string]any{"BizToken": tok, "RuleId": gallery, "InfoType": "9"}, "InvalidParameterValue"},
	} {
		if _, err := le.call(le.sdk(), "GetDetectInfoEnhanced", c.params); err == nil || sdkCode(t, err) != c.code {
			t.Errorf("GetDetectInfoEnhanced %v: %v, want %s", c.params, err, c.code)
		}
	}

	// A flow whose citizen types the identity: the page asks for it first.
	typed := le.rule(engine.Rule{LivenessMode: engine.LivenessSilent, CompareSource: engine.CompareGallery, IdentityTyped: true, GuardianConsent: true})
	ttok, _, err := le.detectAuth(map[string]any{"RuleId": typed})
	if err != nil {
		t.Fatal(err)
	}
	if st, info := le.pageInfo(ttok); st != 200 || info["need_identity"] != true || info["guardian"] != true {
		t.Errorf("typed flow info %d %v", st, info)
	}
	post := func(path, body string, hdr map[string]string) int {
		req, _ := http.NewRequest("POST", "http://"+le.addr+"/h5/"+ttok+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r.StatusCode
	}
	if st := post("/identity", `{"name":"奥巴马","id_number":"110105194912310021"}`, nil); st != 400 {
		t.Errorf("bad typed ID number: %d", st)
	}
	if st := post("/identity", `{"name":"奥巴马","id_number":"11010519491231002x"}`, nil); st != 200 {
		t.Errorf("typed identity: %d", st)
	}
	if st, info := le.pageInfo(ttok); st != 200 || info["need_identity"] != false {
		t.Errorf("after typing: %d %v", st, info)
	}

	// Unknown, then expired (15).
	if st, _ := le.pageInfo("00000000-0000-0000-0000-000000000000"); st != 404 {
		t.Errorf("unknown token: %d", st)
	}
	bt.ExpiresAt = time.Now().Add(-time.Second)
	le.db.PutBizToken(ctx, bt)
	if st, info := le.pageInfo(tok); st != 410 || errCodeOf(info) != engine.FlowExpired {
		t.Errorf("expired token: %d %v", st, info)
	}
	res, _ = le.call(le.sdk(), "GetDetectInfoEnhanced", map[string]any{"BizToken": tok, "RuleId": gallery, "InfoType": "1"})
	if res["Text"].(map[string]any)["ErrCode"] != 15.0 || res["BestFrame"] != nil {
		t.Errorf("expired result %v", res)
	}
	// The SDK's own models parse the answer.
	req2 := faceid.NewGetDetectInfoRequest()
	req2.BizToken, req2.RuleId, req2.InfoType = &tok, &gallery, ptr("0")
	old, err := le.sdk().GetDetectInfo(req2)
	if err != nil {
		t.Fatal(err)
	}
	var legacy struct{ Text struct{ ErrCode int } }
	if err := json.Unmarshal([]byte(*old.Response.DetectInfo), &legacy); err != nil || legacy.Text.ErrCode != 15 {
		t.Errorf("GetDetectInfo %s %v", *old.Response.DetectInfo, err)
	}
}

// testdata helpers for the live tests.

func ffmpegRun(t *testing.T, args ...string) {
	t.Helper()
	bin, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skip("ffmpeg not installed")
	}
	out, err := exec.Command(bin, append([]string{"-hide_banner", "-loglevel", "error", "-y"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
	}
}

// clipFiles makes the fake camera (the clip's close-up of one speaker,
// 3.6–7.8 s, as 640×480 Y4M) and a still of the same person from later in
// the clip to compare with.
func clipFiles(t *testing.T) (y4m, photo string) {
	t.Helper()
	clip := filepath.Join(testdataDir(t), "video", "short_hamilton_clip.mp4")
	dir := t.TempDir()
	y4m, photo = filepath.Join(dir, "cam.y4m"), filepath.Join(dir, "photo.jpg")
	ffmpegRun(t, "-ss", "3.6", "-i", clip, "-t", "4.2", "-an", "-vf", "scale=640:360,pad=640:480:0:60,fps=30,format=yuv420p", "-f", "yuv4mpegpipe", y4m)
	ffmpegRun(t, "-ss", "7.2", "-i", clip, "-frames:v", "1", "-q:v", "2", photo)
	return y4m, photo
}

func liveBrowser(t *testing.T, y4m string) context.Context {
	t.Helper()
	bin := chromiumPath(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(420, 860),
		chromedp.Flag("use-fake-ui-for-media-stream", true), chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-file-for-fake-video-capture", y4m), chromedp.Flag("allow-loopback-in-peer-connection", true),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(func() { bcancel(); acancel() })
	noop := func(context.Context, *chromedp.Target) (chromedp.Void, error) { return chromedp.Void{}, nil }
	if _, err := chromedp.Run(bctx, chromedp.Action[chromedp.Void](noop)); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	return bctx
}

// runPage opens the hosted page, consents and waits for the verdict on
// the page; it returns the page's shown code.
func runPage(t *testing.T, bctx context.Context, url string, art, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(bctx, 90*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`body[data-state="consent"]`)),
		chromedp.Click(chromedp.CSS(`#agree`)), chromedp.Click(chromedp.CSS(`#consent-next`))); err != nil {
		shot(t, ctx, art, "failed-"+name)
		t.Fatalf("%s: %v", name, err)
	}
	return pageResult(t, ctx, art, name)
}

// pageResult screenshots the capture screen mid-way, waits for the
// result screen and returns the code it shows.
func pageResult(t *testing.T, ctx context.Context, art, name string) string {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`body[data-state="capture"]`))); err != nil {
		shot(t, ctx, art, "failed-"+name)
		t.Fatalf("%s: %v", name, err)
	}
	time.Sleep(2500 * time.Millisecond)
	shot(t, ctx, art, name+"-capturing")
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`body[data-state="result"]`))); err != nil {
		shot(t, ctx, art, "failed-"+name)
		t.Fatalf("%s: %v", name, err)
	}
	shot(t, ctx, art, name)
	code, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.dataset.errCode`))
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func (le *liveEnv) lastReport(t *testing.T) webui.RunReport {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		le.mu.Lock()
		n := len(le.reports)
		var r webui.RunReport
		if n > 0 {
			r = le.reports[n-1]
		}
		le.mu.Unlock()
		if n > 0 {
			return r
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no run report")
	return webui.RunReport{}
}

func (le *liveEnv) takeReport(t *testing.T) webui.RunReport {
	r := le.lastReport(t)
	le.mu.Lock()
	le.reports = nil
	le.mu.Unlock()
	t.Logf("capture %s mode %d: pass=%v code %d; %d frames analysed, first frame → verdict %s (%.1f analysed/s, %.0f ms each); decoded %d (%.2f ms CPU each); clip %d frames %d KiB in %s; conclude %s",
		r.Channel, r.Mode, r.Pass, r.ErrCode, r.Analysed, r.FirstToVerdict.Round(time.Millisecond),
		float64(r.Analysed)/max(r.FirstToVerdict.Seconds(), 0.001), float64(r.AnalyzeTime.Milliseconds())/float64(max(r.Analysed, 1)),
		r.Decoded, float64(r.DecodeCPU.Microseconds())/1000/float64(max(r.Decoded, 1)), r.ClipFrames, r.ClipBytes>>10,
		r.ClipTime.Round(time.Millisecond), r.ConcludeTime.Round(time.Millisecond))
	return r
}

// TestH5Browser runs the whole hosted flow in headless Chromium with a
// file-backed camera against the real server on loopback, driven by the
// official SDK: silent liveness compared with the caller's photo passes
// with a LiveStatus, best frame and clip; the same clip fails action and
// reflection liveness; completed and exhausted tokens stop with 14 and
// 16; a counter verification runs from the console on the same camera.
func TestH5Browser(t *testing.T) {
	chromiumPath(t)
	le := newLiveEnv(t, true)
	y4m, photoPath := clipFiles(t)
	photo, err := os.ReadFile(photoPath)
	if err != nil {
		t.Fatal(err)
	}
	art := filepath.Join(artifactDir(t), "..", "h5")
	os.MkdirAll(art, 0o755)
	bctx := liveBrowser(t, y4m)
	ctx := context.Background()

	// Silent, compared with the caller's photo; passes on the first try.
	silent := le.rule(engine.Rule{LivenessMode: engine.LivenessSilent, CompareSource: engine.ComparePhoto, MaxRetries: 1,
		ConsentText: "本人同意采集人脸信息用于本次核验。", GuardianConsent: false})
	sdkReq := faceid.NewDetectAuthRequest()
	sdkReq.RuleId, sdkReq.ImageBase64 = &silent, ptr(base64.StdEncoding.EncodeToString(photo))
	sdkReq.RedirectUrl, sdkReq.Extra = ptr("https://example.com/done"), ptr("订单42")
	auth, err := le.sdk().DetectAuth(sdkReq)
	if err != nil {
		t.Fatal(err)
	}
	tok, url := *auth.Response.BizToken, *auth.Response.Url
	code := runPage(t, bctx, url, art, "01-silent-result")
	rep := le.takeReport(t)
	res, err := le.call(le.sdk(), "GetDetectInfoEnhanced", map[string]any{"BizToken": tok, "RuleId": silent, "InfoType": "0", "BestFramesCount": 2, "IsReturnAllVideo": true})
	if err != nil {
		t.Fatal(err)
	}
	text := res["Text"].(map[string]any)
	t.Logf("silent text: ErrCode %v LiveStatus %v Comparestatus %v Sim %v LivenessMode %v Sequence %v", text["ErrCode"], text["LiveStatus"],
		text["Comparestatus"], text["Sim"], text["LivenessMode"], text["LivenessActionSequence"])
	if text["LiveStatus"] == nil || text["LivenessMode"] != 3.0 || text["Extra"] != "订单42" || code != fmt.Sprint(text["ErrCode"]) {
		t.Errorf("silent text %v (page code %s)", text, code)
	}
	if text["ErrCode"] != 0.0 {
		t.Errorf("the live clip compared with its own still did not pass: %v", text)
	}
	if s, _ := text["Sim"].(string); text["ErrCode"] == 0.0 && (s == "" || s < "70") {
		t.Errorf("Sim %q", s)
	}
	det := text["LivenessDetail"].([]any)
	if len(det) != 1 || det[0].(map[string]any)["Errcode"] == nil || det[0].(map[string]any)["Livestatus"] == nil {
		t.Errorf("LivenessDetail %v", det)
	}
	bf := res["BestFrame"].(map[string]any)
	jpg, _ := base64.StdEncoding.DecodeString(fmt.Sprint(bf["BestFrame"]))
	if len(jpg) < 1000 || jpg[0] != 0xFF || len(bf["BestFrames"].([]any)) != 1 {
		t.Errorf("BestFrame: %d bytes, %d in list", len(jpg), len(bf["BestFrames"].([]any)))
	}
	vd := res["VideoData"].(map[string]any)
	mp4, _ := base64.StdEncoding.DecodeString(fmt.Sprint(vd["LivenessVideo"]))
	if len(mp4) < 1000 || !bytes.Contains(mp4[:16], []byte("ftyp")) || len(vd["LivenessVideos"].([]any)) != 1 {
		t.Errorf("VideoData: %d bytes", len(mp4))
	}
	// The SDK's own model reads the same answer.
	er := faceid.NewGetDetectInfoEnhancedRequest()
	er.BizToken, er.RuleId, er.InfoType = &tok, &silent, ptr("1")
	if r, err := le.sdk().GetDetectInfoEnhanced(er); err != nil || r.Response.Text == nil || r.Response.Text.LiveStatus == nil || r.Response.BestFrame != nil {
		t.Errorf("SDK GetDetectInfoEnhanced: %v %v", r, err)
	}
	bt, _ := le.db.FindBizToken(ctx, tok)
	rec, err := le.db.FindRecord(ctx, bt.RecordID)
	if err != nil || rec.Channel != "h5" || rec.BizToken != tok || rec.Action != "DetectAuth" || len(rec.Media) != 2 {
		t.Errorf("record %+v %v", rec, err)
	}
	for _, id := range rec.Media {
		if m, err := le.db.FindMedia(ctx, id); err != nil || m.ExpiresAt.Sub(m.CreatedAt) != engine.DefaultRetention.Media {
			t.Errorf("media %s: %+v %v", id, m, err)
		}
	}
	if rep.FirstToVerdict > 6*time.Second {
		t.Errorf("silent verdict took %s after the first frame", rep.FirstToVerdict)
	}
	// Done: the page now says so (14).
	if text["ErrCode"] == 0.0 {
		if st, info := le.pageInfo(tok); st != 410 || errCodeOf(info) != engine.FlowCompleted || info["redirect"] == nil {
			t.Errorf("completed token: %d %v", st, info)
		}
		sctx, cancel := context.WithTimeout(bctx, 20*time.Second)
		if err := chromedp.Do(sctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`body[data-state="stop"]`))); err != nil {
			t.Error(err)
		} else if c, _ := chromedp.Run(sctx, chromedp.Evaluate[string](`document.body.dataset.errCode`)); c != "14" {
			t.Errorf("completed page shows code %q", c)
		}
		shot(t, sctx, art, "02-completed")
		// English on the same page.
		chromedp.Do(sctx, chromedp.Click(chromedp.CSS(`#lang`)))
		if title, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS(`#stop-title`))); err != nil || title != "Verification cannot continue" {
			t.Errorf("English stop page: %q %v", title, err)
		}
		shot(t, sctx, art, "02-completed-en")
		chromedp.Do(sctx, chromedp.Click(chromedp.CSS(`#lang`)))
		cancel()
	}

	// Action and reflection with no retry: the clip cannot follow the
	// random challenge; the token is then out of retries (16).
	for _, mode := range []int{engine.LivenessAction, engine.LivenessReflection} {
		// Action gets one retry, taken from the page's retry button.
		retries := 0
		if mode == engine.LivenessAction {
			retries = 1
		}
		rid := le.rule(engine.Rule{LivenessMode: mode, CompareSource: engine.CompareNone, MaxRetries: retries})
		tok, url, err := le.detectAuth(map[string]any{"RuleId": rid})
		if err != nil {
			t.Fatal(err)
		}
		code := runPage(t, bctx, url, art, fmt.Sprintf("03-mode%d-result", mode))
		le.takeReport(t)
		if retries > 0 {
			rctx, cancel := context.WithTimeout(bctx, 90*time.Second)
			if err := chromedp.Do(rctx, chromedp.WaitVisible(chromedp.CSS(`#retry`)), chromedp.Click(chromedp.CSS(`#retry`))); err != nil {
				t.Fatalf("retry: %v", err)
			}
			code = pageResult(t, rctx, art, "03-mode2-retry-result")
			cancel()
			le.takeReport(t)
			if bt, _ := le.db.FindBizToken(ctx, tok); len(bt.Attempts) != 2 || bt.Attempts[1].Seq != 2 {
				t.Errorf("attempts after the retry: %+v", bt.Attempts)
			}
		}
		res, err := le.call(le.sdk(), "GetDetectInfoEnhanced", map[string]any{"BizToken": tok, "RuleId": rid, "InfoType": "1"})
		if err != nil {
			t.Fatal(err)
		}
		text := res["Text"].(map[string]any)
		t.Logf("mode %d text: ErrCode %v LiveStatus %v LiveMsg %v Sequence %v", mode, text["ErrCode"], text["LiveStatus"], text["LiveMsg"], text["LivenessActionSequence"])
		if text["ErrCode"] == 0.0 || text["LiveStatus"] == 0.0 || code != fmt.Sprint(text["ErrCode"]) || text["Comparestatus"] != nil {
			t.Errorf("mode %d: the clip passed or the codes disagree: %v (page %s)", mode, text, code)
		}
		if mode == engine.LivenessAction && len(fmt.Sprint(text["LivenessActionSequence"])) < 3 {
			t.Errorf("action sequence %v", text["LivenessActionSequence"])
		}
		if st, info := le.pageInfo(tok); st != 410 || errCodeOf(info) != engine.FlowRetryLimit {
			t.Errorf("mode %d after the last try: %d %v", mode, st, info)
		}
	}

	// Every capture has ended and released its decoder.
	for deadline := time.Now().Add(10 * time.Second); le.cap.Active() != 0 || le.cap.Decoders() != 0; {
		if time.Now().After(deadline) {
			t.Fatalf("captures left running: %d sessions, %d decoders", le.cap.Active(), le.cap.Decoders())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Counter mode from the console on the same camera.
	counterRule := le.rule(engine.Rule{Name: "柜台1号窗口", LivenessMode: engine.LivenessSilent, CompareSource: engine.CompareGallery, MaxRetries: 3})
	counterID := idWithCheck("11010119800101001")
	le.addIdentityBytes(counterID, "林曼", photo)
	cctx, cancel := context.WithTimeout(bctx, 120*time.Second)
	defer cancel()
	ready := func(page string) chromedp.Action[chromedp.Void] {
		return chromedp.WaitVisible(chromedp.CSS(`body[data-ready="` + page + `"]`))
	}
	if err := chromedp.Do(cctx, chromedp.EmulateViewport(1366, 768), chromedp.Navigate("http://"+le.addr+"/console/"), ready("login"),
		chromedp.SendKeys(chromedp.CSS(`#login input[name=name]`), "admin"),
		chromedp.SendKeys(chromedp.CSS(`#login input[name=password]`), le.adminPW),
		chromedp.Click(chromedp.CSS(`#login button[type=submit]`)), ready("account"),
		chromedp.SendKeys(chromedp.CSS(`#password-form input[name=old_password]`), le.adminPW),
		chromedp.SendKeys(chromedp.CSS(`#password-form input[name=new_password]`), "counter-admin-2025"),
		chromedp.Click(chromedp.CSS(`#password-form button[type=submit]`)), ready("dashboard"),
		chromedp.Navigate("http://"+le.addr+"/console/#/counter"), ready("counter"), chromedp.WaitVisible(chromedp.CSS(`#counter-form`)),
		chromedp.SetValue(chromedp.CSS(`#counter-form select[name=rule_id]`), counterRule),
		chromedp.SendKeys(chromedp.CSS(`#counter-form input[name=name]`), "林曼"),
		chromedp.SendKeys(chromedp.CSS(`#counter-form input[name=id_number]`), counterID),
		chromedp.Click(chromedp.CSS(`#counter-start`)),
		chromedp.WaitVisible(chromedp.CSS(`#counter-verdict`))); err != nil {
		shot(t, cctx, art, "failed-counter")
		t.Fatalf("counter: %v", err)
	}
	shot(t, cctx, art, "04-counter")
	le.takeReport(t)
	verdict, _ := chromedp.Run(cctx, chromedp.Text(chromedp.CSS(`#counter-verdict`)))
	recs, _, _ := le.db.FindRecords(ctx, engine.RecordFilter{RuleID: counterRule, Limit: 10})
	if len(recs) != 1 || recs[0].Channel != "counter" || recs[0].CreatedBy != "admin" || recs[0].IDNumber != counterID || recs[0].LiveStatus != 0 {
		t.Fatalf("counter records %+v", recs)
	}
	t.Logf("counter verdict %q: code %d Sim %.2f", verdict, recs[0].ErrCode, recs[0].Sim)
	if recs[0].ErrCode != 0 || verdict == "" {
		t.Errorf("counter verification of the clip against its own still: %q %+v", verdict, recs[0])
	}
}

func (h *harness) addIdentityBytes(id, name string, img []byte) {
	h.t.Helper()
	a, err := h.faces.Analyze(context.Background(), img, engine.AnalyzeOptions{Policy: engine.PickLargest})
	if err != nil || a.Face() == nil {
		h.t.Fatalf("gallery photo: %v", err)
	}
	if err := h.db.PutIdentity(context.Background(), &engine.Identity{IDNumber: id, Name: name, Photo: img, Embedding: a.Face().Embedding}); err != nil {
		h.t.Fatal(err)
	}
}

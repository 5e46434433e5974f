package webui_test

import (
	"archive/zip"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"heshen/engine"
)

// artifactDir is where screenshots go: $HESHEN_ARTIFACTS, else a fixed
// directory under the system temp dir so they outlive the test.
func artifactDir(t *testing.T) string {
	d := os.Getenv("HESHEN_ARTIFACTS")
	if d == "" {
		d = filepath.Join(os.TempDir(), "heshen-artifacts")
	}
	d = filepath.Join(d, "console")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

func chromiumPath(t *testing.T) string {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	for _, p := range []string{os.Getenv("HESHEN_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	t.Skip("chromium not installed (apt-get install chromium)")
	return ""
}

// idWithCheck completes a 17-digit GB 11643 prefix with its check digit.
func idWithCheck(prefix string) string {
	w := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, c := range prefix {
		sum += int(c-'0') * w[i]
	}
	return prefix + string("10X98765432"[sum%11])
}

func writeImportFiles(t *testing.T) (csvPath, zipPath string, ids []string) {
	dir := t.TempDir()
	ids = []string{idWithCheck("11010119800101001"), idWithCheck("11010119900202002")}
	csv := "id_number,name,photo\n" +
		ids[0] + ",林曼,people/lin.png\n" +
		ids[1] + ",亚历克斯,alex.png\n" +
		"110101199001010000,坏号码,alex.png\n" +
		idWithCheck("11010119700303003") + ",无照片,missing.jpg\n"
	csvPath = filepath.Join(dir, "gallery.csv")
	if err := os.WriteFile(csvPath, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	zipPath = filepath.Join(dir, "photos.zip")
	f, err := os.Create(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for name, src := range map[string]string{"people/lin.png": "lin-manuel-miranda.png", "alex.png": "alex-lacamoire.png"} {
		w, _ := zw.Create(name)
		w.Write(readFace(t, "face_recognition/examples/"+src))
	}
	zw.Close()
	f.Close()
	return csvPath, zipPath, ids
}

// TestConsoleBrowser drives the console in headless Chromium: sign in
// (one-time password, then a new one), create an app and a RuleId, import
// a gallery CSV with photos, review a record, watch the statistics change,
// search the operation log; screenshots go to the artifact directory.
func TestConsoleBrowser(t *testing.T) {
	bin := chromiumPath(t)
	ce := newConsoleEnv(t)
	art := artifactDir(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1366, 768),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	ctx, cancel := context.WithTimeout(bctx, 150*time.Second)
	defer cancel()

	run := func(what string, acts ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, acts...); err != nil {
			shot(t, ctx, art, "failed-"+strings.ReplaceAll(what, " ", "-"))
			t.Fatalf("%s: %v", what, err)
		}
	}
	ready := func(page string) chromedp.Action[chromedp.Void] {
		return chromedp.WaitVisible(chromedp.CSS(`body[data-ready="` + page + `"]`))
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return s
	}

	// Sign in with the one-time password; the console insists on a new one.
	run("open", chromedp.Navigate(ce.base+"/console/"), ready("login"))
	shot(t, ctx, art, "01-login")
	run("sign in", chromedp.SendKeys(chromedp.CSS(`#login input[name=name]`), "admin"),
		chromedp.SendKeys(chromedp.CSS(`#login input[name=password]`), ce.adminPW),
		chromedp.Click(chromedp.CSS(`#login button[type=submit]`)), ready("account"))
	run("change password", chromedp.SendKeys(chromedp.CSS(`#password-form input[name=old_password]`), ce.adminPW),
		chromedp.SendKeys(chromedp.CSS(`#password-form input[name=new_password]`), "counter-admin-2025"),
		chromedp.Click(chromedp.CSS(`#password-form button[type=submit]`)), ready("dashboard"))

	// An app, then a RuleId through the flow form.
	run("flows", chromedp.Navigate(ce.base+"/console/#/flows"), ready("flows"), chromedp.WaitVisible(chromedp.CSS(`#app-form`)))
	run("create app", chromedp.SendKeys(chromedp.CSS(`#app-form input[name=name]`), "政务大厅"),
		chromedp.SendKeys(chromedp.CSS(`#app-form input[name=entity_name]`), "某市政务服务中心"),
		chromedp.Click(chromedp.CSS(`#app-form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#new-flow`)))
	time.Sleep(300 * time.Millisecond)
	run("new flow", chromedp.Click(chromedp.CSS(`#new-flow`)), chromedp.WaitVisible(chromedp.CSS(`#flow-form`)),
		chromedp.SendKeys(chromedp.CSS(`#flow-form input[name=name]`), "1号窗口"),
		chromedp.SetValue(chromedp.CSS(`#flow-form input[name=sim_threshold]`), "75"),
		chromedp.Click(chromedp.CSS(`#flow-save`)),
		chromedp.WaitVisible(chromedp.CSS(`#flow-msg.msg`)))
	if msg := text(`#flow-msg`); !strings.Contains(msg, "RuleId") {
		t.Fatalf("flow message %q", msg)
	}
	run("flow row", chromedp.WaitVisible(chromedp.CSS(`tr[data-rule]`)))
	shot(t, ctx, art, "02-flows")
	apps, _ := ce.db.FindApps(context.Background())
	var rules []*engine.Rule
	for _, a := range apps {
		rs, _ := ce.db.FindRules(context.Background(), a.ID)
		rules = append(rules, rs...)
	}
	if len(rules) != 1 || rules[0].Name != "1号窗口" || rules[0].SimThreshold != 75 || rules[0].CreatedBy != "admin" {
		t.Fatalf("rules %+v", rules)
	}

	// Gallery import: CSV + zip, per-row report.
	csvPath, zipPath, ids := writeImportFiles(t)
	run("gallery", chromedp.Navigate(ce.base+"/console/#/gallery"), ready("gallery"),
		chromedp.SetUploadFiles(chromedp.CSS(`#gallery-import input[name=csv]`), []string{csvPath}),
		chromedp.SetUploadFiles(chromedp.CSS(`#gallery-import input[name=photos]`), []string{zipPath}),
		chromedp.Click(chromedp.CSS(`#gallery-import button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#import-summary`)))
	if s := text(`#import-summary`); !strings.HasPrefix(s, "已添加 2 · 已替换 0 · 未通过 2") {
		t.Errorf("import summary %q", s)
	}
	shot(t, ctx, art, "03-gallery-import")
	for _, id := range ids {
		if ok, _ := ce.db.HasIdentity(context.Background(), id); !ok {
			t.Errorf("%s not imported", id)
		}
	}

	// Statistics before, then a verification arrives, then after.
	run("usage", chromedp.Navigate(ce.base+"/console/#/usage"), ready("usage"), chromedp.WaitVisible(chromedp.CSS(`#usage-total`)))
	before := text(`#usage-total`)
	rec := &engine.Record{AppID: apps[0].ID, RuleID: rules[0].ID, Action: "DetectAuth", Channel: "h5", IDNumber: ids[0], Name: "林曼",
		Result: "FailedOperation.CompareLowSimilarity", ErrCode: 1, Sim: 68.2, Stages: []engine.Stage{{Name: "detect", Ms: 41}, {Name: "compare", Ms: 3}}}
	if err := ce.db.CreateRecord(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	run("usage again", chromedp.Reload(), ready("usage"), chromedp.WaitVisible(chromedp.CSS(`#usage-total`)), chromedp.WaitVisible(chromedp.CSS(`#usage-chart svg`)))
	after := text(`#usage-total`)
	if before == after || !strings.HasPrefix(after, "共 1") {
		t.Errorf("usage total %q → %q", before, after)
	}
	shot(t, ctx, art, "04-usage")

	// Review the failed record.
	run("records", chromedp.Navigate(ce.base+"/console/#/records"), ready("records"),
		chromedp.WaitVisible(chromedp.CSS(`.open-record`)), chromedp.Click(chromedp.CSS(`.open-record`)),
		chromedp.WaitVisible(chromedp.CSS(`#review-form`)),
		chromedp.SendKeys(chromedp.CSS(`#review-form textarea[name=reason]`), "现场核对身份证原件,确认本人"),
		chromedp.Click(chromedp.CSS(`#review-approve`)), chromedp.WaitVisible(chromedp.CSS(`#review-done`)))
	shot(t, ctx, art, "05-record-review")
	got, _ := ce.db.FindRecord(context.Background(), rec.ID)
	if got.Review == nil || !got.Review.Approved || got.Review.By != "admin" || got.Review.Reason != "现场核对身份证原件,确认本人" {
		t.Fatalf("review %+v", got.Review)
	}

	// The operation log finds the review.
	ce.settle()
	run("logs", chromedp.Navigate(ce.base+"/console/#/logs"), ready("logs"),
		chromedp.SendKeys(chromedp.CSS(`#log-form input[name=action]`), engine.ActManualAudit),
		chromedp.Click(chromedp.CSS(`#log-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#log-results table tbody tr td:nth-child(5)`)))
	if s := text(`#log-results table tbody`); !strings.Contains(s, engine.ActManualAudit) || !strings.Contains(s, "admin") {
		t.Errorf("log results %q", s)
	}
	shot(t, ctx, art, "06-logs")

	// Counter page without live capture says so and offers no verdict.
	run("counter", chromedp.Navigate(ce.base+"/console/#/counter"), ready("counter"), chromedp.WaitVisible(chromedp.CSS(`#capture-missing`)))
	shot(t, ctx, art, "07-counter")

	// The heaviest page (analytics: two charts and three tables), loaded
	// afresh: weight of everything it fetched and time until its last chart is in.
	run("analytics", chromedp.Navigate("about:blank"), chromedp.Navigate(ce.base+"/console/#/analytics"), ready("analytics"),
		chromedp.WaitVisible(chromedp.CSS(`#an-rate svg`)), chromedp.WaitVisible(chromedp.CSS(`#an-count svg`)))
	type perfT struct {
		TTI      float64 `json:"tti"`
		Bytes    float64 `json:"bytes"`
		Requests int     `json:"requests"`
	}
	perf, err := chromedp.Run(ctx, chromedp.Evaluate[perfT](`(function(){var n=performance.getEntriesByType('navigation')[0];var b=n.encodedBodySize||0,c=1;
		performance.getEntriesByType('resource').forEach(function(r){b+=r.encodedBodySize||0;c++;});
		return {tti: performance.now(), bytes: b, requests: c};})()`))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("analytics page: %d requests, %.1f KiB, interactive with both charts at %.0f ms", perf.Requests, perf.Bytes/1024, perf.TTI)
	if perf.Bytes > 200<<10 || perf.TTI > 5000 {
		t.Errorf("analytics page too heavy or slow: %.0f bytes, %.0f ms", perf.Bytes, perf.TTI)
	}
	shot(t, ctx, art, "08-analytics")

	// English, and a tablet in portrait.
	run("english", chromedp.Navigate(ce.base+"/console/#/dashboard"), ready("dashboard"), chromedp.Click(chromedp.CSS(`button.lang`)),
		chromedp.WaitVisible(chromedp.CSS(`a[data-page="records"]`)))
	if s := text(`a[data-page="records"]`); s != "Records" {
		t.Errorf("English nav says %q", s)
	}
	shot(t, ctx, art, "09-dashboard-en")
	run("tablet", chromedp.EmulateViewport(800, 1280), chromedp.Navigate(ce.base+"/console/#/records"), ready("records"),
		chromedp.WaitVisible(chromedp.CSS(`.open-record`)))
	shot(t, ctx, art, "10-tablet-records")
	overflow, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
	if err != nil {
		t.Fatal(err)
	}
	if overflow {
		t.Error("the records page scrolls sideways on a tablet")
	}
	t.Logf("screenshots in %s", art)
}

func shot(t *testing.T, ctx context.Context, dir, name string) {
	// Quality 100 makes a PNG.
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644)
}

package oplog

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"heshen/engine"
	"heshen/search"
)

// mustOpen opens a Log in dir and closes it when the test ends.
func mustOpen(tb testing.TB, dir string, opts Options) *Log {
	tb.Helper()
	if opts.Logf == nil {
		opts.Logf = tb.Logf
	}
	if opts.SweepEvery == 0 {
		opts.SweepEvery = -1
	}
	l, err := Open(dir, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	return l
}

// settle waits until everything appended is written and indexed.
func settle(tb testing.TB, l *Log) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.Sync(ctx); err != nil {
		tb.Fatal(err)
	}
	if err := l.WaitIndexed(ctx); err != nil {
		tb.Fatal(err)
	}
}

func search1(tb testing.TB, l *Log, q engine.OpQuery) *engine.OpResult {
	tb.Helper()
	r, err := l.Search(context.Background(), q)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func ids(r *engine.OpResult) []string {
	var out []string
	for _, e := range r.Entries {
		out = append(out, e.RequestID)
	}
	return out
}

var t0 = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

// fixture appends a small realistic set of entries, one minute apart.
func fixture(l *Log) {
	add := func(i int, action, app, code, req, resp string) {
		l.Append(&engine.OpEntry{
			Time: t0.Add(time.Duration(i) * time.Minute), Kind: engine.OpKindAPI, AppID: app, SecretID: "AKID" + app,
			Action: action, RequestID: fmt.Sprintf("req-%02d", i), BizToken: fmt.Sprintf("biz-%02d", i%3),
			SourceIP: "10.0.0.7", Code: code, DurationMs: 12.5, Steps: []engine.Stage{{Name: "decode", Ms: 2}},
			Request: []byte(req), Response: []byte(resp),
		})
	}
	add(0, "IdCardVerification", "app1", "0", `{"IdCard":"11010519900307123X","Name":"张三"}`,
		`{"Response":{"Result":"0","Description":"姓名和身份证号一致","RequestId":"req-00"}}`)
	add(1, "IdCardVerification", "app1", "-1", `{"IdCard":"110105199003071234","Name":"李四"}`,
		`{"Response":{"Result":"-1","Description":"姓名和身份证号不一致","RequestId":"req-01"}}`)
	add(2, "DetectAuth", "app2", "InvalidParameterValue.RuleIdNotExist", `{"RuleId":"9"}`,
		`{"Response":{"Error":{"Code":"InvalidParameterValue.RuleIdNotExist","Message":"RuleId不存在，请到人脸核身控制台申请"},"RequestId":"req-02"}}`)
	add(3, "LivenessCompare", "app2", "FailedOperation.CompareLowSimilarity", `{"LivenessType":"SILENT","ImageBase64":"`+base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xff, 0xd8, 7}, 200))+`"}`,
		`{"Response":{"Result":"FailedOperation.CompareLowSimilarity","Description":"比对相似度未达到通过标准","Sim":41.5,"RequestId":"req-03"}}`)
	add(4, "DetectAuth", "app1", "AuthFailure.SignatureFailure", `{"RuleId":"1"}`,
		`{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"The provided credentials could not be validated. 请检查签名是否正确"},"RequestId":"req-04"}}`)
	add(5, "GetDetectInfoEnhanced", "app1", "0", `{"BizToken":"biz-02","RuleId":"1"}`,
		`{"Response":{"Text":{"ErrCode":0,"ErrMsg":"成功","Name":"欧阳娜娜","IdCard":"11010519900307123X"},"RequestId":"req-05"}}`)
	l.Append(&engine.OpEntry{Time: t0.Add(6 * time.Minute), Kind: engine.OpKindConsole, Actor: "admin", Action: "UpdateRule",
		RequestID: "req-06", Code: "Success", Request: []byte(`{"rule_id":"1","name":"门诊挂号核身","max_retries":3}`)})
}

func TestSearchByField(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Options{})
	fixture(l)
	settle(t, l)

	tests := []struct {
		name string
		q    engine.OpQuery
		want []string // request ids, newest first
	}{
		{"all", engine.OpQuery{}, []string{"req-06", "req-05", "req-04", "req-03", "req-02", "req-01", "req-00"}},
		{"request id", engine.OpQuery{RequestID: "req-03"}, []string{"req-03"}},
		{"biz token", engine.OpQuery{BizToken: "biz-02"}, []string{"req-05", "req-02"}},
		{"app", engine.OpQuery{AppID: "app2"}, []string{"req-03", "req-02"}},
		{"action", engine.OpQuery{Action: "IdCardVerification"}, []string{"req-01", "req-00"}},
		{"code", engine.OpQuery{Code: "0"}, []string{"req-05", "req-00"}},
		{"kind", engine.OpQuery{Kind: engine.OpKindConsole}, []string{"req-06"}},
		{"actor", engine.OpQuery{Actor: "admin"}, []string{"req-06"}},
		{"secret id", engine.OpQuery{SecretID: "AKIDapp2"}, []string{"req-03", "req-02"}},
		{"time range", engine.OpQuery{From: t0.Add(2 * time.Minute), To: t0.Add(4 * time.Minute)}, []string{"req-03", "req-02"}},
		{"oldest first", engine.OpQuery{AppID: "app1", Oldest: true}, []string{"req-00", "req-01", "req-04", "req-05"}},
		{"chinese 姓名", engine.OpQuery{Text: "姓名"}, []string{"req-01", "req-00"}},
		{"chinese phrase", engine.OpQuery{Text: "身份证号不一致"}, []string{"req-01"}},
		{"chinese error fragment", engine.OpQuery{Text: "请到人脸核身控制台"}, []string{"req-02"}},
		{"chinese 相似度", engine.OpQuery{Text: "相似度"}, []string{"req-03"}},
		{"one character", engine.OpQuery{Text: "致"}, []string{"req-01", "req-00"}},
		{"mixed words", engine.OpQuery{Text: "credentials 签名"}, []string{"req-04"}},
		{"english case-insensitive", engine.OpQuery{Text: "VALIDATED"}, []string{"req-04"}},
		{"console text", engine.OpQuery{Text: "门诊挂号"}, []string{"req-06"}},
		{"text and field", engine.OpQuery{Text: "姓名", Code: "-1"}, []string{"req-01"}},
		{"pasted request id", engine.OpQuery{Text: "req-04"}, []string{"req-04"}},
		{"pasted code", engine.OpQuery{Text: "FailedOperation.CompareLowSimilarity"}, []string{"req-03"}},
		{"masked name", engine.OpQuery{Text: "欧阳"}, []string{"req-05"}},
		{"raw name not indexed", engine.OpQuery{Text: "娜娜"}, nil},
		{"raw id not indexed", engine.OpQuery{Text: "11010519900307123X"}, nil},
		{"no match", engine.OpQuery{Text: "不存在的词语"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := search1(t, l, tt.q)
			got := ids(r)
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if r.Total != len(tt.want) {
				t.Errorf("total = %d, want %d", r.Total, len(tt.want))
			}
		})
	}

	e := search1(t, l, engine.OpQuery{RequestID: "req-05"}).Entries[0]
	if e.SecretID != "AKIDapp1" || e.SourceIP != "10.0.0.7" || e.DurationMs != 12.5 || len(e.Steps) != 1 || !e.Time.Equal(t0.Add(5*time.Minute)) {
		t.Errorf("stored entry = %+v", e)
	}
	if !strings.Contains(string(e.Response), `"Name":"欧阳**"`) || !strings.Contains(string(e.Response), `"IdCard":"110105***********X"`) {
		t.Errorf("stored response not masked: %s", e.Response)
	}
}

func TestPagingAndFacets(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Options{BatchSize: 7})
	actions := []string{"DetectAuth", "GetDetectInfoEnhanced", "LivenessCompare"}
	for i := range 45 {
		code := "0"
		if i%5 == 0 {
			code = "FailedOperation.LifePhotoDetectNoFaces"
		}
		l.Append(&engine.OpEntry{Time: t0.Add(time.Duration(i) * time.Second), Kind: "api", AppID: "app1",
			Action: actions[i%3], RequestID: fmt.Sprintf("r%03d", i), Code: code, Response: []byte(`{"Response":{"Description":"请求成功"}}`)})
	}
	settle(t, l)

	var seen []string
	for page := 0; ; page++ {
		r := search1(t, l, engine.OpQuery{Text: "成功", Offset: page * 10, Limit: 10})
		if r.Total != 45 {
			t.Fatalf("total = %d, want 45", r.Total)
		}
		if len(r.Entries) == 0 {
			break
		}
		seen = append(seen, ids(r)...)
	}
	if len(seen) != 45 || seen[0] != "r044" || seen[10] != "r034" || seen[44] != "r000" {
		t.Errorf("pages = %v", seen)
	}

	r := search1(t, l, engine.OpQuery{Facets: true, Limit: 1})
	want := map[string]map[string]int{
		"action": {"DetectAuth": 15, "GetDetectInfoEnhanced": 15, "LivenessCompare": 15},
		"code":   {"0": 36, "FailedOperation.LifePhotoDetectNoFaces": 9},
		"app_id": {"app1": 45},
	}
	for name, terms := range want {
		got := map[string]int{}
		for _, f := range r.Facets[name] {
			got[f.Term] = f.Count
		}
		if fmt.Sprint(got) != fmt.Sprint(terms) {
			t.Errorf("facet %s = %v, want %v", name, got, terms)
		}
	}
	r = search1(t, l, engine.OpQuery{Facets: true, Action: "DetectAuth"})
	if len(r.Facets["code"]) != 2 || r.Facets["code"][0].Count != 12 || r.Facets["code"][1].Count != 3 {
		t.Errorf("facets of a filtered search = %v", r.Facets["code"])
	}
	if r := search1(t, l, engine.OpQuery{Limit: 5000}); len(r.Entries) != 45 {
		t.Errorf("big page = %d entries", len(r.Entries))
	}
}

// The raw values a test feeds in must not appear in any stored byte.
func TestNoRawValuesStored(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{})
	photo := bytes.Repeat([]byte("\xff\xd8\xff\xe0JFIF face pixels 0123"), 400)
	photo64 := base64.StdEncoding.EncodeToString(photo)
	const (
		name   = "欧阳娜娜"
		name2  = "张三丰"
		idNum  = "11010519900307123X"
		idNum2 = "440301199912310018"
		phone  = "13912345678"
	)
	for i := range 50 {
		l.Append(&engine.OpEntry{Kind: "api", Action: "DetectAuth", RequestID: fmt.Sprintf("r%d", i), Code: "0",
			Request: []byte(`{"RuleId":"1","IdCard":"` + idNum + `","Name":"` + name + `","ImageBase64":"` + photo64 + `","Extra":"tel ` + phone + `"}`),
			Response: []byte(`{"Response":{"Text":{"Name":"` + name2 + `","IdCard":"` + idNum2 + `","Mobile":"` + phone + `"},` +
				`"BestFrame":{"BestFrame":"` + photo64 + `"},"Description":"身份证` + idNum2 + `核验失败"}}`)})
	}
	// Form-encoded and plain-text bodies take other paths through the masker.
	l.Append(&engine.OpEntry{Kind: "api", Action: "IdCardVerification", Code: "0", Request: []byte("IdCard=" + idNum + "&Name=" + name)})
	l.Append(&engine.OpEntry{Kind: "api", Action: "Unknown", Code: "InvalidRequest", Request: []byte("garbage " + idNum + " " + phone)})
	settle(t, l)
	if r := search1(t, l, engine.OpQuery{Text: "核验失败"}); r.Total != 50 {
		t.Fatalf("text search total = %d, want 50", r.Total)
	}
	// Bleve's files keep terms in compressed automata, so a byte grep alone
	// proves little about the index: read its term dictionary as well.
	var terms strings.Builder
	fields, err := l.ix.Load().Fields()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fields {
		if err := l.ix.Load().Terms(f, func(term string) { terms.WriteString(term + "\n") }); err != nil {
			t.Fatal(err)
		}
	}
	dict := terms.String()
	for _, r := range []string{"娜娜", "阳娜", "三丰", "张三", strings.ToLower(idNum), idNum2, "19900307", "19991231", phone, strings.ToLower(photo64[:24])} {
		if strings.Contains(dict, r) {
			t.Errorf("index term dictionary contains raw %q", r)
		}
	}
	for _, m := range []string{"欧阳\n", "110105\n", "核验\n"} {
		if !strings.Contains(dict, m) {
			t.Errorf("index term dictionary lacks %q (%d bytes)", m, len(dict))
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	raw := [][]byte{[]byte(name), []byte("娜娜"), []byte(name2), []byte("三丰"), []byte(idNum), []byte(idNum2),
		[]byte("19900307"), []byte("19991231"), []byte(phone), []byte(photo64[:48]), photo[:32]}
	files := 0
	var dbBytes []byte
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files++
		if filepath.Base(p) == DBFile {
			dbBytes = b
		}
		for _, r := range raw {
			if bytes.Contains(b, r) {
				t.Errorf("%s contains raw %q", p, r)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 3 {
		t.Errorf("only %d files checked", files)
	}
	// The check above can fail: the masked forms are in the file.
	for _, m := range []string{"110105***********X", "欧阳**", "139****5678", `"sha256":"`} {
		if !bytes.Contains(dbBytes, []byte(m)) {
			t.Errorf("%s lacks masked %q", DBFile, m)
		}
	}
}

func TestRebuild(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{})
	fixture(l)
	settle(t, l)
	last := l.Stats().LastWrite
	l.Close()
	ixDir := filepath.Join(dir, IndexDir)

	// A clean close leaves the index complete: no catch-up on the next start.
	ix, existed, err := search.Open(ixDir, search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if wm, _ := ix.Watermark(); !existed || wm != last {
		t.Errorf("after Close: existed %v, watermark %q, want %q", existed, wm, last)
	}
	ix.Close()

	check := func(name string, opts Options) {
		t.Helper()
		l := mustOpen(t, dir, opts)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := l.WaitIndexed(ctx); err != nil {
			t.Fatal(err)
		}
		if r := search1(t, l, engine.OpQuery{Text: "姓名"}); r.Total != 2 {
			t.Errorf("%s: total = %d, want 2", name, r.Total)
		}
		if r := search1(t, l, engine.OpQuery{}); r.Total != 7 {
			t.Errorf("%s: all = %d, want 7", name, r.Total)
		}
		l.Close()
	}

	os.RemoveAll(ixDir)
	check("missing", Options{})

	// Corrupt: overwrite every file of the index with garbage.
	filepath.WalkDir(ixDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			os.WriteFile(p, []byte("garbage"), 0o600)
		}
		return nil
	})
	check("corrupt", Options{})

	// Another mapping (analyzer) stamp: rebuilt, then rebuilt back.
	check("other analyzer", Options{Analyzer: search.AnalyzerCJK})
	check("older stamp", Options{})

	// Watermark behind: entries written while the index was gone are caught up.
	l = mustOpen(t, dir, Options{})
	l.Append(&engine.OpEntry{Time: t0.Add(time.Hour), Kind: "api", Action: "DetectAuth", RequestID: "late", Code: "0",
		Response: []byte(`{"Response":{"Description":"姓名缺失"}}`)})
	if err := l.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	n, err := l.Reindex(context.Background())
	if err != nil || n != 8 {
		t.Fatalf("Reindex = %d, %v; want 8", n, err)
	}
	if r := search1(t, l, engine.OpQuery{Text: "姓名"}); r.Total != 3 {
		t.Errorf("after reindex: total = %d, want 3", r.Total)
	}
}

func TestRetention(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	l := mustOpen(t, t.TempDir(), Options{Now: func() time.Time { return now }})
	ages := []time.Duration{3 * 365 * 24 * time.Hour, 2*365*24*time.Hour + time.Hour, 2*365*24*time.Hour - time.Hour, 24 * time.Hour}
	for i, age := range ages {
		l.Append(&engine.OpEntry{Time: now.Add(-age), Kind: "api", Action: "DetectAuth", RequestID: fmt.Sprintf("r%d", i), Code: "0",
			Response: []byte(`{"Response":{"Description":"保留期测试"}}`)})
	}
	settle(t, l)
	n, err := l.Sweep(context.Background(), now)
	if err != nil || n != 2 {
		t.Fatalf("Sweep = %d, %v; want 2", n, err)
	}
	settle(t, l)
	if r := search1(t, l, engine.OpQuery{Text: "保留期测试"}); strings.Join(ids(r), ",") != "r3,r2" || r.Total != 2 {
		t.Errorf("after sweep: %v total %d", ids(r), r.Total)
	}
	if c, _ := l.Count(); c != 3 {
		t.Errorf("log count = %d, want 3 (2 kept + the sweep's own entry)", c)
	}
	r := search1(t, l, engine.OpQuery{Action: "RetentionSweep"})
	if r.Total != 1 || r.Entries[0].Kind != engine.OpKindSystem || !strings.Contains(string(r.Entries[0].Response), `"deleted":2`) {
		t.Errorf("sweep record = %+v", r.Entries)
	}
	if n, _ := l.Sweep(context.Background(), now); n != 0 {
		t.Errorf("second sweep deleted %d", n)
	}
}

func TestAppendAfterClose(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Options{})
	l.Close()
	l.Append(&engine.OpEntry{Action: "x"}) // dropped, no panic
	if _, err := l.AppendSync(context.Background(), &engine.OpEntry{Action: "x"}); err != ErrClosed {
		t.Errorf("AppendSync after Close = %v", err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestSecondOpenFailsFast(t *testing.T) {
	dir := t.TempDir()
	mustOpen(t, dir, Options{})
	start := time.Now()
	_, err := Open(dir, Options{Timeout: 200 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "in use") || time.Since(start) > 5*time.Second {
		t.Errorf("second Open = %v after %v", err, time.Since(start))
	}
}

// TestCrash kills a child process that is appending (acknowledged and
// unacknowledged entries) with SIGKILL, then checks that every acknowledged
// entry is there, the file is consistent and the index catches up.
func TestCrash(t *testing.T) {
	if os.Getenv("HESHEN_OPLOG_CHILD") != "" {
		crashChild()
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrash$", "-test.v=false")
	cmd.Env = append(os.Environ(), "HESHEN_OPLOG_CHILD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	sc := bufio.NewScanner(out)
	for sc.Scan() && len(acked) < 300 {
		if id, ok := strings.CutPrefix(sc.Text(), "ACK "); ok {
			acked = append(acked, id)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if len(acked) < 300 {
		t.Fatalf("child acknowledged only %d entries", len(acked))
	}

	db, err := bolt.Open(filepath.Join(dir, DBFile), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatalf("bbolt check after kill -9: %v", err)
	}

	l := mustOpen(t, dir, Options{})
	got, err := l.Get(acked...)
	if err != nil || len(got) != len(acked) {
		t.Fatalf("after kill -9: %d of %d acknowledged entries, err %v", len(got), len(acked), err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := l.WaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
	n, _ := l.Count()
	r := search1(t, l, engine.OpQuery{})
	if r.Total != n || n < len(acked) {
		t.Errorf("index has %d, log has %d, acknowledged %d", r.Total, n, len(acked))
	}
	if r := search1(t, l, engine.OpQuery{RequestID: "sync-0"}); r.Total != 1 {
		t.Errorf("first acknowledged entry not searchable")
	}
	t.Logf("acknowledged %d, log holds %d after kill -9", len(acked), n)
}

// crashChild appends until killed: acknowledged entries are printed after
// their AppendSync returns; fire-and-forget entries go in between.
func crashChild() {
	l, err := Open(os.Getenv("HESHEN_OPLOG_CHILD"), Options{SweepEvery: -1, BatchWait: 5 * time.Millisecond})
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	for i := 0; ; i++ {
		for j := range 5 {
			l.Append(&engine.OpEntry{Kind: "api", Action: "DetectAuth", RequestID: fmt.Sprintf("tail-%d-%d", i, j), Code: "0",
				Request: []byte(`{"IdCard":"11010519900307123X","Name":"张三"}`)})
		}
		id, err := l.AppendSync(context.Background(), &engine.OpEntry{Kind: "api", Action: "IdCardVerification",
			RequestID: fmt.Sprintf("sync-%d", i), Code: "0", Response: []byte(`{"Response":{"Result":"0"}}`)})
		if err != nil {
			fmt.Println("ERR", err)
			os.Exit(1)
		}
		fmt.Println("ACK", id)
	}
}

package oplog

import (
	"context"
	"encoding/base64"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"heshen/engine"
)

// TestBenchMillion is the load benchmark of the operation log. It is
// skipped unless HESHEN_OPLOG_BENCH is set to the number of entries
// ("1" means 1,000,000):
//
//	HESHEN_OPLOG_BENCH=1 go test -run TestBenchMillion -timeout 2h -v ./store/oplog/
//
// HESHEN_OPLOG_BENCH_DIR keeps the data in a directory instead of a temp
// dir, HESHEN_OPLOG_BENCH_ANALYZER picks the analyzer,
// HESHEN_OPLOG_BENCH_REINDEX=1 also times a full rebuild, and
// HESHEN_OPLOG_BENCH_SEARCHONLY=1 only measures searches on a kept dir.
func TestBenchMillion(t *testing.T) {
	n := benchCount(t)
	dir := os.Getenv("HESHEN_OPLOG_BENCH_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	analyzer := os.Getenv("HESHEN_OPLOG_BENCH_ANALYZER")
	if os.Getenv("HESHEN_OPLOG_BENCH_SEARCHONLY") != "" { // searches on a kept HESHEN_OPLOG_BENCH_DIR
		benchQuiet(t, dir, analyzer, n)
		return
	}
	span := 60 * 24 * time.Hour
	end := time.Now().Truncate(time.Second)
	start := end.Add(-span)
	step := span / time.Duration(n)
	gen := newGenerator(1)

	l := mustOpen(t, dir, Options{Analyzer: analyzer})
	ctx := context.Background()

	// Ingest, unpaced, while a searcher runs a query every 100 ms.
	var appendNs []int64
	stopSearch := make(chan struct{})
	var loadLat []time.Duration
	var searches, appended atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		r := rand.New(rand.NewPCG(7, 7))
		for {
			select {
			case <-stopSearch:
				return
			case <-tick.C:
			}
			q := engine.OpQuery{Text: benchPhrases[r.IntN(len(benchPhrases))], From: end.Add(-30 * 24 * time.Hour), To: end}
			if r.IntN(2) == 0 {
				q = engine.OpQuery{RequestID: fmt.Sprintf("%08x-bench", r.IntN(max(1, int(appended.Load()))))}
			}
			t0 := time.Now()
			if _, err := l.Search(ctx, q); err != nil {
				t.Error(err)
				return
			}
			loadLat = append(loadLat, time.Since(t0))
			searches.Add(1)
		}
	}()

	cpu0 := cpuTime()
	t0 := time.Now()
	lastReport := t0
	for i := range n {
		e := gen.entry(i, start.Add(time.Duration(i)*step))
		a := time.Now()
		l.Append(e)
		appended.Store(int64(i))
		if i%16 == 0 {
			appendNs = append(appendNs, int64(time.Since(a)))
		}
		if time.Since(lastReport) > 30*time.Second {
			lastReport = time.Now()
			st := l.Stats()
			t.Logf("  %d appended in %s, queue %d, indexed up to %s", i, time.Since(t0).Round(time.Second), st.Queued, st.LastIndex)
		}
	}
	appendDone := time.Since(t0)
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	written := time.Since(t0)
	if err := l.WaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
	indexed := time.Since(t0)
	cpu := cpuTime() - cpu0
	close(stopSearch)
	wg.Wait()
	t.Logf("ingest %d entries: appended in %s, written (bbolt) in %s = %.0f/s, indexed in %s = %.0f/s sustained, %d searches meanwhile",
		n, appendDone.Round(time.Millisecond), written.Round(time.Millisecond), float64(n)/written.Seconds(),
		indexed.Round(time.Millisecond), float64(n)/indexed.Seconds(), searches.Load())
	t.Logf("process CPU during ingest: %s = %.0f µs per entry (incl. generating entries and the searches); %.0f entries/s per fully available core; load average %s",
		cpu.Round(time.Millisecond), float64(cpu.Microseconds())/float64(n), float64(n)/cpu.Seconds(), loadAvg())
	t.Logf("search latency during ingest: %s", pct(loadLat))
	t.Logf("Append call during unpaced ingest (queue may be full): %s", pctNs(appendNs))

	// Append on the request path at a steady 5,000/s.
	appendNs = appendNs[:0]
	tick := time.NewTicker(time.Millisecond)
	for i := range 10000 {
		if i%5 == 0 {
			<-tick.C
		}
		e := gen.entry(n+i, end.Add(time.Duration(i)*time.Millisecond))
		a := time.Now()
		l.Append(e)
		appendNs = append(appendNs, int64(time.Since(a)))
	}
	tick.Stop()
	t.Logf("Append call at 5,000/s (request-path overhead): %s", pctNs(appendNs))
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.WaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
	l.Close()

	dbSize := fileSize(filepath.Join(dir, DBFile))
	ixSize := fileSize(filepath.Join(dir, IndexDir))
	perM := 1e6 / float64(n+10000)
	t.Logf("disk: %s %.0f MB, %s %.0f MB (per million entries: log %.0f MB, index %.0f MB)",
		DBFile, mb(dbSize), IndexDir, mb(ixSize), mb(dbSize)*perM, mb(ixSize)*perM)

	l = benchQuiet(t, dir, analyzer, n)
	if os.Getenv("HESHEN_OPLOG_BENCH_REINDEX") != "" {
		t0 := time.Now()
		c, err := l.Reindex(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("reindex of %d entries: %s (%.0f/s)", c, time.Since(t0).Round(time.Second), float64(c)/time.Since(t0).Seconds())
	}
}

// benchQuiet reopens the log in dir and measures searches on a quiet
// system. It returns the open log.
func benchQuiet(t *testing.T, dir, analyzer string, n int) *Log {
	ctx := context.Background()
	t0 := time.Now()
	l := mustOpen(t, dir, Options{Analyzer: analyzer})
	if err := l.WaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("reopen (index up to date): %s", time.Since(t0).Round(time.Millisecond))
	oldest := search1(t, l, engine.OpQuery{Oldest: true, Limit: 1, Kind: engine.OpKindAPI}).Entries[0].Time
	start := oldest
	span := 60 * 24 * time.Hour
	var reqIDs []string
	for i := 0; i < n; i += 250 {
		reqIDs = append(reqIDs, fmt.Sprintf("%08x-bench", i))
	}
	r := rand.New(rand.NewPCG(9, 9))
	var idLat, textLat, facetLat, wideLat []time.Duration
	var idCPU, textCPU time.Duration
	hits := map[string]int{}
	for i := range 400 {
		id := reqIDs[r.IntN(len(reqIDs))]
		c0 := cpuTime()
		t0 := time.Now()
		res, err := l.Search(ctx, engine.OpQuery{RequestID: id})
		idLat = append(idLat, time.Since(t0))
		idCPU += cpuTime() - c0
		if err != nil || res.Total != 1 {
			t.Fatalf("id lookup %s: %v, total %v", id, err, res)
		}
		phrase := benchPhrases[i%len(benchPhrases)]
		from := start.Add(time.Duration(r.Int64N(int64(span - 30*24*time.Hour))))
		q := engine.OpQuery{Text: phrase, From: from, To: from.Add(30 * 24 * time.Hour)}
		c0 = cpuTime()
		t0 = time.Now()
		res, err = l.Search(ctx, q)
		textLat = append(textLat, time.Since(t0))
		textCPU += cpuTime() - c0
		if err != nil {
			t.Fatal(err)
		}
		hits[phrase] += res.Total
		if i%4 == 0 {
			q.Facets = true
			t0 = time.Now()
			if _, err := l.Search(ctx, q); err != nil {
				t.Fatal(err)
			}
			facetLat = append(facetLat, time.Since(t0))
			t0 = time.Now()
			if _, err := l.Search(ctx, engine.OpQuery{From: from, To: from.Add(30 * 24 * time.Hour), AppID: "app-0003", Facets: true}); err != nil {
				t.Fatal(err)
			}
			wideLat = append(wideLat, time.Since(t0))
		}
	}
	t.Logf("load average %s; process CPU per query: id lookup %s, free text %s", loadAvg(),
		(idCPU / time.Duration(len(idLat))).Round(10*time.Microsecond), (textCPU / time.Duration(len(textLat))).Round(10*time.Microsecond))
	t.Logf("search id lookup (RequestId): %s", pct(idLat))
	t.Logf("search free text, 30-day window, newest first, page of 20: %s", pct(textLat))
	t.Logf("  same with facets (action, code, app): %s", pct(facetLat))
	t.Logf("  one app, 30 days, facets, no text: %s", pct(wideLat))
	for _, p := range benchPhrases {
		t.Logf("  %q: %d hits per 30-day query on average", p, hits[p]/(400/len(benchPhrases)))
	}

	return l
}

func benchCount(t *testing.T) int {
	v := os.Getenv("HESHEN_OPLOG_BENCH")
	if v == "" {
		t.Skip("set HESHEN_OPLOG_BENCH=1 (or a number of entries) to run the operation-log benchmark")
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 1 {
		n = 1_000_000
	}
	return n
}

// benchPhrases are free-text queries: error-message fragments in Chinese
// and English, from rare to common.
var benchPhrases = []string{"姓名格式错误", "比对相似度", "签名", "RuleId不存在", "身份证号不一致", "credentials", "活体检测", "频率限制"}

func pct(d []time.Duration) string {
	if len(d) == 0 {
		return "no samples"
	}
	s := slices.Clone(d)
	slices.Sort(s)
	q := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))] }
	return fmt.Sprintf("n=%d p50=%s p90=%s p99=%s max=%s", len(s), q(0.5).Round(10*time.Microsecond),
		q(0.9).Round(10*time.Microsecond), q(0.99).Round(10*time.Microsecond), s[len(s)-1].Round(10*time.Microsecond))
}

func pctNs(ns []int64) string {
	d := make([]time.Duration, len(ns))
	for i, v := range ns {
		d[i] = time.Duration(v)
	}
	s := slices.Clone(d)
	slices.Sort(s)
	q := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))] }
	return fmt.Sprintf("n=%d p50=%s p99=%s p99.9=%s max=%s", len(s), q(0.5), q(0.99), q(0.999), s[len(s)-1])
}

func fileSize(p string) int64 {
	var n int64
	filepath.WalkDir(p, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

func mb(n int64) float64 { return float64(n) / (1 << 20) }

// generator makes synthetic but realistic API calls: Tencent actions in a
// plausible mix, 20 apps, random Chinese names and ID numbers, small photos
// and videos on the media actions, and error responses with Tencent's
// messages.
type generator struct {
	r      *rand.Rand
	photos []string
	videos []string
}

func newGenerator(seed uint64) *generator {
	g := &generator{r: rand.New(rand.NewPCG(seed, seed))}
	for range 8 {
		g.photos = append(g.photos, base64.StdEncoding.EncodeToString(g.bytes(12<<10)))
		g.videos = append(g.videos, base64.StdEncoding.EncodeToString(g.bytes(60<<10)))
	}
	return g
}

func (g *generator) bytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.r.Uint32())
	}
	return b
}

var (
	benchSurnames = []string{"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林", "欧阳", "司马"}
	benchGiven    = []rune("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红梅")
	benchRegions  = []string{"110105", "310104", "440301", "330106", "510107", "420111", "320102", "370202"}
)

func (g *generator) name() string {
	s := benchSurnames[g.r.IntN(len(benchSurnames))]
	for range 1 + g.r.IntN(2) {
		s += string(benchGiven[g.r.IntN(len(benchGiven))])
	}
	return s
}

func (g *generator) idNumber() string {
	return fmt.Sprintf("%s%04d%02d%02d%03d%d", benchRegions[g.r.IntN(len(benchRegions))], 1950+g.r.IntN(55), 1+g.r.IntN(12), 1+g.r.IntN(28), g.r.IntN(1000), g.r.IntN(10))
}

type benchFailure struct{ code, msg string }

var benchFailures = []benchFailure{
	{"AuthFailure.SignatureFailure", "The provided credentials could not be validated. Please check your signature is correct. 请检查签名"},
	{"InvalidParameterValue.RuleIdNotExist", "RuleId不存在，请到人脸核身控制台申请。"},
	{"FailedOperation.CompareLowSimilarity", "比对相似度未达到通过标准。"},
	{"FailedOperation.IdNameMisMatch", "身份证号不一致，姓名和身份证号不匹配。"},
	{"FailedOperation.NameFormatError", "姓名格式错误。"},
	{"FailedOperation.SilentDetectFail", "活体检测没通过。"},
	{"RequestLimitExceeded", "请求的次数超过了频率限制。"},
	{"FailedOperation.LifePhotoDetectNoFaces", "未能检测到完整人脸。"},
}

var benchActions = []string{"DetectAuth", "DetectAuth", "DetectAuth", "GetDetectInfoEnhanced", "GetDetectInfoEnhanced", "GetDetectInfoEnhanced",
	"IdCardVerification", "IdCardVerification", "LivenessCompare", "ImageRecognition", "LivenessRecognition", "GetActionSequence"}

func (g *generator) entry(i int, at time.Time) *engine.OpEntry {
	app := fmt.Sprintf("app-%04d", g.r.IntN(20))
	e := &engine.OpEntry{
		Time: at, Kind: engine.OpKindAPI, AppID: app, SecretID: "AKID" + app + "Xq2",
		RequestID: fmt.Sprintf("%08x-bench", i), SourceIP: fmt.Sprintf("10.%d.%d.%d", g.r.IntN(4), g.r.IntN(256), g.r.IntN(256)),
		DurationMs: 5 + g.r.Float64()*800,
	}
	if g.r.IntN(50) == 0 {
		e.Kind, e.Actor, e.Action, e.Code = engine.OpKindConsole, "admin", "UpdateRule", "Success"
		e.Request = fmt.Appendf(nil, `{"rule_id":"%d","name":"门诊挂号核身流程","liveness_mode":3,"sim_threshold":70}`, g.r.IntN(9))
		return e
	}
	e.Action = benchActions[g.r.IntN(len(benchActions))]
	name, id := g.name(), g.idNumber()
	e.BizToken = ""
	switch e.Action {
	case "DetectAuth":
		e.Request = fmt.Appendf(nil, `{"RuleId":"%d","IdCard":"%s","Name":"%s","RedirectUrl":"https://example.org/cb","Extra":"order-%d"}`, g.r.IntN(9), id, name, i)
	case "GetDetectInfoEnhanced":
		e.BizToken = fmt.Sprintf("%08X-BIZ-%d", i/3, g.r.IntN(1000))
		e.Request = fmt.Appendf(nil, `{"BizToken":"%s","RuleId":"1","InfoType":"0"}`, e.BizToken)
	case "IdCardVerification":
		e.Request = fmt.Appendf(nil, `{"IdCard":"%s","Name":"%s"}`, id, name)
	case "LivenessCompare":
		e.Request = fmt.Appendf(nil, `{"LivenessType":"SILENT","ImageBase64":"%s","VideoBase64":"%s"}`, g.photos[g.r.IntN(8)], g.videos[g.r.IntN(8)])
	case "ImageRecognition":
		e.Request = fmt.Appendf(nil, `{"IdCard":"%s","Name":"%s","ImageBase64":"%s"}`, id, name, g.photos[g.r.IntN(8)])
	case "LivenessRecognition":
		e.Request = fmt.Appendf(nil, `{"IdCard":"%s","Name":"%s","LivenessType":"ACTION","ValidateData":"2,1","VideoBase64":"%s"}`, id, name, g.videos[g.r.IntN(8)])
	case "GetActionSequence":
		e.Request = []byte(`{}`)
	}
	e.Steps = []engine.Stage{{Name: "auth", Ms: 0.2}, {Name: "decode", Ms: 3}, {Name: "detect", Ms: 40}, {Name: "compare", Ms: 12}}
	if g.r.IntN(8) == 0 {
		f := benchFailures[g.r.IntN(len(benchFailures))]
		e.Code = f.code
		e.Response = fmt.Appendf(nil, `{"Response":{"Error":{"Code":"%s","Message":"%s"},"RequestId":"%s"}}`, f.code, f.msg, e.RequestID)
		return e
	}
	switch e.Action {
	case "DetectAuth":
		e.Code = "Success"
		e.BizToken = fmt.Sprintf("%08X-BIZ-%d", i, g.r.IntN(1000))
		e.Response = fmt.Appendf(nil, `{"Response":{"Url":"https://heshen.local/h5/%s","BizToken":"%s","RequestId":"%s"}}`, e.BizToken, e.BizToken, e.RequestID)
	case "GetDetectInfoEnhanced":
		e.Code = "0"
		e.Response = fmt.Appendf(nil, `{"Response":{"Text":{"ErrCode":0,"ErrMsg":"成功","IdCard":"%s","Name":"%s","LiveStatus":0,"LiveMsg":"成功","Comparestatus":0,"Comparemsg":"成功","Sim":"%.2f","Mobile":"1%d","LivenessMode":3},"BestFrame":{"BestFrame":"%s"},"RequestId":"%s"}}`,
			id, name, 70+g.r.Float64()*30, 3800000000+g.r.IntN(99999999), g.photos[g.r.IntN(8)], e.RequestID)
	case "IdCardVerification":
		e.Code = "0"
		e.Response = fmt.Appendf(nil, `{"Response":{"Result":"0","Description":"姓名和身份证号一致","RequestId":"%s"}}`, e.RequestID)
	case "GetActionSequence":
		e.Code = "Success"
		e.Response = fmt.Appendf(nil, `{"Response":{"ActionSequence":"2,1","RequestId":"%s"}}`, e.RequestID)
	default:
		e.Code = "Success"
		e.Response = fmt.Appendf(nil, `{"Response":{"Result":"Success","Description":"成功","Sim":%.2f,"BestFrameBase64":"%s","RequestId":"%s"}}`,
			70+g.r.Float64()*30, g.photos[g.r.IntN(8)], e.RequestID)
	}
	return e
}

package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"heshen/engine"
	"heshen/store"
)

// The management commands (app, gallery, rule, backup, restore) all work
// the same way: flags become an adminRequest, which runs against the store
// here when this process can open it, or is sent over DATA/admin.sock to
// the server that holds it (bbolt admits one process). Either way the same
// execAdmin does the work and the result is printed as JSON.

// storeDeps are the parts tests replace.
type storeDeps struct {
	// lockTimeout is how long to wait for the store's lock before going
	// through the admin socket.
	lockTimeout time.Duration
	// openFace opens the face engine for gallery commands run locally.
	openFace func() (engine.FaceEngine, io.Closer, error)
}

func defaultStoreDeps() storeDeps {
	return storeDeps{
		lockTimeout: 500 * time.Millisecond,
		openFace: func() (engine.FaceEngine, io.Closer, error) {
			fe, err := openVision("", 0)
			if err != nil {
				return nil, nil, err
			}
			return fe, fe, nil
		},
	}
}

func cmdApp(e *env) int     { return runStoreCmd(e, "app", defaultStoreDeps()) }
func cmdGallery(e *env) int { return runStoreCmd(e, "gallery", defaultStoreDeps()) }
func cmdRule(e *env) int    { return runStoreCmd(e, "rule", defaultStoreDeps()) }
func cmdBackup(e *env) int  { return runStoreCmd(e, "backup", defaultStoreDeps()) }
func cmdRestore(e *env) int { return runStoreCmd(e, "restore", defaultStoreDeps()) }

// adminRequest is one management operation; paths are absolute.
type adminRequest struct {
	Op        string  `json:"op"`
	Name      string  `json:"name,omitempty"`
	AppID     string  `json:"app_id,omitempty"`
	SecretID  string  `json:"secret_id,omitempty"`
	IDNumber  string  `json:"id_number,omitempty"`
	Photo     string  `json:"photo,omitempty"`
	CSV       string  `json:"csv,omitempty"`
	Replace   bool    `json:"replace,omitempty"`
	Liveness  string  `json:"liveness,omitempty"`
	Compare   string  `json:"compare,omitempty"`
	Redirect  string  `json:"redirect,omitempty"`
	Threshold float64 `json:"threshold,omitempty"`
	File      string  `json:"file,omitempty"`
	Query     string  `json:"query,omitempty"`
	Limit     int     `json:"limit,omitempty"`
}

// errorJSON is how a failed command prints its error.
type errorJSON struct {
	Code    string `json:"code"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message"`
	EN      string `json:"message_en"`
}

func toErrorJSON(err error) errorJSON {
	var e *engine.Error
	if errors.As(err, &e) {
		return errorJSON{Code: e.Code, Reason: e.Reason, Message: e.Message, EN: e.EN}
	}
	// Foreign errors here are local (a file, a lock): the operator needs their text.
	return errorJSON{Code: engine.CodeInternal, Message: err.Error(), EN: err.Error()}
}

const storeUsage = `usage:
  heshen app create --name N                       new app and its first SecretId/SecretKey
  heshen app list
  heshen app credential add --app APPID            another SecretId/SecretKey for an app
  heshen app credential revoke --secret-id ID
  heshen app credential list [--app APPID]
  heshen gallery add --id ID --name NAME --photo FILE [--replace]
  heshen gallery import --csv FILE [--replace]     columns id_number,name,photo (paths relative to the CSV)
  heshen gallery remove --id ID
  heshen gallery list [--query Q] [--limit N]
  heshen rule create --app APPID --liveness silent|action|reflection --compare gallery|photo
                     [--redirect URL] [--name N] [--threshold 70]
  heshen rule list [--app APPID]
  heshen backup FILE
  heshen restore FILE
every command takes --data DIR (default ./heshen-data) and prints JSON.
`

// runStoreCmd parses one management command and runs it.
func runStoreCmd(e *env, family string, deps storeDeps) int {
	req, dataDir, code := parseStoreCmd(e, family)
	if code >= 0 {
		return code
	}
	res, err := deps.do(context.Background(), dataDir, req)
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err != nil {
		enc.Encode(map[string]any{"error": toErrorJSON(err)})
		fmt.Fprintf(e.stderr, "heshen %s: %v\n", family, err)
		return 1
	}
	enc.Encode(res)
	if r, ok := res.(*importReport); ok && r.Failed > 0 {
		return 1
	}
	return 0
}

// parseStoreCmd turns arguments into a request; code is ≥ 0 when the
// command should exit at once with it (usage, help).
func parseStoreCmd(e *env, family string) (req adminRequest, dataDir string, code int) {
	args := e.args
	sub := ""
	if family == "app" || family == "gallery" || family == "rule" {
		if len(args) == 0 || strings.HasPrefix(args[0], "-") {
			fmt.Fprint(e.stderr, storeUsage)
			return req, "", 2
		}
		sub, args = args[0], args[1:]
		if family == "app" && sub == "credential" {
			if len(args) == 0 {
				fmt.Fprint(e.stderr, storeUsage)
				return req, "", 2
			}
			sub, args = "credential."+args[0], args[1:]
		}
		req.Op = family + "." + sub
	} else {
		req.Op = family
	}
	fs := flag.NewFlagSet("heshen "+strings.ReplaceAll(req.Op, ".", " "), flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() { fmt.Fprint(e.stderr, storeUsage) }
	data := fs.String("data", "heshen-data", "data directory")
	var need []string // required flags of this operation
	switch req.Op {
	case "app.create":
		fs.StringVar(&req.Name, "name", "", "app name")
		need = []string{"name"}
	case "app.list":
	case "app.credential.add":
		fs.StringVar(&req.AppID, "app", "", "AppId")
		need = []string{"app"}
	case "app.credential.revoke":
		fs.StringVar(&req.SecretID, "secret-id", "", "SecretId to revoke")
		need = []string{"secret-id"}
	case "app.credential.list":
		fs.StringVar(&req.AppID, "app", "", "AppId (default all)")
	case "gallery.add":
		fs.StringVar(&req.IDNumber, "id", "", "resident ID number (18 characters)")
		fs.StringVar(&req.Name, "name", "", "name")
		fs.StringVar(&req.Photo, "photo", "", "reference photo (JPEG/PNG) with exactly one face")
		fs.BoolVar(&req.Replace, "replace", false, "replace an identity already in the gallery")
		need = []string{"id", "name", "photo"}
	case "gallery.import":
		fs.StringVar(&req.CSV, "csv", "", "CSV with columns id_number,name,photo")
		fs.BoolVar(&req.Replace, "replace", false, "replace identities already in the gallery")
		need = []string{"csv"}
	case "gallery.remove":
		fs.StringVar(&req.IDNumber, "id", "", "resident ID number")
		need = []string{"id"}
	case "gallery.list":
		fs.StringVar(&req.Query, "query", "", "ID number prefix or part of a name")
		fs.IntVar(&req.Limit, "limit", 100, "at most this many")
	case "rule.create":
		fs.StringVar(&req.AppID, "app", "", "AppId")
		fs.StringVar(&req.Liveness, "liveness", "", "silent, action or reflection")
		fs.StringVar(&req.Compare, "compare", "", "gallery or photo")
		fs.StringVar(&req.Redirect, "redirect", "", "URL the capture page returns to")
		fs.StringVar(&req.Name, "name", "", "flow name")
		fs.Float64Var(&req.Threshold, "threshold", engine.SimPass, "pass at Sim >= this (0-100)")
		need = []string{"app", "liveness", "compare"}
	case "rule.list":
		fs.StringVar(&req.AppID, "app", "", "AppId (default all)")
	case "backup", "restore":
	default:
		fmt.Fprintf(e.stderr, "heshen %s: unknown command %q\n", family, sub)
		fmt.Fprint(e.stderr, storeUsage)
		return req, "", 2
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return req, "", 0
		}
		return req, "", 2
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, n := range need {
		if !set[n] {
			fmt.Fprintf(e.stderr, "heshen %s: --%s is required\n", strings.ReplaceAll(req.Op, ".", " "), n)
			return req, "", 2
		}
	}
	if req.Op == "backup" || req.Op == "restore" {
		if len(pos) != 1 {
			fmt.Fprintf(e.stderr, "usage: heshen %s FILE [--data DIR]\n", req.Op)
			return req, "", 2
		}
		req.File = pos[0]
	} else if len(pos) > 0 {
		fmt.Fprintf(e.stderr, "heshen %s: unexpected argument %q\n", strings.ReplaceAll(req.Op, ".", " "), pos[0])
		return req, "", 2
	}
	// The server resolves paths in its own working directory: send absolute ones.
	for _, p := range []*string{&req.Photo, &req.CSV, &req.File} {
		if *p != "" {
			if abs, err := filepath.Abs(*p); err == nil {
				*p = abs
			}
		}
	}
	return req, *data, -1
}

// parseInterspersed parses flags given before or after positional
// arguments (`heshen backup FILE --data DIR`).
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// do runs req on the store in dataDir, through the server's admin socket
// when a server holds the store.
func (d storeDeps) do(ctx context.Context, dataDir string, req adminRequest) (any, error) {
	path := filepath.Join(dataDir, store.DBFile)
	if req.Op == "restore" {
		if _, err := os.Stat(req.File); err != nil {
			return nil, err // before Open creates an empty store for nothing
		}
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			// A new machine: put the backup in place under its original key.
			t0 := time.Now()
			info, err := store.RestoreInto(path, req.File, store.Options{})
			if err != nil {
				return nil, err
			}
			return map[string]any{"file": req.File, "bytes": info.Size, "schema": info.Schema, "created": info.Created, "ms": msSince(t0)}, nil
		}
	}
	if !createsStore[req.Op] {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no store in %s (run heshen app create or heshen serve there first, or pass --data)", dataDir)
		}
	}
	db, err := store.Open(path, store.Options{Timeout: d.lockTimeout})
	if errors.Is(err, store.ErrLocked) {
		return adminCall(ctx, dataDir, req)
	}
	if err != nil {
		return nil, err
	}
	defer db.Close()
	fe := &lazyFace{open: d.openFace}
	defer fe.close()
	t0 := time.Now()
	res, err := execAdmin(ctx, db, fe, req)
	if changesState[req.Op] {
		if lerr := logLocalChange(ctx, dataDir, changeEntry(engine.OpKindCLI, req, res, err, t0)); lerr != nil && err == nil {
			return res, fmt.Errorf("done, but not written to the operation log: %w", lerr)
		}
	}
	return res, err
}

// createsStore lists the operations that may start a new store; the others
// refuse a data directory without one instead of creating it by mistake.
var createsStore = map[string]bool{"app.create": true, "gallery.add": true, "gallery.import": true}

// faceSource gives the face engine on first use: most commands never need it.
type faceSource interface {
	face() (engine.FaceEngine, error)
}

type lazyFace struct {
	once   sync.Once
	open   func() (engine.FaceEngine, io.Closer, error)
	fe     engine.FaceEngine
	closer io.Closer
	err    error
}

func (l *lazyFace) face() (engine.FaceEngine, error) {
	l.once.Do(func() {
		if l.open == nil {
			l.err = errors.New("no face engine")
			return
		}
		l.fe, l.closer, l.err = l.open()
	})
	return l.fe, l.err
}

func (l *lazyFace) close() {
	if l.closer != nil {
		l.closer.Close()
	}
}

// fixedFace is the server's engine, already open.
type fixedFace struct{ fe engine.FaceEngine }

func (f fixedFace) face() (engine.FaceEngine, error) {
	if f.fe == nil {
		return nil, errors.New("the server has no face engine")
	}
	return f.fe, nil
}

// execAdmin performs one management operation on an open store.
func execAdmin(ctx context.Context, db *store.DB, fs faceSource, req adminRequest) (any, error) {
	switch req.Op {
	case "app.create":
		a := &engine.App{Name: strings.TrimSpace(req.Name), CreatedBy: "cli"}
		c := &engine.Credential{}
		if err := db.CreateAppWithCredential(ctx, a, c); err != nil {
			return nil, err
		}
		return map[string]any{"app_id": a.ID, "name": a.Name, "secret_id": c.SecretID, "secret_key": c.SecretKey, "created_at": a.CreatedAt}, nil
	case "app.list":
		apps, err := db.FindApps(ctx)
		return map[string]any{"apps": nonNil(apps)}, err
	case "app.credential.add":
		c := &engine.Credential{AppID: req.AppID}
		if err := db.CreateCredential(ctx, c); err != nil {
			return nil, err
		}
		return map[string]any{"app_id": c.AppID, "secret_id": c.SecretID, "secret_key": c.SecretKey, "created_at": c.CreatedAt}, nil
	case "app.credential.revoke":
		if err := db.RevokeCredential(ctx, req.SecretID, time.Now()); err != nil {
			return nil, err
		}
		c, err := db.FindCredential(ctx, req.SecretID)
		if err != nil {
			return nil, err
		}
		return map[string]any{"app_id": c.AppID, "secret_id": c.SecretID, "revoked_at": c.RevokedAt}, nil
	case "app.credential.list":
		cs, err := db.FindCredentials(ctx, req.AppID)
		for _, c := range cs {
			c.SecretKey = "" // listing never shows keys; they were printed once at creation
		}
		return map[string]any{"credentials": nonNil(cs)}, err
	case "gallery.add":
		return galleryAdd(ctx, db, fs, req)
	case "gallery.import":
		return galleryImport(ctx, db, fs, req)
	case "gallery.remove":
		if err := db.DeleteIdentity(ctx, req.IDNumber); err != nil {
			return nil, err
		}
		return map[string]any{"id_number": engine.MaskIDNumber(req.IDNumber), "removed": true}, nil
	case "gallery.list":
		ids, total, err := db.FindIdentities(ctx, req.Query, 0, req.Limit)
		out := make([]map[string]any, 0, len(ids))
		for _, id := range ids {
			out = append(out, map[string]any{"id_number": engine.MaskIDNumber(id.IDNumber), "name": engine.MaskName(id.Name), "created_at": id.CreatedAt})
		}
		return map[string]any{"total": total, "identities": out}, err
	case "rule.create":
		return ruleCreate(ctx, db, req)
	case "rule.list":
		rs, err := db.FindRules(ctx, req.AppID)
		return map[string]any{"rules": nonNil(rs)}, err
	case "backup":
		t0 := time.Now()
		n, err := db.BackupFile(req.File)
		if err != nil {
			return nil, err
		}
		return map[string]any{"file": req.File, "bytes": n, "ms": msSince(t0)}, nil
	case "restore":
		t0 := time.Now()
		info, err := db.Restore(req.File)
		if err != nil {
			return nil, err
		}
		return map[string]any{"file": req.File, "bytes": info.Size, "schema": info.Schema, "created": info.Created, "ms": msSince(t0)}, nil
	}
	return nil, engine.Errorf(engine.CodeInvalidParameterValue, "未知操作", "unknown operation %q", req.Op)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }

// livenessModes maps the CLI's names to Tencent's LivenessMode numbers.
var livenessModes = map[string]int{"silent": engine.LivenessSilent, "action": engine.LivenessAction, "reflection": engine.LivenessReflection}

func ruleCreate(ctx context.Context, db *store.DB, req adminRequest) (any, error) {
	mode, ok := livenessModes[req.Liveness]
	if !ok {
		return nil, engine.Errorf(engine.CodeInvalidParameterValue, "活体模式无效", "--liveness must be silent, action or reflection, not %q", req.Liveness)
	}
	if req.Compare != engine.CompareGallery && req.Compare != engine.ComparePhoto {
		return nil, engine.Errorf(engine.CodeInvalidParameterValue, "比对源无效", "--compare must be gallery or photo, not %q", req.Compare)
	}
	if req.Redirect != "" {
		u, err := url.Parse(req.Redirect)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(req.Redirect) > 1024 {
			return nil, engine.Errorf(engine.CodeInvalidParameterValue, "回跳地址无效", "--redirect must be an absolute http(s) URL of at most 1024 characters")
		}
	}
	if req.Threshold < 0 || req.Threshold > 100 {
		return nil, engine.Errorf(engine.CodeInvalidParameterValue, "阈值无效", "--threshold must be between 0 and 100")
	}
	if req.Threshold == 0 {
		req.Threshold = engine.SimPass
	}
	r := &engine.Rule{
		AppID: req.AppID, Name: req.Name, LivenessMode: mode, CompareSource: req.Compare,
		IdentityTyped: req.Compare == engine.CompareGallery, SimThreshold: req.Threshold,
		RedirectURL: req.Redirect, MaxRetries: 3, CreatedBy: "cli",
	}
	if err := db.CreateRule(ctx, r); err != nil {
		return nil, err
	}
	return map[string]any{"rule_id": r.ID, "app_id": r.AppID, "liveness_mode": r.LivenessMode, "compare_source": r.CompareSource,
		"sim_threshold": r.SimThreshold, "redirect_url": r.RedirectURL}, nil
}

// enrolment is one identity checked and embedded, ready to write.
type enrolment struct {
	id     *engine.Identity
	faces  int
	box    engine.Rect
	stages []engine.Stage
}

// enrol validates an identity and computes its embedding from the photo:
// exactly one face that passes the quality gates.
func enrol(ctx context.Context, fs faceSource, idNumber, name, photoPath string) (*enrolment, error) {
	if err := engine.ValidateIDNumber(idNumber); err != nil {
		return nil, err
	}
	if !engine.ValidName(name) {
		return nil, engine.NameError()
	}
	fi, err := os.Stat(photoPath)
	if err != nil {
		return nil, engine.Errorf(engine.CodeInvalidParameterValue, "照片文件无法读取", "photo: %v", err)
	}
	if max := engine.DefaultImageLimits.MaxBytes; fi.Size() > int64(max) {
		return nil, engine.Errorf(engine.CodeImageSizeTooLarge, "照片过大", "photo is %d bytes, at most %d", fi.Size(), max)
	}
	photo, err := os.ReadFile(photoPath)
	if err != nil {
		return nil, engine.Errorf(engine.CodeInvalidParameterValue, "照片文件无法读取", "photo: %v", err)
	}
	fe, err := fs.face()
	if err != nil {
		return nil, engine.Errorf(engine.CodeDetectEngine, "人脸引擎不可用", "face engine unavailable: %v", err)
	}
	a, err := fe.Analyze(ctx, photo, engine.AnalyzeOptions{Policy: engine.PickOnly, Gates: true})
	if err != nil {
		return nil, err
	}
	f := a.Face()
	if f == nil || len(f.Embedding) == 0 {
		return nil, &engine.Error{Code: engine.CodeNoFaces, Reason: engine.ReasonNoFace, Message: "照片中未检测到人脸", EN: "no face found in the photo"}
	}
	emb := append([]float32(nil), f.Embedding...)
	return &enrolment{
		id:    &engine.Identity{IDNumber: idNumber, Name: name, Photo: photo, Embedding: emb, CreatedBy: "cli"},
		faces: len(a.Faces), box: f.Box, stages: a.Stages,
	}, nil
}

func galleryAdd(ctx context.Context, db *store.DB, fs faceSource, req adminRequest) (any, error) {
	t0 := time.Now()
	en, err := enrol(ctx, fs, req.IDNumber, req.Name, req.Photo)
	if err != nil {
		return nil, err
	}
	replaced, err := db.HasIdentity(ctx, req.IDNumber)
	if err != nil {
		return nil, err
	}
	if replaced {
		if !req.Replace {
			return nil, engine.Errorf(store.CodeResourceInUse, "该身份已在人像库中", "identity %s is already in the gallery (use --replace)", engine.MaskIDNumber(req.IDNumber))
		}
	}
	if err := db.PutIdentity(ctx, en.id); err != nil {
		return nil, err
	}
	return map[string]any{
		"id_number": engine.MaskIDNumber(req.IDNumber), "name": engine.MaskName(req.Name), "replaced": replaced,
		"photo_bytes": len(en.id.Photo), "face_box": en.box, "created_at": en.id.CreatedAt, "ms": msSince(t0),
	}, nil
}

// importRow is one CSV row's outcome.
type importRow struct {
	Row      int    `json:"row"` // line in the CSV, the header is line 1
	IDNumber string `json:"id_number,omitempty"`
	Status   string `json:"status"` // added, replaced, failed
	Code     string `json:"code,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Message  string `json:"message,omitempty"`
	EN       string `json:"message_en,omitempty"`
}

type importReport struct {
	CSV      string      `json:"csv"`
	Total    int         `json:"total"`
	Added    int         `json:"added"`
	Replaced int         `json:"replaced"`
	Failed   int         `json:"failed"`
	Ms       float64     `json:"ms"`
	PerSec   float64     `json:"rows_per_second"`
	Rows     []importRow `json:"rows"`
}

// importBatch is how many checked identities one transaction writes.
const importBatch = 64

// galleryImport enrols every row of a CSV (id_number,name,photo; photo
// paths relative to the CSV). Rows are checked and embedded in parallel,
// then written in batches; a row is written whole or not at all, and each
// row gets its own line in the report.
func galleryImport(ctx context.Context, db *store.DB, fs faceSource, req adminRequest) (*importReport, error) {
	t0 := time.Now()
	f, err := os.Open(req.CSV)
	if err != nil {
		return nil, engine.Errorf(engine.CodeInvalidParameterValue, "CSV文件无法读取", "csv: %v", err)
	}
	defer f.Close()
	base := filepath.Dir(req.CSV)
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	header, err := r.Read()
	if err != nil {
		return nil, engine.Errorf(engine.CodeInvalidParameterValue, "CSV表头无法读取", "csv header: %v", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	for _, c := range []string{"id_number", "name", "photo"} {
		if _, ok := col[c]; !ok {
			return nil, engine.Errorf(engine.CodeInvalidParameterValue, "CSV缺少列", "csv has no %q column (need id_number,name,photo)", c)
		}
	}

	type job struct {
		row                 int
		idNumber, name, pho string
	}
	rep := &importReport{CSV: req.CSV, Rows: []importRow{}}
	var jobs []job
	fail := func(row int, id string, err error) {
		e := toErrorJSON(err)
		rep.Rows = append(rep.Rows, importRow{Row: row, IDNumber: engine.MaskIDNumber(id), Status: "failed", Code: e.Code, Reason: e.Reason, Message: e.Message, EN: e.EN})
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		line, _ := r.FieldPos(0)
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			fail(pe.StartLine, "", engine.Errorf(engine.CodeInvalidParameterValue, "CSV行格式错误", "%v", pe.Err))
			continue
		}
		if err != nil {
			return nil, err
		}
		get := func(c string) string {
			if i := col[c]; i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		j := job{row: line, idNumber: get("id_number"), name: get("name"), pho: get("photo")}
		if j.pho == "" {
			fail(line, j.idNumber, engine.Errorf(engine.CodeMissingParameter, "缺少照片", "row has no photo"))
			continue
		}
		if !filepath.IsAbs(j.pho) {
			j.pho = filepath.Join(base, j.pho)
		}
		jobs = append(jobs, j)
	}

	// Check and embed in parallel; the face engine bounds its own concurrency.
	results := make([]*enrolment, len(jobs))
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < runtime.NumCPU(); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i], errs[i] = enrol(ctx, fs, jobs[i].idNumber, jobs[i].name, jobs[i].pho)
			}
		}()
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()

	var batch []*engine.Identity
	var batchRows []importRow
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if err := db.PutIdentities(ctx, batch); err != nil {
			e := toErrorJSON(err)
			for _, row := range batchRows {
				row.Status, row.Code, row.Reason, row.Message, row.EN = "failed", e.Code, e.Reason, e.Message, e.EN
				rep.Rows = append(rep.Rows, row)
			}
		} else {
			rep.Rows = append(rep.Rows, batchRows...)
		}
		batch, batchRows = batch[:0], batchRows[:0]
	}
	written := map[string]int{} // ID number -> row, within this import
	for i, j := range jobs {
		if errs[i] != nil {
			fail(j.row, j.idNumber, errs[i])
			continue
		}
		if first, dup := written[j.idNumber]; dup {
			fail(j.row, j.idNumber, engine.Errorf(store.CodeResourceInUse, "CSV中身份证号码重复", "ID number repeats row %d", first))
			continue
		}
		written[j.idNumber] = j.row
		status := "added"
		if exists, err := db.HasIdentity(ctx, j.idNumber); err != nil {
			fail(j.row, j.idNumber, err)
			continue
		} else if exists {
			if !req.Replace {
				fail(j.row, j.idNumber, engine.Errorf(store.CodeResourceInUse, "该身份已在人像库中", "already in the gallery (use --replace)"))
				continue
			}
			status = "replaced"
		}
		batch = append(batch, results[i].id)
		batchRows = append(batchRows, importRow{Row: j.row, IDNumber: engine.MaskIDNumber(j.idNumber), Status: status})
		if len(batch) == importBatch {
			flush()
		}
	}
	flush()

	sortRows(rep.Rows)
	for _, row := range rep.Rows {
		switch row.Status {
		case "added":
			rep.Added++
		case "replaced":
			rep.Replaced++
		default:
			rep.Failed++
		}
	}
	rep.Total = len(rep.Rows)
	rep.Ms = msSince(t0)
	if rep.Ms > 0 {
		rep.PerSec = float64(rep.Added+rep.Replaced) / (rep.Ms / 1000)
	}
	return rep, nil
}

func sortRows(rows []importRow) {
	// Insertion sort: rows arrive nearly in order.
	for i := 1; i < len(rows); i++ {
		for j := i; j > 0 && rows[j].Row < rows[j-1].Row; j-- {
			rows[j], rows[j-1] = rows[j-1], rows[j]
		}
	}
}

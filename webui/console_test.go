package webui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"heshen/engine"
	"heshen/engine/eligibility"
	"heshen/engine/notify/notifytest"
	"heshen/store"
	"heshen/store/oplog"
	"heshen/webui"
)

// consoleEnv is a server with the console, a real operation log (bbolt +
// Bleve) and the API harness's app, credentials and gallery.
type consoleEnv struct {
	*harness
	t       *testing.T
	con     *webui.Console
	oplog   *oplog.Log
	alerter *engine.Alerter
	adminPW string
	base    string
	loc     *time.Location
	capture webui.CounterCapture
}

type consoleOpt func(*webui.ConsoleConfig)

func newConsoleEnv(t *testing.T, opts ...consoleOpt) *consoleEnv {
	t.Helper()
	ce := &consoleEnv{t: t, loc: time.FixedZone("CST", 8*3600)}
	var once sync.Once
	ce.harness = newHarness(t, func(o *webui.Options) {
		db := o.Store.(*store.DB)
		lg, err := oplog.Open(t.TempDir(), oplog.Options{BatchWait: 2 * time.Millisecond, SweepEvery: -1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { lg.Close() })
		checker, err := eligibility.Load("")
		if err != nil {
			t.Fatal(err)
		}
		faces, keys := shared(t)
		ce.oplog, ce.alerter = lg, engine.NewAlerter(ce.loc)
		cfg := webui.ConsoleConfig{Store: db, OpLog: lg, Search: lg, Checker: checker, Faces: faces, Keys: keys,
			Alerter: ce.alerter, Location: ce.loc, BcryptCost: 4,
			PrintAdminPassword: func(user, pw string) { once.Do(func() { ce.adminPW = pw }) }}
		for _, f := range opts {
			f(&cfg)
		}
		ce.con, err = webui.NewConsole(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		o.Console = ce.con
		o.OpLog = ce.alerter.OpLog(lg)
	})
	ce.base = "http://" + ce.addr
	if ce.adminPW == "" {
		t.Fatal("no one-time admin password was printed")
	}
	return ce
}

// settle waits until the op log has indexed everything appended so far.
func (ce *consoleEnv) settle() {
	ce.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ce.oplog.Sync(ctx); err != nil {
		ce.t.Fatal(err)
	}
	if err := ce.oplog.WaitIndexed(ctx); err != nil {
		ce.t.Fatal(err)
	}
}

// session is a signed-in HTTP client.
type session struct {
	t    *testing.T
	base string
	hc   *http.Client
	csrf string
	me   map[string]any
}

func (ce *consoleEnv) client() *session {
	jar, _ := cookiejar.New(nil)
	return &session{t: ce.t, base: ce.base, hc: &http.Client{Jar: jar, Timeout: 60 * time.Second}}
}

// do sends a request and decodes the JSON answer.
func (s *session) do(method, path string, body any) (int, map[string]any) {
	s.t.Helper()
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case *multipartBody:
		rd, ctype = bytes.NewReader(b.buf.Bytes()), b.ctype
	default:
		j, _ := json.Marshal(b)
		rd, ctype = bytes.NewReader(j), "application/json"
	}
	req, _ := http.NewRequest(method, s.base+"/console/api"+path, rd)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if method != "GET" && s.csrf != "" {
		req.Header.Set("X-CSRF-Token", s.csrf)
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	json.Unmarshal(raw, &out)
	if out == nil {
		out = map[string]any{"_raw": string(raw)}
	}
	return resp.StatusCode, out
}

func errCode(m map[string]any) string {
	if e, ok := m["error"].(map[string]any); ok {
		s, _ := e["code"].(string)
		return s
	}
	return ""
}

func (s *session) login(name, pw string) (int, map[string]any) {
	s.t.Helper()
	_, pre := s.do("GET", "/session", nil)
	s.csrf, _ = pre["csrf"].(string)
	st, me := s.do("POST", "/login", map[string]string{"name": name, "password": pw})
	if st == 200 {
		s.csrf, _ = me["csrf"].(string)
		s.me = me
	}
	return st, me
}

func (s *session) mustLogin(name, pw string) *session {
	s.t.Helper()
	if st, me := s.login(name, pw); st != 200 {
		s.t.Fatalf("login %s: %d %v", name, st, me)
	}
	return s
}

// admin signs in as admin and replaces the one-time password.
func (ce *consoleEnv) admin() *session {
	ce.t.Helper()
	s := ce.client().mustLogin("admin", ce.adminPW)
	if st, r := s.do("POST", "/password", map[string]string{"old_password": ce.adminPW, "new_password": "admin-password-1"}); st != 200 {
		ce.t.Fatalf("change password: %d %v", st, r)
	}
	ce.adminPW = "admin-password-1"
	return ce.client().mustLogin("admin", ce.adminPW)
}

// user creates a user with a role (or custom actions) and signs it in past
// its one-time password.
func (ce *consoleEnv) user(admin *session, name, role string, actions ...string) *session {
	ce.t.Helper()
	body := map[string]any{"name": name, "role": role}
	if len(actions) > 0 {
		body["actions"] = actions
	}
	st, u := admin.do("POST", "/users", body)
	if st != 200 {
		ce.t.Fatalf("create user %s: %d %v", name, st, u)
	}
	pw := u["password"].(string)
	s := ce.client().mustLogin(name, pw)
	if st, r := s.do("POST", "/password", map[string]string{"old_password": pw, "new_password": name + "-password-1"}); st != 200 {
		ce.t.Fatalf("password %s: %d %v", name, st, r)
	}
	return ce.client().mustLogin(name, name+"-password-1")
}

type multipartBody struct {
	buf   bytes.Buffer
	ctype string
}

func multipartOf(t *testing.T, fields map[string]string, files map[string][]byte) *multipartBody {
	mb := &multipartBody{}
	w := multipart.NewWriter(&mb.buf)
	for k, v := range fields {
		w.WriteField(k, v)
	}
	for k, v := range files {
		fw, _ := w.CreateFormFile(k, k+".bin")
		fw.Write(v)
	}
	w.Close()
	mb.ctype = w.FormDataContentType()
	return mb
}

func TestConsoleSignIn(t *testing.T) {
	ce := newConsoleEnv(t)
	c := ce.client()
	// Not signed in: every guarded endpoint answers 401.
	if st, r := c.do("GET", "/records", nil); st != 401 || errCode(r) != "AuthFailure.NotSignedIn" {
		t.Fatalf("anonymous records: %d %v", st, r)
	}
	// Sign-in without the pre-session token is refused (login CSRF).
	if st, _ := c.do("POST", "/login", map[string]string{"name": "admin", "password": ce.adminPW}); st != 403 {
		t.Errorf("login without CSRF token: %d", st)
	}
	// Cookie attributes.
	req, _ := http.NewRequest("GET", ce.base+"/console/api/session", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	sc := resp.Header.Get("Set-Cookie")
	if !strings.Contains(sc, "HttpOnly") || !strings.Contains(strings.ToLower(sc), "samesite=strict") || !strings.Contains(sc, "path=/console") {
		t.Errorf("pre-session cookie %q", sc)
	}

	// The one-time password works once in the sense that nothing else does until it is changed.
	c.mustLogin("admin", ce.adminPW)
	if c.me["must_change"] != true {
		t.Error("generated admin password not marked one-time")
	}
	if st, r := c.do("GET", "/records", nil); st != 403 || errCode(r) != "AuthFailure.PasswordChangeRequired" {
		t.Errorf("records before password change: %d %v", st, r)
	}
	// A change without the CSRF header is refused.
	tok := c.csrf
	c.csrf = ""
	if st, r := c.do("POST", "/password", map[string]string{"old_password": ce.adminPW, "new_password": "x-password-12"}); st != 403 || errCode(r) != "AuthFailure.InvalidCSRFToken" {
		t.Errorf("no CSRF: %d %v", st, r)
	}
	c.csrf = "wrong" + tok
	if st, _ := c.do("POST", "/password", map[string]string{"old_password": ce.adminPW, "new_password": "x-password-12"}); st != 403 {
		t.Errorf("wrong CSRF: %d", st)
	}
	c.csrf = tok
	if st, r := c.do("POST", "/password", map[string]string{"old_password": ce.adminPW, "new_password": "short"}); st != 400 {
		t.Errorf("short password: %d %v", st, r)
	}
	if st, r := c.do("POST", "/password", map[string]string{"old_password": ce.adminPW, "new_password": "admin-password-1"}); st != 200 {
		t.Fatalf("change: %d %v", st, r)
	}
	if st, _ := c.do("GET", "/records", nil); st != 200 {
		t.Errorf("records after change: %d", st)
	}
	// Sign-out ends the session.
	if st, _ := c.do("POST", "/logout", map[string]string{}); st != 200 {
		t.Error("logout")
	}
	if st, _ := c.do("GET", "/records", nil); st != 401 {
		t.Errorf("records after logout: %d", st)
	}
	// Lockout after five failures, even with the right password afterwards.
	x := ce.client()
	for i := 0; i < 5; i++ {
		st, r := x.login("admin", "wrong-password")
		if st != 401 {
			t.Fatalf("failure %d: %d %v", i, st, r)
		}
		if i == 4 && errCode(r) != "AuthFailure.AccountLocked" {
			t.Errorf("fifth failure: %v", r)
		}
	}
	if st, r := x.login("admin", "admin-password-1"); st != 401 || errCode(r) != "AuthFailure.AccountLocked" {
		t.Errorf("locked account signed in: %d %v", st, r)
	}
	// An unknown user gets the same answer as a wrong password.
	if st, r := x.login("nobody", "whatever-123"); st != 401 || errCode(r) != "AuthFailure.InvalidCredentials" {
		t.Errorf("unknown user: %d %v", st, r)
	}
	ce.settle()
	res, err := ce.oplog.Search(context.Background(), engine.OpQuery{Kind: engine.OpKindConsole, Action: "Login", Limit: 50})
	if err != nil || res.Total < 7 {
		t.Fatalf("login entries: %v %v", res, err)
	}
	codes := map[string]int{}
	for _, e := range res.Entries {
		codes[e.Code]++
	}
	if codes["AuthFailure.AccountLocked"] < 2 || codes["Success"] < 1 {
		t.Errorf("login codes in the log: %v", codes)
	}
}

// Each role against each write endpoint: the server refuses exactly what
// the permission table refuses.
func TestConsoleRoleMatrix(t *testing.T) {
	ce := newConsoleEnv(t)
	admin := ce.admin()
	roles := map[string]*session{
		engine.RoleFullAccess:  admin,
		engine.RoleReadOnly:    ce.user(admin, "ro", engine.RoleReadOnly),
		engine.RoleSelfAccount: ce.user(admin, "self", engine.RoleSelfAccount),
		"auditor":              ce.user(admin, "aud", "auditor", "faceid:ConsoleExecuteManualAudit", "faceid:DescribeRecords"),
	}
	users := map[string]*engine.User{
		engine.RoleFullAccess: {Name: "admin", Role: engine.RoleFullAccess}, engine.RoleReadOnly: {Name: "ro", Role: engine.RoleReadOnly},
		engine.RoleSelfAccount: {Name: "self", Role: engine.RoleSelfAccount},
		"auditor":              {Name: "aud", Role: "auditor", Actions: []string{"faceid:ConsoleExecuteManualAudit", "faceid:DescribeRecords"}},
	}
	policy := engine.NewPolicy()
	routes := ce.con.Routes()
	// Every /console/api route the server has is a guarded one (or one of
	// the three session endpoints).
	guarded := map[string]bool{}
	for _, r := range routes {
		guarded[r.Method+" "+r.Path] = true
	}
	for _, r := range ce.srv.App().GetRoutes(true) {
		if !strings.HasPrefix(r.Path, "/console/api/") || r.Method == "HEAD" || r.Method == "USE" {
			continue
		}
		switch r.Path {
		case "/console/api/session", "/console/api/login", "/console/api/logout":
			continue
		}
		if !guarded[r.Method+" "+r.Path] {
			t.Errorf("route %s %s is not guarded", r.Method, r.Path)
		}
	}
	writes := 0
	for _, r := range routes {
		if !r.Write {
			continue
		}
		writes++
		path := strings.NewReplacer(":id", "1", ":name", "nobody", ":alg", "rsa.pem", ":mid", "m").Replace(strings.TrimPrefix(r.Path, "/console/api"))
		for role, s := range roles {
			st, resp := s.do(r.Method, path, map[string]any{})
			refused := st == 403 && errCode(resp) == "AuthFailure.UnauthorizedOperation"
			want := policy.Scope(users[role], r.Action) == engine.ScopeNone
			if refused != want {
				t.Errorf("%s %s %s (%s): refused=%v, table says refused=%v (%d %v)", role, r.Method, path, r.Action, refused, want, st, resp)
			}
		}
	}
	if writes < 25 {
		t.Errorf("only %d write routes", writes)
	}
	// Reads too: ReadOnly reads everything but users' list only for FullAccess/ReadOnly.
	if st, _ := roles[engine.RoleSelfAccount].do("GET", "/users", nil); st != 403 {
		t.Errorf("SelfAccount listed users: %d", st)
	}
	if st, _ := roles[engine.RoleReadOnly].do("GET", "/users", nil); st != 200 {
		t.Errorf("ReadOnly could not list users: %d", st)
	}

	// SelfAccount sees and changes only what it created.
	self := roles[engine.RoleSelfAccount]
	_, adminApp := admin.do("POST", "/apps", map[string]any{"name": "窗口A"})
	_, selfApp := self.do("POST", "/apps", map[string]any{"name": "窗口B"})
	flow := func(s *session, app map[string]any) map[string]any {
		st, r := s.do("POST", "/rules", map[string]any{"app_id": app["app_id"], "name": "flow", "liveness_mode": 3, "compare_source": "gallery"})
		if st != 200 {
			t.Fatalf("create rule: %d %v", st, r)
		}
		return r
	}
	adminRule, selfRule := flow(admin, adminApp), flow(self, selfApp)
	if st, r := self.do("POST", "/rules", map[string]any{"app_id": adminApp["app_id"], "name": "x", "liveness_mode": 3, "compare_source": "gallery"}); st != 403 {
		t.Errorf("SelfAccount created a flow under another's app: %d %v", st, r)
	}
	edit := map[string]any{"name": "renamed", "liveness_mode": 2, "compare_source": "gallery", "disabled": true}
	if st, _ := self.do("PUT", "/rules/"+adminRule["rule_id"].(string), edit); st != 403 {
		t.Errorf("SelfAccount edited another's flow: %d", st)
	}
	if st, r := self.do("PUT", "/rules/"+selfRule["rule_id"].(string), edit); st != 200 || r["disabled"] != true {
		t.Errorf("SelfAccount could not disable its own flow: %d %v", st, r)
	}
	_, list := self.do("GET", "/rules", nil)
	if rs := list["rules"].([]any); len(rs) != 1 {
		t.Errorf("SelfAccount sees %d flows", len(rs))
	}
	_, list = roles[engine.RoleReadOnly].do("GET", "/rules", nil)
	if rs := list["rules"].([]any); len(rs) != 2 {
		t.Errorf("ReadOnly sees %d flows", len(rs))
	}
	// Records: SelfAccount sees records of its own apps only.
	ctx := context.Background()
	now := time.Now()
	ce.db.CreateRecord(ctx, &engine.Record{AppID: adminApp["app_id"].(string), Action: "X", ErrCode: 1, Result: "-1", CreatedAt: now})
	own := &engine.Record{AppID: selfApp["app_id"].(string), Action: "X", ErrCode: 1, Result: "-1", CreatedAt: now}
	ce.db.CreateRecord(ctx, own)
	_, recs := self.do("GET", "/records", nil)
	if recs["total"].(float64) != 1 {
		t.Errorf("SelfAccount sees %v records", recs["total"])
	}
	// The custom auditor reviews any record; SelfAccount only its own.
	if st, r := self.do("POST", "/records/"+own.ID+"/review", map[string]any{"approved": true, "reason": "本人到场"}); st != 200 {
		t.Errorf("self review: %d %v", st, r)
	}
	_, all := admin.do("GET", "/records", nil)
	var other string
	for _, r := range all["records"].([]any) {
		if id := r.(map[string]any)["id"].(string); id != own.ID {
			other = id
		}
	}
	if st, _ := self.do("POST", "/records/"+other+"/review", map[string]any{"approved": true, "reason": "x"}); st != 404 {
		t.Errorf("SelfAccount reviewed another's record: %d", st)
	}
	if st, r := roles["auditor"].do("POST", "/records/"+other+"/review", map[string]any{"approved": false, "reason": "照片不清晰"}); st != 200 {
		t.Errorf("auditor review: %d %v", st, r)
	}
	rec, _ := ce.db.FindRecord(ctx, other)
	if rec.Review == nil || rec.Review.By != "aud" || rec.Review.Approved || rec.Review.Reason != "照片不清晰" {
		t.Errorf("review stored %+v", rec.Review)
	}
	// Every change is in the operation log, refusals included.
	ce.settle()
	res, _ := ce.oplog.Search(ctx, engine.OpQuery{Kind: engine.OpKindConsole, Actor: "ro", Code: "AuthFailure.UnauthorizedOperation", Limit: 1})
	if res.Total == 0 {
		t.Error("refused ReadOnly changes are not logged")
	}
	res, _ = ce.oplog.Search(ctx, engine.OpQuery{Kind: engine.OpKindConsole, Action: engine.ActManualAudit, Actor: "aud", Code: "Success", Limit: 1})
	if res.Total != 1 {
		t.Errorf("review not logged: %d", res.Total)
	}
}

func TestConsoleAlertsWebhookAndSMTP(t *testing.T) {
	sink, err := notifytest.NewSMTPSink()
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	hooks := make(chan map[string]any, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		json.NewDecoder(r.Body).Decode(&m)
		hooks <- m
	}))
	defer hook.Close()
	ce := newConsoleEnv(t)
	admin := ce.admin()
	_, wh := admin.do("POST", "/alerts/channels", map[string]any{"name": "ops-hook", "kind": "webhook", "url": hook.URL + "/alert"})
	_, em := admin.do("POST", "/alerts/channels", map[string]any{"name": "ops-mail", "kind": "email", "smtp_addr": sink.Addr(), "from": "heshen@example.org", "to": []string{"ops@example.org"}, "password": "p"})
	if wh["id"] == nil || em["id"] == nil || em["password"] != "***" {
		t.Fatalf("channels %v %v", wh, em)
	}
	st, rule := admin.do("POST", "/alerts/rules", map[string]any{"name": "核验突增", "kind": "calls", "action": "IdCardVerification", "threshold": 2, "minutes": 2, "channels": []any{wh["id"], em["id"]}})
	if st != 200 {
		t.Fatalf("rule: %d %v", st, rule)
	}
	if st, _ := admin.do("POST", "/alerts/rules", map[string]any{"name": "x", "kind": "calls", "threshold": 1, "minutes": 1, "channels": []string{"nope"}}); st != 400 {
		t.Errorf("rule with unknown channel: %d", st)
	}
	// Three IdCardVerification calls a minute for two minutes, through the
	// op-log tee the API writes to.
	tee := ce.alerter.OpLog(nil)
	base := time.Now().Truncate(time.Minute).Add(-2 * time.Minute)
	for m := 0; m < 2; m++ {
		for i := 0; i < 3; i++ {
			tee.Append(&engine.OpEntry{Kind: engine.OpKindAPI, Action: "IdCardVerification", Code: "0", Time: base.Add(time.Duration(m)*time.Minute + time.Second)})
		}
	}
	evs := ce.con.EvaluateAlerts(context.Background(), base.Add(2*time.Minute+time.Second))
	if len(evs) != 1 {
		t.Fatalf("events %+v", evs)
	}
	select {
	case m := <-hooks:
		data, _ := m["data"].(map[string]any)
		if m["kind"] != "alert" || data["rule_name"] != "核验突增" || data["value"].(float64) != 3 {
			t.Errorf("webhook got %v", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no webhook")
	}
	mails := sink.Wait(1, 5*time.Second)
	if len(mails) != 1 || !strings.Contains(mails[0].Subject, "核验突增") || !strings.Contains(mails[0].Body, "连续 2 分钟") {
		t.Fatalf("mail %+v", mails)
	}
	_, al := admin.do("GET", "/alerts", nil)
	hist := al["history"].([]any)
	if len(hist) != 1 {
		t.Fatalf("history %v", hist)
	}
	del := hist[0].(map[string]any)["delivery"].(map[string]any)
	if del[wh["id"].(string)] != "ok" || del[em["id"].(string)] != "ok" {
		t.Errorf("delivery %v", del)
	}
	// The channel test button, and a broken webhook reported as such.
	if st, r := admin.do("POST", "/alerts/channels/"+wh["id"].(string)+"/test", map[string]any{}); st != 200 {
		t.Errorf("test channel: %d %v", st, r)
	}
	<-hooks
	_, bad := admin.do("POST", "/alerts/channels", map[string]any{"name": "dead", "kind": "webhook", "url": "http://127.0.0.1:1/x"})
	if st, r := admin.do("POST", "/alerts/channels/"+bad["id"].(string)+"/test", map[string]any{}); st != 400 || errCode(r) != "FailedOperation.NotifyFailed" {
		t.Errorf("dead webhook: %d %v", st, r)
	}
	// A channel in use cannot be deleted.
	if st, _ := admin.do("DELETE", "/alerts/channels/"+wh["id"].(string), nil); st != 409 {
		t.Errorf("deleting a used channel: %d", st)
	}
}

// fakeClock fires After channels when the test moves time on.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
	added   chan struct{}
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.waiters = append(c.waiters, fakeWaiter{c.now.Add(d), ch})
	select {
	case c.added <- struct{}{}:
	default:
	}
	return ch
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
	keep := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(t) {
			w.ch <- t
		} else {
			keep = append(keep, w)
		}
	}
	c.waiters = keep
}

// The daily report goes out at the set hour with yesterday's numbers, each
// subscriber's copy limited to what its owner may see.
func TestConsoleDailyReport(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	start := time.Date(2025, 3, 10, 9, 58, 0, 0, loc)
	clock := &fakeClock{now: start, added: make(chan struct{}, 1000)}
	ce := newConsoleEnv(t, func(c *webui.ConsoleConfig) { c.Clock = clock })
	admin := ce.admin()
	self := ce.user(admin, "self", engine.RoleSelfAccount)
	_, selfApp := self.do("POST", "/apps", map[string]any{"name": "自有应用"})
	ctx := context.Background()
	day := time.Date(2025, 3, 9, 12, 0, 0, 0, loc)
	for i := 0; i < 4; i++ {
		ce.db.CreateRecord(ctx, &engine.Record{AppID: ce.appID, Action: "DetectAuth", ErrCode: i % 2, CreatedAt: day.Add(time.Duration(i) * time.Minute)})
	}
	ce.db.CreateRecord(ctx, &engine.Record{AppID: selfApp["app_id"].(string), Action: "IdCardVerification", CreatedAt: day})
	hooks := make(chan map[string]any, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		json.NewDecoder(r.Body).Decode(&m)
		hooks <- m
	}))
	defer hook.Close()
	if st, r := admin.do("POST", "/report/subscriptions", map[string]any{"kind": "webhook", "url": hook.URL + "/admin"}); st != 200 {
		t.Fatalf("subscribe: %d %v", st, r)
	}
	if st, r := self.do("POST", "/report/subscriptions", map[string]any{"kind": "webhook", "url": hook.URL + "/self"}); st != 200 {
		t.Fatalf("self subscribe: %d %v", st, r)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { ce.con.Run(runCtx); close(done) }()
	defer func() { cancel(); <-done }()
	// Wait for both loops to wait, then step past 10:00.
	for i := 0; i < 2; i++ {
		select {
		case <-clock.added:
		case <-time.After(5 * time.Second):
			t.Fatal("loops never waited")
		}
	}
	clock.set(time.Date(2025, 3, 10, 9, 59, 30, 0, loc))
	select {
	case m := <-hooks:
		t.Fatalf("report before 10:00: %v", m)
	case <-time.After(200 * time.Millisecond):
	}
	clock.set(time.Date(2025, 3, 10, 10, 0, 0, 0, loc))
	got := map[string]map[string]any{}
	for len(got) < 2 {
		select {
		case m := <-hooks:
			d := m["data"].(map[string]any)
			got[d["scope"].(string)] = d
		case <-time.After(5 * time.Second):
			t.Fatalf("reports received: %v", got)
		}
	}
	if a := got["all"]; a["day"] != "2025-03-09" || a["calls"].(float64) != 5 || a["passed"].(float64) != 3 {
		t.Errorf("admin report %v", a)
	}
	if s := got["self"]; s["calls"].(float64) != 1 {
		t.Errorf("SelfAccount report covers %v calls, want its own 1", s["calls"])
	}
}

func TestConsoleCounterBoundary(t *testing.T) {
	ce := newConsoleEnv(t)
	admin := ce.admin()
	_, app := admin.do("POST", "/apps", map[string]any{"name": "窗口"})
	_, rule := admin.do("POST", "/rules", map[string]any{"app_id": app["app_id"], "name": "柜台", "liveness_mode": 3, "compare_source": "gallery"})
	st, s := admin.do("POST", "/counter", map[string]any{"rule_id": rule["rule_id"], "name": obamaName, "id_number": obamaID})
	if st != 200 || s["capture"] != false {
		t.Fatalf("start: %d %v", st, s)
	}
	// Without live capture nothing pretends to verify.
	if st, r := admin.do("POST", "/counter/"+s["session"].(string)+"/offer", map[string]any{"sdp": "v=0"}); st != 503 || errCode(r) != "FailedOperation.CaptureUnavailable" {
		t.Errorf("offer without capture: %d %v", st, r)
	}
	if st, r := admin.do("GET", "/counter/"+s["session"].(string), nil); st != 200 || r["done"] != false {
		t.Errorf("state without capture: %d %v", st, r)
	}
	// Identity checks happen before any capture.
	if st, r := admin.do("POST", "/counter", map[string]any{"rule_id": rule["rule_id"], "name": "李四", "id_number": obamaID}); st != 400 || errCode(r) != "FailedOperation.IdNameMisMatch" {
		t.Errorf("name mismatch: %d %v", st, r)
	}
	if st, _ := admin.do("POST", "/counter", map[string]any{"rule_id": rule["rule_id"], "name": obamaName, "id_number": "110105194912310021"}); st != 400 {
		t.Errorf("bad ID number: %d", st)
	}
}

// fakeCapture stands in for engine/capture at the CounterCapture boundary:
// it writes the record a real capture would and reports its verdict.
type fakeCapture struct {
	db  *store.DB
	mu  sync.Mutex
	res map[string]*webui.CounterResult
}

func (f *fakeCapture) Offer(ctx context.Context, req webui.CounterRequest, sdp string) (string, error) {
	rec := &engine.Record{AppID: req.AppID, RuleID: req.Rule.ID, Action: "CounterVerification", Channel: "counter", IDNumber: req.IDNumber,
		Name: req.Name, Result: "FailedOperation.CompareLowSimilarity", ErrCode: 1, Sim: 66.5, CreatedBy: req.Operator}
	if err := f.db.CreateRecord(ctx, rec); err != nil {
		return "", err
	}
	f.mu.Lock()
	f.res[req.SessionID] = &webui.CounterResult{RecordID: rec.ID, ErrCode: 1, Result: rec.Result, Sim: 66.5, Message: "比对相似度未达到通过标准"}
	f.mu.Unlock()
	return "answer-sdp", nil
}

func (f *fakeCapture) Result(ctx context.Context, id string) (*webui.CounterResult, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.res[id]
	return r, r != nil, nil
}

func TestConsoleCounterWithCapture(t *testing.T) {
	fc := &fakeCapture{res: map[string]*webui.CounterResult{}}
	ce := newConsoleEnv(t, func(c *webui.ConsoleConfig) { fc.db = c.Store.(*store.DB); c.Counter = fc })
	admin := ce.admin()
	_, app := admin.do("POST", "/apps", map[string]any{"name": "窗口"})
	_, rule := admin.do("POST", "/rules", map[string]any{"app_id": app["app_id"], "name": "柜台", "liveness_mode": 3, "compare_source": "gallery"})
	_, s := admin.do("POST", "/counter", map[string]any{"rule_id": rule["rule_id"], "name": obamaName, "id_number": obamaID})
	id := s["session"].(string)
	if st, r := admin.do("POST", "/counter/"+id+"/offer", map[string]any{"sdp": "v=0 offer"}); st != 200 || r["sdp"] != "answer-sdp" {
		t.Fatalf("offer: %d %v", st, r)
	}
	_, state := admin.do("GET", "/counter/"+id, nil)
	res := state["result"].(map[string]any)
	if state["done"] != true || res["sim"].(float64) != 66.5 {
		t.Fatalf("state %v", state)
	}
	// The borderline case goes to review and shows up as pending.
	if st, r := admin.do("POST", "/counter/"+id+"/review", map[string]any{"note": "相似度接近阈值"}); st != 200 {
		t.Fatalf("to review: %d %v", st, r)
	}
	_, pend := admin.do("GET", "/records?status=pending", nil)
	if pend["total"].(float64) != 1 {
		t.Errorf("pending %v", pend)
	}
	// ReadOnly cannot run the counter.
	ro := ce.user(admin, "ro", engine.RoleReadOnly)
	if st, _ := ro.do("POST", "/counter", map[string]any{"rule_id": rule["rule_id"], "name": obamaName, "id_number": obamaID}); st != 403 {
		t.Errorf("ReadOnly counter: %d", st)
	}
}

func TestConsoleUsageCSVAndSVG(t *testing.T) {
	ce := newConsoleEnv(t)
	admin := ce.admin()
	ctx := context.Background()
	now := time.Now()
	for i := 0; i < 3; i++ {
		ce.db.CreateRecord(ctx, &engine.Record{AppID: ce.appID, Action: "IdCardVerification", Channel: "api", ErrCode: i % 2, CreatedAt: now.Add(-time.Duration(i) * time.Hour * 24)})
	}
	_, u := admin.do("GET", "/usage?range=7d&by=action", nil)
	tab := u["table"].(map[string]any)
	if tab["total"].(float64) != 3 || len(tab["days"].([]any)) != 7 {
		t.Errorf("usage %v", tab)
	}
	if st, r := admin.do("GET", "/usage?range=custom&from=2020-01-01&to=2020-06-01", nil); st != 400 || errCode(r) != engine.CodeInvalidParameterValue {
		t.Errorf("range > 90 days: %d %v", st, r)
	}
	req, _ := http.NewRequest("GET", ce.base+"/console/api/usage.csv?range=30d", nil)
	resp, err := admin.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	csvText, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if lines := strings.Split(strings.TrimSpace(string(csvText)), "\n"); len(lines) != 4 || !strings.Contains(lines[0], "day,app_id,action,channel,calls,passed") {
		t.Errorf("csv %q", csvText)
	}
	if !strings.Contains(resp.Header.Get("Content-Disposition"), "heshen-usage-") {
		t.Errorf("csv disposition %q", resp.Header.Get("Content-Disposition"))
	}
	req, _ = http.NewRequest("GET", ce.base+"/console/api/usage.svg?range=7d&lang=en", nil)
	resp, err = admin.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	svg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var doc struct {
		XMLName  xml.Name `xml:"svg"`
		Polyline []struct {
			Points string `xml:"points,attr"`
		} `xml:"polyline"`
		Circles []struct{} `xml:"circle"`
	}
	if err := xml.Unmarshal(svg, &doc); err != nil || len(doc.Polyline) != 1 || len(doc.Circles) != 7 {
		t.Errorf("svg: %v, %d lines, %d points", err, len(doc.Polyline), len(doc.Circles))
	}
	// Keys: the public halves, base64 as the seed's console shows them.
	_, k := admin.do("GET", "/keys", nil)
	if !strings.HasPrefix(k["rsa"].(map[string]any)["pem"].(string), "-----BEGIN RSA PUBLIC KEY") {
		t.Errorf("rsa key %v", k["rsa"])
	}
	// Credentials: the SecretKey is shown once, never listed.
	st, cr := admin.do("POST", "/credentials", map[string]any{"app_id": ce.appID})
	if st != 200 || len(cr["secret_key"].(string)) != 32 {
		t.Fatalf("credential %d %v", st, cr)
	}
	_, list := admin.do("GET", "/credentials", nil)
	if b, _ := json.Marshal(list); strings.Contains(string(b), cr["secret_key"].(string)) {
		t.Error("secret key listed")
	}
	if st, _ := admin.do("POST", "/credentials/"+url.PathEscape(cr["secret_id"].(string))+"/revoke", map[string]any{}); st != 200 {
		t.Error("revoke")
	}
	c, _ := ce.db.FindCredential(ctx, cr["secret_id"].(string))
	if !c.Revoked() {
		t.Error("not revoked")
	}
}

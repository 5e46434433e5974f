package webui

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
	"golang.org/x/crypto/bcrypt"

	"heshen/engine"
	"heshen/engine/eligibility"
	"heshen/engine/fieldcrypt"
	"heshen/engine/notify"
)

// The console is the built-in web UI under /console/: plain HTML/CSS/JS
// embedded in the binary, talking JSON to /console/api/. Every API route is
// registered with a console action of engine.PermissionTable and the guard
// checks the signed-in user's scope for it on every request; every change
// is written to the operation log (Kind "console").

//go:embed console
var consoleAssets embed.FS

// ConsoleStore is what the console needs from the record store;
// *store.DB implements it.
type ConsoleStore interface {
	engine.Store
	ConsolePut(ctx context.Context, kind, id string, v any) error
	ConsoleGet(ctx context.Context, kind, id string, v any) error
	ConsoleList(ctx context.Context, kind string, reverse bool, fn func(id string, v []byte) bool) error
	ConsoleDelete(ctx context.Context, kind, id string) error
	ConsolePrune(ctx context.Context, kind string, keep int) (int, error)
	EachRecord(ctx context.Context, from, to time.Time, fn func(r *engine.Record) bool) error
	HasIdentity(ctx context.Context, idNumber string) (bool, error)
	PutIdentities(ctx context.Context, ids []*engine.Identity) error
	UpdateApp(ctx context.Context, a *engine.App) error
}

// ConsoleConfig configures the console; zero values mean the defaults.
type ConsoleConfig struct {
	Store ConsoleStore
	// OpLog receives one entry per console change (and sign-ins).
	OpLog engine.OpLog
	// Search serves the operation-log page; nil disables it.
	Search engine.OpLogSearcher
	// Checker serves the eligibility page and the flows' verdicts; nil disables them.
	Checker *eligibility.Checker
	// Faces embeds gallery photos added in the console; nil refuses them.
	Faces engine.FaceEngine
	// Keys are the field-encryption key pairs whose public halves the console offers.
	Keys *fieldcrypt.Keys
	// Alerter counts API calls for the alert rules (feed it with
	// Alerter.OpLog); nil creates one that sees nothing.
	Alerter *engine.Alerter
	// Sender delivers alerts and reports (default: a zero notify.Sender).
	Sender *notify.Sender
	// Counter runs live counter verifications; nil until engine/capture is
	// wired, and the counter page then says capture is unavailable.
	Counter CounterCapture
	// Location is the time zone of days in statistics and of the daily
	// report hour (default time.Local).
	Location *time.Location
	// Clock drives the alert and report loops (default the system clock).
	Clock engine.Clock
	// Now is the request clock (default time.Now).
	Now func() time.Time
	// AdminPassword, if set, is the first admin's password; otherwise one is
	// generated and passed to PrintAdminPassword once.
	AdminPassword      string
	PrintAdminPassword func(user, password string)
	// BcryptCost (default bcrypt.DefaultCost).
	BcryptCost int
	// SecureCookies marks cookies Secure even when the request is not seen
	// as TLS (e.g. behind a TLS-terminating proxy).
	SecureCookies bool
	// OnSettings is called with the settings at start and after each change
	// (the sweeper's retention, default thresholds).
	OnSettings func(ConsoleSettings)
	// Logger reports background errors (default slog.Default()).
	Logger *slog.Logger
}

// Console is the console's state; pass it in Options.Console and run its
// background loops with Run.
type Console struct {
	cfg    ConsoleConfig
	policy *engine.Policy

	mu       sync.Mutex
	sessions map[string]*session

	routes   []ConsoleRoute
	reload   chan struct{}
	dummy    []byte // bcrypt hash compared for unknown users, so timing says nothing
	counters *counterTable
}

// ConsoleRoute is one console API route and the action that guards it.
type ConsoleRoute struct {
	Method, Path, Action string
	Write                bool
}

type session struct {
	id, user, csrf string
	created, seen  time.Time
}

const (
	consoleCookie = "heshen_console"
	preCookie     = "heshen_pre"
	csrfHeader    = "X-CSRF-Token"
	sessionIdle   = 30 * time.Minute
	sessionMax    = 12 * time.Hour
	maxSessions   = 10000
)

// Console error codes (beside the engine's).
const (
	codeUnauthorized   = "AuthFailure.UnauthorizedOperation"
	codeNotSignedIn    = "AuthFailure.NotSignedIn"
	codeBadCSRF        = "AuthFailure.InvalidCSRFToken"
	codeBadLogin       = "AuthFailure.InvalidCredentials"
	codeLocked         = "AuthFailure.AccountLocked"
	codeMustChange     = "AuthFailure.PasswordChangeRequired"
	codeUnavailable    = "UnsupportedOperation.ConsoleFeatureUnavailable"
	codeCaptureMissing = "FailedOperation.CaptureUnavailable"
)

// NewConsole checks the configuration and creates the first admin when the
// store has no users.
func NewConsole(ctx context.Context, cfg ConsoleConfig) (*Console, error) {
	if cfg.Store == nil {
		return nil, errors.New("console: Store is required")
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Clock == nil {
		cfg.Clock = systemClock{}
	}
	if cfg.BcryptCost == 0 {
		cfg.BcryptCost = bcrypt.DefaultCost
	}
	if cfg.Alerter == nil {
		cfg.Alerter = engine.NewAlerter(cfg.Location)
	}
	if cfg.Sender == nil {
		cfg.Sender = &notify.Sender{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	con := &Console{cfg: cfg, policy: engine.NewPolicy(), sessions: map[string]*session{},
		reload: make(chan struct{}, 1), counters: newCounterTable()}
	var err error
	if con.dummy, err = bcrypt.GenerateFromPassword([]byte("not a password"), cfg.BcryptCost); err != nil {
		return nil, err
	}
	if err := con.firstAdmin(ctx); err != nil {
		return nil, err
	}
	if cfg.OnSettings != nil {
		cfg.OnSettings(con.settings(ctx))
	}
	return con, nil
}

type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// account holds per-user console flags the domain User does not.
type account struct {
	MustChange bool      `json:"must_change"`
	ChangedAt  time.Time `json:"password_changed_at,omitzero"`
}

const (
	kindAccount      = "account"
	kindRule         = "alert_rule"
	kindChannel      = "channel"
	kindAlertEvent   = "alert_event"
	kindSettings     = "settings"
	kindSubscription = "subscription"
	kindReviewReq    = "review_request"
)

// firstAdmin creates "admin" (FullAccess) when there are no users.
func (con *Console) firstAdmin(ctx context.Context) error {
	users, err := con.cfg.Store.FindUsers(ctx)
	if err != nil || len(users) > 0 {
		return err
	}
	pw, generated := con.cfg.AdminPassword, false
	if pw == "" {
		pw, generated = randomToken(12), true
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(pw), con.cfg.BcryptCost)
	if err != nil {
		return err
	}
	u := &engine.User{Name: "admin", PasswordHash: string(hash), Role: engine.RoleFullAccess, CreatedBy: "system", CreatedAt: con.cfg.Now().UTC()}
	if err := con.cfg.Store.PutUser(ctx, u); err != nil {
		return err
	}
	if err := con.cfg.Store.ConsolePut(ctx, kindAccount, u.Name, account{MustChange: generated}); err != nil {
		return err
	}
	if generated && con.cfg.PrintAdminPassword != nil {
		con.cfg.PrintAdminPassword(u.Name, pw)
	}
	con.log(&engine.OpEntry{Actor: "system", Action: "CreateUser", Code: engine.ResultSuccess,
		Request: mustJSON(map[string]any{"name": u.Name, "role": u.Role, "generated_password": generated})})
	return nil
}

func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// log writes a console entry to the operation log.
func (con *Console) log(e *engine.OpEntry) {
	if con.cfg.OpLog == nil {
		return
	}
	e.Kind = engine.OpKindConsole
	if e.Time.IsZero() {
		e.Time = con.cfg.Now()
	}
	con.cfg.OpLog.Append(e)
}

// Routes lists the console API routes and their actions.
func (con *Console) Routes() []ConsoleRoute { return append([]ConsoleRoute(nil), con.routes...) }

// mount registers the console on app; a nil console mounts nothing.
func (con *Console) mount(app *fiber.App) {
	if con == nil {
		return
	}
	sub, _ := fs.Sub(consoleAssets, "console")
	api := app.Group("/console/api")
	api.Get("/session", con.handleSession)
	api.Post("/login", con.handleLogin)
	api.Post("/logout", con.handleLogout)
	con.apiRoutes(api)
	api.Use(func(c *fiber.Ctx) error {
		return con.fail(c, engine.Errorf(engine.CodeResourceNotFound, "接口不存在", "no such console endpoint"))
	})
	app.Use("/console", func(c *fiber.Ctx) error {
		c.Set("X-Content-Type-Options", "nosniff")
		c.Set("X-Frame-Options", "DENY")
		c.Set("Referrer-Policy", "same-origin")
		c.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self'; media-src 'self' blob:; frame-ancestors 'none'")
		return c.Next()
	}, filesystem.New(filesystem.Config{Root: http.FS(sub), Index: "index.html", MaxAge: 300}))
}

// handler is a guarded console handler: a is the signed-in user and the
// scope the route's action grants.
type handler func(c *fiber.Ctx, a *actor) error

type actor struct {
	user  *engine.User
	sess  *session
	scope engine.Scope
	con   *Console
	// entry is the op-log entry of a change; handlers add AppID and detail.
	entry *engine.OpEntry
}

// owns reports whether the actor may touch an item created by createdBy
// (or belonging to an app the actor created, when appOwner says so).
func (a *actor) owns(createdBy string) bool {
	return a.scope == engine.ScopeAll || createdBy == a.user.Name
}

func (con *Console) route(r fiber.Router, method, path, action string, h handler) {
	perm, ok := con.policy.Permission(action)
	if !ok {
		panic("console route " + path + " has unknown action " + action)
	}
	write := method != fiber.MethodGet
	if write != perm.Write && action != engine.ActCheckEligibility {
		panic("console route " + method + " " + path + " does not match its action's write flag")
	}
	con.routes = append(con.routes, ConsoleRoute{Method: method, Path: "/console/api" + path, Action: action, Write: write})
	r.Add(method, path, func(c *fiber.Ctx) error { return con.guard(c, action, write, h) })
}

// guard authenticates, authorises, checks CSRF on changes, runs h and logs
// the change.
func (con *Console) guard(c *fiber.Ctx, action string, write bool, h handler) error {
	c.Set("Cache-Control", "no-store")
	sess := con.sessionOf(c)
	if sess == nil {
		return con.fail(c, engine.Errorf(codeNotSignedIn, "请先登录", "sign in first"))
	}
	ctx := c.UserContext()
	u, err := con.cfg.Store.FindUser(ctx, sess.user)
	if err != nil {
		con.dropSession(sess.id)
		return con.fail(c, engine.Errorf(codeNotSignedIn, "请先登录", "sign in first"))
	}
	if write {
		if tok := c.Get(csrfHeader); tok == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(sess.csrf)) != 1 {
			return con.fail(c, engine.Errorf(codeBadCSRF, "页面已过期,请刷新后重试", "missing or wrong CSRF token"))
		}
	}
	if action != engine.ActModifyOwnPassword && action != engine.ActDescribeOwnAccount {
		var acc account
		if con.cfg.Store.ConsoleGet(ctx, kindAccount, u.Name, &acc) == nil && acc.MustChange {
			return con.fail(c, engine.Errorf(codeMustChange, "请先修改初始密码", "change the one-time password first"))
		}
	}
	scope := con.policy.Scope(u, action)
	if scope == engine.ScopeNone {
		if write {
			con.log(&engine.OpEntry{Actor: u.Name, Action: action, Code: codeUnauthorized, SourceIP: c.IP(), Request: mustJSON(map[string]string{"path": c.Path()})})
		}
		return con.fail(c, engine.Errorf(codeUnauthorized, "当前角色无权执行此操作", "the role %s may not %s", u.Role, action))
	}
	a := &actor{user: u, sess: sess, scope: scope, con: con}
	if write {
		a.entry = &engine.OpEntry{Actor: u.Name, Action: action, SourceIP: c.IP(), Request: requestForLog(c)}
	}
	t0 := time.Now()
	err = h(c, a)
	if write {
		a.entry.DurationMs = float64(time.Since(t0).Microseconds()) / 1000
		a.entry.Code = engine.ResultSuccess
		if err != nil {
			a.entry.Code = engine.AsError(err).Code
		}
		con.log(a.entry)
	}
	if err != nil {
		return con.fail(c, err)
	}
	return nil
}

// requestForLog is the path and JSON body of a change (the op log masks
// names, ID numbers and images); file uploads are logged by name and size.
func requestForLog(c *fiber.Ctx) json.RawMessage {
	m := map[string]any{"method": c.Method(), "path": strings.Clone(c.Path())}
	if strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEApplicationJSON) {
		var body map[string]any
		if json.Unmarshal(c.Body(), &body) == nil {
			for _, k := range []string{"password", "old_password", "new_password", "smtp_password"} {
				if _, ok := body[k]; ok {
					body[k] = "***"
				}
			}
			m["body"] = body
		}
	} else if f, err := c.MultipartForm(); err == nil {
		files := map[string]any{}
		for k, fs := range f.File {
			for _, fh := range fs {
				files[k] = map[string]any{"name": fh.Filename, "size": fh.Size}
			}
		}
		m["files"] = files
		m["fields"] = f.Value
	}
	return mustJSON(m)
}

// fail answers an error as {"error": {...}} with a fitting status.
func (con *Console) fail(c *fiber.Ctx, err error) error {
	e := engine.AsError(err)
	if e.Code == engine.CodeInternal {
		con.cfg.Logger.Error("console", "path", c.Path(), "err", err)
	}
	status := fiber.StatusInternalServerError
	switch {
	case e.Code == codeNotSignedIn || e.Code == codeBadLogin || e.Code == codeLocked:
		status = fiber.StatusUnauthorized
	case e.Code == codeUnauthorized || e.Code == codeBadCSRF || e.Code == codeMustChange:
		status = fiber.StatusForbidden
	case e.Code == engine.CodeResourceNotFound:
		status = fiber.StatusNotFound
	case e.Code == "ResourceInUse":
		status = fiber.StatusConflict
	case e.Code == codeUnavailable || e.Code == codeCaptureMissing:
		status = fiber.StatusServiceUnavailable
	case strings.HasPrefix(e.Code, "InvalidParameter") || strings.HasPrefix(e.Code, "MissingParameter") ||
		strings.HasPrefix(e.Code, "FailedOperation") || e.Code == engine.CodeUnsupportedOperation:
		status = fiber.StatusBadRequest
	}
	return c.Status(status).JSON(fiber.Map{"error": fiber.Map{"code": e.Code, "reason": e.Reason, "message": e.Message, "message_en": e.EN}})
}

func (con *Console) secure(c *fiber.Ctx) bool {
	return con.cfg.SecureCookies || c.Protocol() == "https"
}

func (con *Console) setCookie(c *fiber.Ctx, name, value string, maxAge int) {
	c.Cookie(&fiber.Cookie{Name: name, Value: value, Path: "/console", HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode,
		Secure: con.secure(c), MaxAge: maxAge})
}

func (con *Console) sessionOf(c *fiber.Ctx) *session {
	id := c.Cookies(consoleCookie)
	if id == "" {
		return nil
	}
	now := con.cfg.Now()
	con.mu.Lock()
	defer con.mu.Unlock()
	s := con.sessions[id]
	if s == nil {
		return nil
	}
	if now.Sub(s.seen) > sessionIdle || now.Sub(s.created) > sessionMax {
		delete(con.sessions, id)
		return nil
	}
	s.seen = now
	return s
}

func (con *Console) dropSession(id string) {
	con.mu.Lock()
	delete(con.sessions, id)
	con.mu.Unlock()
}

// dropUserSessions ends every session of a user (deleted, role or password changed).
func (con *Console) dropUserSessions(name, except string) {
	con.mu.Lock()
	for id, s := range con.sessions {
		if s.user == name && id != except {
			delete(con.sessions, id)
		}
	}
	con.mu.Unlock()
}

func (con *Console) newSession(user string) *session {
	now := con.cfg.Now()
	s := &session{id: randomToken(32), user: user, csrf: randomToken(24), created: now, seen: now}
	con.mu.Lock()
	defer con.mu.Unlock()
	if len(con.sessions) >= maxSessions {
		for id, o := range con.sessions {
			if now.Sub(o.seen) > sessionIdle || now.Sub(o.created) > sessionMax {
				delete(con.sessions, id)
			}
		}
	}
	con.sessions[s.id] = s
	return s
}

// handleSession tells the page who is signed in. Without a session it
// hands out the pre-session CSRF token that sign-in must echo.
func (con *Console) handleSession(c *fiber.Ctx) error {
	c.Set("Cache-Control", "no-store")
	if s := con.sessionOf(c); s != nil {
		if u, err := con.cfg.Store.FindUser(c.UserContext(), s.user); err == nil {
			return c.JSON(con.me(c.UserContext(), u, s))
		}
	}
	tok := c.Cookies(preCookie)
	if len(tok) < 16 {
		tok = randomToken(24)
		con.setCookie(c, preCookie, tok, 3600)
	}
	return c.Status(fiber.StatusUnauthorized).JSON(fiber.Map{"csrf": tok, "signed_in": false})
}

func (con *Console) me(ctx context.Context, u *engine.User, s *session) fiber.Map {
	var acc account
	con.cfg.Store.ConsoleGet(ctx, kindAccount, u.Name, &acc)
	actions := map[string]string{}
	for _, p := range engine.PermissionTable() {
		if sc := con.policy.Scope(u, p.Action); sc != engine.ScopeNone {
			actions[p.Action] = sc.String()
		}
	}
	return fiber.Map{"signed_in": true, "user": u.Name, "role": u.Role, "csrf": s.csrf, "must_change": acc.MustChange,
		"actions": actions, "capture": con.cfg.Counter != nil, "search": con.cfg.Search != nil, "checker": con.cfg.Checker != nil}
}

// Sign-in lockout.
const (
	maxFailures = 5
	lockFor     = 15 * time.Minute
)

func (con *Console) handleLogin(c *fiber.Ctx) error {
	c.Set("Cache-Control", "no-store")
	pre := c.Cookies(preCookie)
	if tok := c.Get(csrfHeader); pre == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(pre)) != 1 {
		return con.fail(c, engine.Errorf(codeBadCSRF, "页面已过期,请刷新后重试", "missing or wrong CSRF token"))
	}
	var req struct {
		Name     string `json:"name"`
		Password string `json:"password"`
	}
	if err := json.Unmarshal(c.Body(), &req); err != nil || req.Name == "" || len(req.Name) > 64 || len(req.Password) > 200 {
		return con.fail(c, engine.Errorf(engine.CodeInvalidParameter, "请输入用户名和密码", "name and password are required"))
	}
	ctx := c.UserContext()
	now := con.cfg.Now()
	entry := &engine.OpEntry{Actor: req.Name, Action: "Login", SourceIP: c.IP(), Request: mustJSON(map[string]string{"name": req.Name})}
	u, err := con.cfg.Store.FindUser(ctx, req.Name)
	if err != nil {
		bcrypt.CompareHashAndPassword(con.dummy, []byte(req.Password))
		entry.Code = codeBadLogin
		con.log(entry)
		return con.fail(c, engine.Errorf(codeBadLogin, "用户名或密码错误", "wrong name or password"))
	}
	if now.Before(u.LockedUntil) {
		entry.Code = codeLocked
		con.log(entry)
		return con.fail(c, engine.Errorf(codeLocked, "登录失败次数过多,账号已临时锁定", "too many failed sign-ins; the account is locked until %s", u.LockedUntil.Format(time.RFC3339)))
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(req.Password)) != nil {
		u.FailedLogins++
		code := codeBadLogin
		if u.FailedLogins >= maxFailures {
			u.LockedUntil = now.Add(lockFor)
			u.FailedLogins = 0
			code = codeLocked
		}
		con.cfg.Store.PutUser(ctx, u)
		entry.Code = code
		con.log(entry)
		if code == codeLocked {
			return con.fail(c, engine.Errorf(codeLocked, "登录失败次数过多,账号已临时锁定", "too many failed sign-ins; the account is locked for %v", lockFor))
		}
		return con.fail(c, engine.Errorf(codeBadLogin, "用户名或密码错误", "wrong name or password"))
	}
	if u.FailedLogins != 0 || !u.LockedUntil.IsZero() {
		u.FailedLogins, u.LockedUntil = 0, time.Time{}
		if err := con.cfg.Store.PutUser(ctx, u); err != nil {
			return con.fail(c, err)
		}
	}
	s := con.newSession(u.Name)
	con.setCookie(c, consoleCookie, s.id, int(sessionMax/time.Second))
	con.setCookie(c, preCookie, "", -1)
	entry.Code = engine.ResultSuccess
	con.log(entry)
	return c.JSON(con.me(ctx, u, s))
}

func (con *Console) handleLogout(c *fiber.Ctx) error {
	s := con.sessionOf(c)
	if s == nil {
		return c.JSON(fiber.Map{"signed_in": false})
	}
	if tok := c.Get(csrfHeader); subtle.ConstantTimeCompare([]byte(tok), []byte(s.csrf)) != 1 {
		return con.fail(c, engine.Errorf(codeBadCSRF, "页面已过期,请刷新后重试", "missing or wrong CSRF token"))
	}
	con.dropSession(s.id)
	con.setCookie(c, consoleCookie, "", -1)
	con.log(&engine.OpEntry{Actor: s.user, Action: "Logout", Code: engine.ResultSuccess, SourceIP: c.IP()})
	return c.JSON(fiber.Map{"signed_in": false})
}

// checkPassword enforces the password rule.
func checkPassword(name, pw string) error {
	if len([]rune(pw)) < 10 || len(pw) > 200 {
		return engine.Errorf(engine.CodeInvalidParameterValue, "密码长度应为10到200个字符", "a password has 10 to 200 characters")
	}
	if strings.EqualFold(pw, name) {
		return engine.Errorf(engine.CodeInvalidParameterValue, "密码不能与用户名相同", "the password must differ from the user name")
	}
	return nil
}

func (con *Console) hash(pw string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), con.cfg.BcryptCost)
	return string(h), err
}

// bodyJSON decodes a JSON request body strictly.
func bodyJSON(c *fiber.Ctx, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(c.Body())))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return engine.Errorf(engine.CodeInvalidParameter, "请求格式错误", "malformed JSON body: %v", err)
	}
	return nil
}

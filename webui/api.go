package webui

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"heshen/engine"
)

// APIVersion is the only X-TC-Version the API speaks.
const APIVersion = "2018-03-01"

// apiService is the service name in the TC3 credential scope.
const apiService = "faceid"

// Platform-wide codes (reference §1).
const (
	codeInternal          = "InternalError"
	codeInvalidRequest    = "InvalidRequest"
	codeSizeLimit         = "RequestSizeLimitExceeded"
	codeInvalidAction     = "InvalidAction"
	codeNoSuchVersion     = "NoSuchVersion"
	codeMissingParameter  = "MissingParameter"
	codeInvalidParameter  = "InvalidParameter"
	codeInvalidAuth       = "AuthFailure.InvalidAuthorization"
	codeSecretIDNotFound  = "AuthFailure.SecretIdNotFound"
	codeSignatureExpire   = "AuthFailure.SignatureExpire"
	codeSignatureFailure  = "AuthFailure.SignatureFailure"
	codeUnauthorizedOp    = "AuthFailure.UnauthorizedOperation"
	codeUnsupportedEncode = "InvalidParameter.UnsupportEncryptField"
)

func newRequestID() string { return uuid.NewString() }

// apiError is an error answered in Response.Error.
type apiError struct {
	Code, Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func apiErr(code, msg string) *apiError { return &apiError{Code: code, Message: msg} }

// call is one API request on its way through the handler.
type call struct {
	ctx       context.Context
	requestID string
	action    string
	lang      string
	secretID  string
	cred      *engine.Credential
	body      []byte
	sourceIP  string
	start     time.Time
	steps     []engine.Stage
	lastLap   time.Time
	bizToken  string
	result    string // Result of a verification, for the op log and metrics
	baseURL   string // scheme://host of the request (DetectAuth's Url)
}

func (k *call) lap(name string) {
	now := time.Now()
	k.steps = append(k.steps, engine.Stage{Name: name, Ms: float64(now.Sub(k.lastLap).Microseconds()) / 1000})
	k.lastLap = now
}

// msg picks the message in the caller's language.
func (k *call) msg(e *engine.Error) string {
	if strings.HasPrefix(k.lang, "en") || e.Message == "" {
		return e.EN
	}
	return e.Message
}

func (s *Server) routes() {
	s.app.Post("/", s.handleAPI)
	s.app.Get("/healthz", func(c *fiber.Ctx) error { return c.SendString("ok") })
	s.app.Get("/readyz", func(c *fiber.Ctx) error {
		if s.opt.Ready != nil {
			if err := s.opt.Ready(); err != nil {
				return c.Status(fiber.StatusServiceUnavailable).SendString("not ready: " + err.Error())
			}
		}
		return c.SendString("ready")
	})
	s.app.Get("/metrics", s.metrics.handler())
	s.opt.Console.mount(s.app)
	s.opt.Live.mount(s.app)
}

// handleAPI is POST /: authenticate, dispatch, answer in the Tencent envelope,
// log one OpEntry.
func (s *Server) handleAPI(c *fiber.Ctx) error {
	k := &call{
		requestID: newRequestID(),
		action:    strings.Clone(c.Get("X-TC-Action")),
		lang:      strings.Clone(c.Get("X-TC-Language")),
		sourceIP:  c.IP(),
		start:     time.Now(),
		ctx:       c.UserContext(),
		baseURL:   strings.Clone(c.BaseURL()),
	}
	k.lastLap = k.start
	// The body outlives the handler in the op log: copy it out of fasthttp's buffer.
	k.body = bytes.Clone(c.Body())
	out, err := s.serveCall(c, k)
	var resp []byte
	code := resultCode(k, err)
	if err != nil {
		ae := toAPIError(k, err)
		resp = errorEnvelope(k.requestID, ae.Code, ae.Message)
	} else {
		resp, err = successEnvelope(k.requestID, out)
		if err != nil {
			code = codeInternal
			resp = errorEnvelope(k.requestID, codeInternal, "internal error")
		}
	}
	c.Set(fiber.HeaderContentType, "application/json")
	c.Set("X-TC-RequestId", k.requestID)
	sendErr := c.Status(fiber.StatusOK).Send(resp)
	dur := time.Since(k.start)
	s.metrics.observeCall(s.knownAction(k.action), code, dur)
	if s.opt.OpLog != nil {
		var appID string
		if k.cred != nil {
			appID = k.cred.AppID
		}
		s.opt.OpLog.Append(&engine.OpEntry{
			Time:       k.start,
			Kind:       "api",
			AppID:      appID,
			SecretID:   k.secretID,
			Action:     k.action,
			RequestID:  k.requestID,
			BizToken:   k.bizToken,
			SourceIP:   k.sourceIP,
			Code:       code,
			DurationMs: float64(dur.Microseconds()) / 1000,
			Steps:      k.steps,
			Request:    k.body,
			Response:   resp,
		})
	}
	return sendErr
}

// resultCode is the code an op-log entry and the metrics carry: the error
// code, else the verification Result, else Success.
func resultCode(k *call, err error) string {
	if err != nil {
		return toAPIError(k, err).Code
	}
	if k.result != "" {
		return k.result
	}
	return engine.ResultSuccess
}

func (s *Server) knownAction(a string) string {
	if _, ok := s.actions[a]; ok {
		return a
	}
	return "unknown"
}

func toAPIError(k *call, err error) *apiError {
	if ae, ok := err.(*apiError); ok {
		return ae
	}
	e := engine.AsError(err)
	return &apiError{Code: e.Code, Message: k.msg(e)}
}

func errorEnvelope(requestID, code, msg string) []byte {
	b, _ := json.Marshal(map[string]any{"Response": map[string]any{
		"Error":     map[string]string{"Code": code, "Message": msg},
		"RequestId": requestID,
	}})
	return b
}

// successEnvelope wraps an action's output object and appends RequestId.
func successEnvelope(requestID string, out any) ([]byte, error) {
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	b = bytes.TrimSpace(b)
	if len(b) < 2 || b[0] != '{' {
		b = []byte("{}")
	}
	rid, _ := json.Marshal(requestID)
	var buf bytes.Buffer
	buf.WriteString(`{"Response":`)
	buf.Write(b[:len(b)-1])
	if len(b) > 2 {
		buf.WriteByte(',')
	}
	buf.WriteString(`"RequestId":`)
	buf.Write(rid)
	buf.WriteString("}}")
	return buf.Bytes(), nil
}

func (s *Server) writeError(c *fiber.Ctx, requestID, code, msg string) error {
	c.Set(fiber.HeaderContentType, "application/json")
	return c.Status(fiber.StatusOK).Send(errorEnvelope(requestID, code, msg))
}

// serveCall authenticates the request and runs its action.
func (s *Server) serveCall(c *fiber.Ctx, k *call) (any, error) {
	if err := s.authenticate(c, k); err != nil {
		k.lap("auth")
		return nil, err
	}
	k.lap("auth")
	act, ok := s.actions[k.action]
	if !ok {
		return nil, apiErr(codeInvalidAction, "unknown action "+strconv.Quote(k.action))
	}
	if v := c.Get("X-TC-Version"); v != APIVersion {
		return nil, apiErr(codeNoSuchVersion, "X-TC-Version must be "+APIVersion)
	}
	if !allowed(k.cred.Actions, k.action) {
		return nil, apiErr(codeUnauthorizedOp, "these credentials may not call "+k.action)
	}
	out, err := act(s, k)
	k.lap("action")
	return out, err
}

// allowed reports whether a credential's action list admits action; an
// empty list admits every action.
func allowed(list []string, action string) bool {
	if len(list) == 0 {
		return true
	}
	return slices.ContainsFunc(list, func(a string) bool {
		a = strings.TrimPrefix(a, "faceid:")
		return a == "*" || a == action
	})
}

// authenticate verifies the TC3-HMAC-SHA256 signature (reference §1).
func (s *Server) authenticate(c *fiber.Ctx, k *call) error {
	if k.action == "" {
		return apiErr(codeMissingParameter, "the X-TC-Action header is missing")
	}
	if c.Get("X-TC-Version") == "" {
		return apiErr(codeMissingParameter, "the X-TC-Version header is missing")
	}
	tsHeader := c.Get("X-TC-Timestamp")
	if tsHeader == "" {
		return apiErr(codeMissingParameter, "the X-TC-Timestamp header is missing")
	}
	ts, err := strconv.ParseInt(tsHeader, 10, 64)
	if err != nil || ts <= 0 {
		return apiErr(codeInvalidParameter, "X-TC-Timestamp must be Unix seconds")
	}
	authz := c.Get(fiber.HeaderAuthorization)
	if authz == "" {
		return apiErr(codeInvalidAuth, "the Authorization header is missing")
	}
	a, err := engine.ParseTC3Authorization(authz)
	if err != nil {
		return apiErr(codeInvalidAuth, "the Authorization header is not a valid TC3-HMAC-SHA256 authorization")
	}
	if !slices.Contains(a.Signed, "content-type") || !slices.Contains(a.Signed, "host") {
		return apiErr(codeInvalidAuth, "SignedHeaders must include content-type and host")
	}
	k.secretID = strings.Clone(a.SecretID)
	now := s.opt.Now()
	if d := now.Sub(time.Unix(ts, 0)); d > s.opt.SignatureSkew || d < -s.opt.SignatureSkew {
		return apiErr(codeSignatureExpire, "the request timestamp differs from server time by more than "+s.opt.SignatureSkew.String())
	}
	cred, err := s.opt.Store.FindCredential(k.ctx, a.SecretID)
	if err != nil {
		if engine.ErrorCode(err) == engine.CodeResourceNotFound {
			return apiErr(codeSecretIDNotFound, "SecretId not found")
		}
		return err
	}
	if cred.Revoked() {
		return apiErr(codeSecretIDNotFound, "SecretId has been revoked")
	}
	app, err := s.opt.Store.FindAppByID(k.ctx, cred.AppID)
	if err != nil {
		if engine.ErrorCode(err) == engine.CodeResourceNotFound {
			return apiErr(codeSecretIDNotFound, "the SecretId's app no longer exists")
		}
		return err
	}
	if app.Disabled {
		return apiErr(codeUnauthorizedOp, "the app is disabled")
	}
	if a.Service != apiService || a.Date != engine.TC3Date(ts) {
		return apiErr(codeSignatureFailure, "the credential scope must be "+engine.TC3Date(ts)+"/"+apiService+"/tc3_request")
	}
	req := engine.TC3Request{
		Method:    c.Method(),
		Query:     "",
		Headers:   map[string]string{},
		Signed:    a.Signed,
		Payload:   k.body,
		Unsigned:  c.Get("X-TC-Content-SHA256") == engine.TC3UnsignedPayload,
		Timestamp: ts,
		Service:   apiService,
	}
	for _, h := range a.Signed {
		if h == "host" {
			req.Headers[h] = string(c.Request().Host())
		} else {
			req.Headers[h] = c.Get(h)
		}
	}
	if !engine.TC3SignatureEqual(req.Signature(cred.SecretKey), a.Signature) {
		return apiErr(codeSignatureFailure, "the signature does not match")
	}
	// The signature covers neither X-TC-Action nor a nonce, so a captured
	// request could be replayed, even as another action: each signature is
	// accepted once. The parameterless challenge actions are exempt: two
	// users of one backend asking for a live code in the same second send
	// byte-identical requests, and answering both again leaks nothing.
	if !replayExempt[k.action] && !s.replay.firstUse(a.Signature, time.Unix(ts, 0)) {
		return apiErr(codeSignatureFailure, "this signature has been used already (replayed request)")
	}
	k.cred = cred
	return nil
}

var replayExempt = map[string]bool{"GetActionSequence": true, "GetLiveCode": true}

// replayCache remembers signatures until they could no longer pass the
// skew check.
type replayCache struct {
	mu     sync.Mutex
	ttl    time.Duration
	seen   map[string]time.Time
	writes int
}

func newReplayCache(ttl time.Duration) *replayCache {
	return &replayCache{ttl: ttl, seen: map[string]time.Time{}}
}

func (r *replayCache) firstUse(sig string, ts time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if exp, ok := r.seen[sig]; ok && now.Before(exp) {
		return false
	}
	exp := ts.Add(r.ttl)
	if e2 := now.Add(r.ttl); e2.After(exp) {
		exp = e2
	}
	r.seen[strings.Clone(sig)] = exp
	r.writes++
	if r.writes >= 4096 {
		r.writes = 0
		for k, e := range r.seen {
			if now.After(e) {
				delete(r.seen, k)
			}
		}
	}
	return true
}

// Package webui serves Heshen over HTTP with fiber v2: the Tencent
// FaceID-compatible API (POST / signed with TC3-HMAC-SHA256), health and
// readiness probes and Prometheus metrics. It is the only package that
// knows fiber; the domain stays in engine.
package webui

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"

	"heshen/engine"
	"heshen/engine/fieldcrypt"
)

// Options configure a Server; zero values mean the defaults.
type Options struct {
	Store    engine.Store
	Verifier *engine.Verifier
	// Keys unwrap callers' Encryption keys; nil refuses Encryption.
	Keys *fieldcrypt.Keys
	// OpLog receives one entry per API call; nil logs nothing.
	OpLog engine.OpLog
	// Logger reports internal errors (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock used for signature expiry (default time.Now).
	Now func() time.Time
	// MaxBodyBytes bounds a request body (default 11 MiB: an 8 MiB video in base64 plus fields).
	MaxBodyBytes int
	// SignatureSkew is the accepted clock difference (default 5 min).
	SignatureSkew time.Duration
	// URLAllowHosts lists the hosts ImageUrl/VideoUrl may point to
	// ("example.com", "*.example.com", "10.0.0.5:8000"); empty refuses URLs.
	URLAllowHosts []string
	// FetchTimeout bounds an ImageUrl/VideoUrl download (default 4 s).
	FetchTimeout time.Duration
	// Ready reports readiness for /readyz; nil is always ready.
	Ready func() error
	// ReadTimeout/WriteTimeout/IdleTimeout of connections (defaults 60 s, 60 s, 120 s).
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// Console serves the web console under /console/; nil serves none.
	Console *Console
	// Live serves the hosted flow (DetectAuth, GetDetectInfo*, the H5 page
	// under /h5/); nil answers those actions UnsupportedOperation.
	Live *Live
}

// Server is the HTTP front end.
type Server struct {
	mu      sync.Mutex
	ln      net.Listener
	closed  bool
	opt     Options
	app     *fiber.App
	replay  *replayCache
	metrics *metrics
	actions map[string]action
	fetch   *fetcher
}

// New builds the server and its routes.
func New(opt Options) (*Server, error) {
	if opt.Store == nil || opt.Verifier == nil {
		return nil, errors.New("webui: Store and Verifier are required")
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.MaxBodyBytes <= 0 {
		opt.MaxBodyBytes = 11 << 20
	}
	if opt.SignatureSkew <= 0 {
		opt.SignatureSkew = 5 * time.Minute
	}
	if opt.FetchTimeout <= 0 {
		opt.FetchTimeout = 4 * time.Second
	}
	if opt.ReadTimeout <= 0 {
		opt.ReadTimeout = 60 * time.Second
	}
	if opt.WriteTimeout <= 0 {
		opt.WriteTimeout = 60 * time.Second
	}
	if opt.IdleTimeout <= 0 {
		opt.IdleTimeout = 120 * time.Second
	}
	s := &Server{
		opt:     opt,
		replay:  newReplayCache(2 * opt.SignatureSkew),
		metrics: newMetrics(),
		fetch:   newFetcher(opt.URLAllowHosts, opt.FetchTimeout),
	}
	s.actions = s.actionTable()
	s.app = fiber.New(fiber.Config{
		AppName:               "heshen",
		BodyLimit:             opt.MaxBodyBytes,
		ReadTimeout:           opt.ReadTimeout,
		WriteTimeout:          opt.WriteTimeout,
		IdleTimeout:           opt.IdleTimeout,
		DisableStartupMessage: true,
		ErrorHandler:          s.errorHandler,
	})
	s.app.Use(recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: func(c *fiber.Ctx, e any) {
		opt.Logger.Error("panic in handler", "path", c.Path(), "panic", e)
	}}))
	s.routes()
	return s, nil
}

// App exposes the fiber app (tests use App().Test).
func (s *Server) App() *fiber.App { return s.app }

// Serve serves on ln until Shutdown; tlsConf, if set, wraps ln in TLS.
func (s *Server) Serve(ln net.Listener, tlsConf *tls.Config) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.ln = ln
	s.mu.Unlock()
	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
	}
	err := s.app.Listener(ln)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	return err
}

// Shutdown stops accepting connections and waits for requests in flight
// until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	ln := s.ln
	s.mu.Unlock()
	err := s.app.ShutdownWithContext(ctx)
	// fasthttp ignores a shutdown that comes before it registered the
	// listener; closing it ourselves ends Serve in every case.
	if ln != nil {
		ln.Close()
	}
	if err != nil && ln == nil {
		return nil // never served
	}
	return err
}

// errorHandler answers every error the Tencent way: HTTP 200 with
// Response.Error on the API path; plain status codes elsewhere.
func (s *Server) errorHandler(c *fiber.Ctx, err error) error {
	var fe *fiber.Error
	if errors.As(err, &fe) && (c.Path() != "/" || c.Method() != fiber.MethodPost) {
		return c.Status(fe.Code).SendString(fe.Message)
	}
	code, msg := codeInternal, "internal error"
	if fe != nil {
		switch fe.Code {
		case fiber.StatusRequestEntityTooLarge:
			code, msg = codeSizeLimit, "request body is larger than the limit"
		case fiber.StatusRequestTimeout:
			code, msg = "RequestTimeout", "request timed out"
		default:
			code, msg = codeInvalidRequest, fe.Message
		}
	} else {
		s.opt.Logger.Error("api error", "err", err)
	}
	return s.writeError(c, newRequestID(), code, msg)
}

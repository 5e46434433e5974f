package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"heshen/engine"
	"heshen/engine/capture"
	"heshen/engine/eligibility"
	"heshen/engine/fieldcrypt"
	"heshen/engine/vision"
	"heshen/store"
	"heshen/store/oplog"
	"heshen/webui"
)

const serveUsage = `usage: heshen serve [flags]

Runs the appliance: the Tencent FaceID-compatible API on POST /, /healthz,
/readyz and Prometheus /metrics. SIGINT/SIGTERM shut it down gracefully.

flags:
  --config FILE      TOML configuration (see config.example.toml)
  --data DIR         data directory (default ./heshen-data)
  --listen HOST:PORT listen address (default :8080)
  --tls-cert FILE    PEM certificate (with --tls-key)
  --tls-key FILE     PEM private key
  --tls-self-signed  serve HTTPS with a generated self-signed certificate
  --demo             seed a demo app and credentials, print them
  --demo-photo FILE  with --demo: enrol this photo as the demo gallery identity
  --capture-udp ADDR UDP HOST:PORT of live capture (default 0.0.0.0:8189)

The hosted flow's page is served under /h5/ (DetectAuth's Url) and the web
console under /console/. Browsers only open the camera on a secure page:
serve HTTPS (--tls-cert/--tls-key or --tls-self-signed) for every client
other than localhost.
`

// Demo identity: the GB 11643 standard's own example number.
const (
	demoAppName  = "Heshen demo"
	demoIDNumber = "11010519491231002X"
	demoName     = "演示用户"
)

func cmdServe(e *env) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serveMain(ctx, e)
}

// serveMain runs the server until ctx ends (tests cancel it).
func serveMain(ctx context.Context, e *env) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() { fmt.Fprint(e.stderr, serveUsage) }
	cfgPath := fs.String("config", "", "")
	data := fs.String("data", "", "")
	listen := fs.String("listen", "", "")
	tlsCert := fs.String("tls-cert", "", "")
	tlsKey := fs.String("tls-key", "", "")
	selfSigned := fs.Bool("tls-self-signed", false, "")
	demo := fs.Bool("demo", false, "")
	demoPhoto := fs.String("demo-photo", "", "")
	captureUDP := fs.String("capture-udp", "", "")
	if err := fs.Parse(e.args); err != nil {
		return 2
	}
	cfg, err := LoadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintln(e.stderr, "heshen serve:", err)
		return 2
	}
	if *data != "" {
		cfg.DataDir = *data
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	if *tlsCert != "" || *tlsKey != "" {
		cfg.TLS.Cert, cfg.TLS.Key, cfg.TLS.SelfSigned = *tlsCert, *tlsKey, false
	}
	if *selfSigned {
		cfg.TLS.SelfSigned = true
	}
	if *captureUDP != "" {
		cfg.Capture.UDPAddr = *captureUDP
	}
	if *demoPhoto != "" && !*demo {
		fmt.Fprintln(e.stderr, "heshen serve: --demo-photo needs --demo")
		return 2
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(e.stderr, "heshen serve:", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(e.stderr, nil))
	s := &serveRun{cfg: cfg, log: log, stderr: e.stderr}
	defer s.close()
	if err := s.start(ctx); err != nil {
		fmt.Fprintln(e.stderr, "heshen serve:", err)
		return 1
	}
	if *demo {
		out, err := s.seedDemo(ctx, *demoPhoto)
		if err != nil {
			fmt.Fprintln(e.stderr, "heshen serve: demo:", err)
			return 1
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		enc.Encode(out)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln, s.tls) }()
	s.ready.Store(true)
	log.Info("heshen serving", "addr", s.ln.Addr().String(), "tls", s.tls != nil, "data", cfg.DataDir, "version", version)
	if s.capture != nil {
		log.Info("live capture", "udp", s.capture.Addr().String(), "h5", "/h5/{BizToken}", "console", s.con != nil)
		if s.tls == nil {
			log.Warn("no TLS: browsers open the camera only on https pages (or on localhost); use --tls-self-signed or a certificate")
		}
	}
	select {
	case err := <-errc:
		if err != nil {
			fmt.Fprintln(e.stderr, "heshen serve:", err)
			return 1
		}
		return 0
	case <-ctx.Done():
	}
	s.ready.Store(false)
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout.Duration)
	defer cancel()
	if err := s.srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown", "err", err)
	}
	<-errc
	return 0
}

// serveRun holds what serve opened, closed in reverse order.
type serveRun struct {
	cfg     Config
	log     *slog.Logger
	db      *store.DB
	faces   *vision.Engine
	keys    *fieldcrypt.Keys
	ops     *oplog.Log
	srv     *webui.Server
	capture *capture.Server
	live    *webui.Live
	con     *webui.Console
	stderr  io.Writer
	// retention is what the sweeper applies: the config's until the
	// console's settings are saved, then theirs.
	retention atomic.Pointer[engine.Retention]
	ln        net.Listener
	tls       *tls.Config
	closers   []io.Closer
	cancel    context.CancelFunc
	ready     atomic.Bool
	sweeps    chan struct{}
	// consoleDone is closed when the console's alert loop has ended.
	consoleDone chan struct{}
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

func (s *serveRun) start(ctx context.Context) error {
	c := s.cfg
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return err
	}
	so := store.Options{Timeout: c.Store.LockTimeout.Duration, KeyFile: c.Store.KeyFile}
	if c.Store.Key != "" {
		k, err := store.ParseKey(c.Store.Key)
		if err != nil {
			return fmt.Errorf("store.key: %w", err)
		}
		so.Key = k
	}
	var err error
	if s.db, err = store.Open(filepath.Join(c.DataDir, store.DBFile), so); err != nil {
		if errors.Is(err, store.ErrLocked) {
			return fmt.Errorf("%w: is another heshen serve running on %s?", err, c.DataDir)
		}
		return err
	}
	s.closers = append(s.closers, s.db)
	if s.faces, err = vision.Open(vision.Options{ModelsDir: c.Engine.ModelsDir, Workers: c.Engine.Workers}); err != nil {
		return fmt.Errorf("face engine: %w", err)
	}
	s.closers = append(s.closers, s.faces)
	if s.keys, err = fieldcrypt.LoadOrCreate(filepath.Join(c.DataDir, "keys")); err != nil {
		return err
	}
	var opl engine.OpLog
	if c.OpLog.Enabled {
		if s.ops, err = oplog.Open(c.DataDir, oplog.Options{Retention: c.Retention.Monitor.Duration,
			Logf: func(f string, a ...any) { s.log.Warn(fmt.Sprintf(f, a...)) }}); err != nil {
			return fmt.Errorf("operation log: %w", err)
		}
		s.closers = append(s.closers, s.ops)
		opl = s.ops
	}
	video := &engine.FFmpeg{FFmpeg: c.Video.FFmpeg, FFprobe: c.Video.FFprobe, MaxSide: c.Video.MaxSide}
	var vd engine.VideoDecoder = video
	if err := video.Available(); err != nil {
		s.log.Warn("video actions disabled: ffmpeg/ffprobe not found (Debian package ffmpeg)", "err", err)
		vd = nil
	}
	v, err := engine.NewVerifier(engine.VerifierOptions{
		Faces: s.faces, Store: s.db, Video: vd,
		PassSim: c.Verify.PassSim, Policy: facePolicies[c.Verify.FacePolicy], PoseGate: c.Verify.PoseGate,
		MaxImageBytes: c.Verify.MaxImageBytes, MaxVideoBytes: c.Verify.MaxVideoBytes, MaxVideoSeconds: c.Verify.MaxVideoSeconds,
		Silent: engine.SilentOptions{Frames: c.Liveness.Frames, Best: c.Liveness.BestFrames, MinFrames: c.Liveness.MinFrames,
			MinLive: c.Liveness.MinLive, MinSecs: c.Liveness.MinSeconds, MinMotion: c.Liveness.MinMotion},
		MediaTTL: c.Retention.Media.Duration,
	})
	if err != nil {
		return err
	}
	ret := c.RetentionPeriods()
	s.retention.Store(&ret)
	if err := s.startLive(v); err != nil {
		return err
	}
	var apiLog engine.OpLog = opl
	if c.Console.Enabled {
		if apiLog, err = s.startConsole(ctx, opl); err != nil {
			return err
		}
	}
	s.srv, err = webui.New(webui.Options{
		Store: s.db, Verifier: v, Keys: s.keys, OpLog: apiLog, Logger: s.log, Console: s.con, Live: s.live,
		MaxBodyBytes: c.API.MaxBodyBytes, SignatureSkew: c.API.SignatureSkew.Duration,
		URLAllowHosts: c.API.URLAllowHosts, FetchTimeout: c.API.FetchTimeout.Duration,
		ReadTimeout: c.API.ReadTimeout.Duration, WriteTimeout: c.API.WriteTimeout.Duration, IdleTimeout: c.API.IdleTimeout.Duration,
		Ready: func() error {
			if !s.ready.Load() {
				return errors.New("starting or stopping")
			}
			return nil
		},
	})
	if err != nil {
		return err
	}
	admin, err := startAdminSocket(c.DataDir, s.db, s.faces)
	if err != nil {
		return err
	}
	s.closers = append(s.closers, admin)
	// Retention from the first minute (seed 001), at the periods in force.
	sctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.sweeps = make(chan struct{})
	go func() {
		defer close(s.sweeps)
		for {
			r, err := s.db.Sweep(sctx, time.Now(), *s.retention.Load())
			switch {
			case sctx.Err() != nil:
				return
			case err != nil:
				s.log.Warn("retention sweep", "err", err)
			default:
				s.log.Info("retention sweep", "media", r.Media, "biz_tokens", r.BizTokens, "record_identities", r.Identities, "records", r.Records)
			}
			select {
			case <-sctx.Done():
				return
			case <-time.After(c.Retention.SweepEvery.Duration):
			}
		}
	}()
	if s.con != nil {
		if err := s.con.SeedAlerts(ctx); err != nil {
			s.log.Warn("console: alert counts not seeded from the operation log", "err", err)
		}
		s.consoleDone = make(chan struct{})
		go func() {
			defer close(s.consoleDone)
			s.con.Run(sctx)
		}()
	}
	if s.tls, err = tlsConfig(c); err != nil {
		return err
	}
	if s.ln, err = net.Listen("tcp", c.Listen); err != nil {
		return err
	}
	return nil
}

func (s *serveRun) close() {
	if s.cancel != nil {
		s.cancel()
		<-s.sweeps
		if s.consoleDone != nil {
			<-s.consoleDone
		}
	}
	if s.ln != nil {
		s.ln.Close()
	}
	for i := len(s.closers) - 1; i >= 0; i-- {
		if err := s.closers[i].Close(); err != nil {
			s.log.Warn("close", "err", err)
		}
	}
}

// startLive opens the capture port and the hosted flow (DetectAuth, its
// H5 page, counter capture).
func (s *serveRun) startLive(v *engine.Verifier) error {
	c := s.cfg
	det, err := engine.NewDetector(engine.DetectorOptions{Faces: s.faces, Store: s.db, TokenTTL: c.H5.TokenTTL.Duration,
		PassSim: c.Verify.PassSim, MaxImageBytes: c.Verify.MaxImageBytes,
		MediaRetention: func() time.Duration { return s.retention.Load().Media }})
	if err != nil {
		return err
	}
	lc := webui.LiveConfig{Faces: s.faces, Detector: det, PublicURL: c.H5.PublicURL, FFmpeg: c.Video.FFmpeg, NoClip: !c.H5.Clip, Logger: s.log}
	if c.Capture.Enabled {
		s.capture, err = capture.New(capture.Options{UDPAddr: c.Capture.UDPAddr, HostIPs: c.Capture.HostIPs,
			MaxSessions: c.Capture.MaxSessions, Loopback: c.Capture.Loopback, PreferH264: c.Capture.PreferH264})
		if err != nil {
			return fmt.Errorf("%w (set [capture] udp_addr or --capture-udp, or disable capture)", err)
		}
		s.closers = append(s.closers, s.capture)
		lc.Capture = s.capture
	}
	if s.live, err = webui.NewLive(lc); err != nil {
		return err
	}
	// Closed before the capture server: running attempts end unrecorded.
	s.closers = append(s.closers, closerFunc(func() error { s.live.Close(); return nil }))
	return nil
}

// startConsole opens the console (docs/console.md) and returns the
// operation log the API should write to (counted for the alert rules).
func (s *serveRun) startConsole(ctx context.Context, opl engine.OpLog) (engine.OpLog, error) {
	c := s.cfg
	loc, err := c.Location()
	if err != nil {
		return nil, err
	}
	checker, err := eligibility.Load(c.Policy.File)
	if err != nil {
		return nil, fmt.Errorf("policy.file: %w", err)
	}
	alerter := engine.NewAlerter(loc)
	cc := webui.ConsoleConfig{
		Store: s.db, OpLog: opl, Checker: checker, Faces: s.faces, Keys: s.keys, Alerter: alerter, Location: loc,
		Counter: s.live.Counter(), AdminPassword: c.Console.AdminPassword, SecureCookies: c.Console.SecureCookies, Logger: s.log,
		PrintAdminPassword: func(u, pw string) {
			fmt.Fprintf(s.stderr, "console: user %s, one-time password %s (change it at the first sign-in)\n", u, pw)
		},
		OnSettings: func(cs webui.ConsoleSettings) {
			// Until the settings page is saved, the config file's periods rule.
			if cs.UpdatedAt.IsZero() {
				return
			}
			r := cs.Retention()
			if r.Media > 0 && r.Results > 0 && r.Identity > 0 && r.Monitor > 0 {
				s.retention.Store(&r)
			}
		},
	}
	if s.ops != nil {
		cc.Search = s.ops
	}
	if s.con, err = webui.NewConsole(ctx, cc); err != nil {
		return nil, err
	}
	return alerter.OpLog(opl), nil
}

// demoOut is what --demo prints.
type demoOut struct {
	Endpoint     string         `json:"endpoint"`
	AppID        string         `json:"app_id"`
	SecretID     string         `json:"secret_id"`
	SecretKey    string         `json:"secret_key"`
	Identity     map[string]any `json:"demo_identity,omitempty"`
	Hint         string         `json:"hint,omitempty"`
	RSAPublicKey string         `json:"rsa_public_key"`
	SM2PublicKey string         `json:"sm2_public_key"`
}

// seedDemo creates (once) the demo app and its credentials, and the demo
// identity from an operator-supplied photo: no face ships with the binary.
func (s *serveRun) seedDemo(ctx context.Context, photo string) (*demoOut, error) {
	apps, err := s.db.FindApps(ctx)
	if err != nil {
		return nil, err
	}
	var app *engine.App
	for _, a := range apps {
		if a.Name == demoAppName {
			app = a
		}
	}
	if app == nil {
		app = &engine.App{Name: demoAppName, CreatedBy: "demo"}
		if err := s.db.CreateApp(ctx, app); err != nil {
			return nil, err
		}
	}
	var cred *engine.Credential
	creds, err := s.db.FindCredentials(ctx, app.ID)
	if err != nil {
		return nil, err
	}
	for _, c := range creds {
		if !c.Revoked() && c.SecretKey != "" {
			cred = c
		}
	}
	if cred == nil {
		cred = &engine.Credential{AppID: app.ID}
		if err := s.db.CreateCredential(ctx, cred); err != nil {
			return nil, err
		}
	}
	scheme := "http"
	if s.tls != nil {
		scheme = "https"
	}
	out := &demoOut{Endpoint: scheme + "://" + s.ln.Addr().String() + "/", AppID: app.ID, SecretID: cred.SecretID, SecretKey: cred.SecretKey,
		RSAPublicKey: base64.StdEncoding.EncodeToString(s.keys.RSAPublicPEM())}
	if p, err := s.keys.SM2PublicPEM(); err == nil {
		out.SM2PublicKey = base64.StdEncoding.EncodeToString(p)
	}
	if photo != "" {
		img, err := os.ReadFile(photo)
		if err != nil {
			return nil, err
		}
		a, err := s.faces.Analyze(ctx, img, engine.AnalyzeOptions{Policy: engine.PickOnly, Gates: true})
		if err != nil {
			return nil, fmt.Errorf("--demo-photo %s: %w", photo, err)
		}
		id := &engine.Identity{IDNumber: demoIDNumber, Name: demoName, Photo: img, Embedding: a.Face().Embedding, CreatedBy: "demo"}
		if err := s.db.PutIdentity(ctx, id); err != nil {
			return nil, err
		}
	}
	if _, err := s.db.FindIdentity(ctx, demoIDNumber); err == nil {
		out.Identity = map[string]any{"IdCard": demoIDNumber, "Name": demoName}
	} else {
		out.Hint = fmt.Sprintf("no demo identity yet: restart with --demo-photo FILE, or run: heshen gallery add --data %s --id %s --name %s --photo FILE",
			s.cfg.DataDir, demoIDNumber, demoName)
	}
	return out, nil
}

// tlsConfig loads the configured certificate or makes (once) a self-signed one.
func tlsConfig(c Config) (*tls.Config, error) {
	cert, key := c.TLS.Cert, c.TLS.Key
	switch {
	case cert != "":
	case c.TLS.SelfSigned:
		cert, key = filepath.Join(c.DataDir, "tls-cert.pem"), filepath.Join(c.DataDir, "tls-key.pem")
		if _, err := os.Stat(cert); errors.Is(err, os.ErrNotExist) {
			if err := selfSign(cert, key); err != nil {
				return nil, fmt.Errorf("self-signed certificate: %w", err)
			}
		}
	default:
		return nil, nil
	}
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
}

func selfSign(certPath, keyPath string) error {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	host, _ := os.Hostname()
	tpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "heshen", Organization: []string{"Heshen self-signed"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(5, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
	}
	if host != "" {
		tpl.DNSNames = append(tpl.DNSNames, host)
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &k.PublicKey, k)
	if err != nil {
		return err
	}
	kd, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return err
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

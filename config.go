package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"heshen/engine"
)

// Duration reads "90s", "5m", "2h" from TOML.
type Duration struct{ time.Duration }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Config is heshen serve's configuration: the TOML file (config.example.toml
// documents every key) decoded over DefaultConfig, then flags.
type Config struct {
	DataDir         string   `toml:"data_dir"`
	Listen          string   `toml:"listen"`
	ShutdownTimeout Duration `toml:"shutdown_timeout"`

	TLS       TLSConfig       `toml:"tls"`
	API       APIConfig       `toml:"api"`
	Verify    VerifyConfig    `toml:"verify"`
	Liveness  LivenessConfig  `toml:"liveness"`
	Engine    EngineConfig    `toml:"engine"`
	Video     VideoConfig     `toml:"video"`
	Store     StoreConfig     `toml:"store"`
	Retention RetentionConfig `toml:"retention"`
	OpLog     OpLogConfig     `toml:"oplog"`
	Capture   CaptureConfig   `toml:"capture"`
	H5        H5Config        `toml:"h5"`
	Console   ConsoleSection  `toml:"console"`
	Policy    PolicyConfig    `toml:"policy"`
}

// CaptureConfig configures live capture over WebRTC (the H5 page and
// counter mode): one UDP port for every session.
type CaptureConfig struct {
	Enabled     bool     `toml:"enabled"`
	UDPAddr     string   `toml:"udp_addr"`
	HostIPs     []string `toml:"host_ips"`
	MaxSessions int      `toml:"max_sessions"`
	Loopback    bool     `toml:"loopback"`
	PreferH264  bool     `toml:"prefer_h264"`
}

// H5Config configures the hosted flow (DetectAuth and its page).
type H5Config struct {
	PublicURL string   `toml:"public_url"`
	TokenTTL  Duration `toml:"token_ttl"`
	Clip      bool     `toml:"clip"`
}

// ConsoleSection configures the web console.
type ConsoleSection struct {
	Enabled       bool   `toml:"enabled"`
	AdminPassword string `toml:"admin_password"`
	SecureCookies bool   `toml:"secure_cookies"`
	TimeZone      string `toml:"time_zone"`
}

// PolicyConfig names the eligibility policy file.
type PolicyConfig struct {
	File string `toml:"file"`
}

// TLSConfig: a provided certificate, or a generated self-signed one.
type TLSConfig struct {
	Cert       string `toml:"cert"`
	Key        string `toml:"key"`
	SelfSigned bool   `toml:"self_signed"`
}

// APIConfig tunes the Tencent-compatible API.
type APIConfig struct {
	MaxBodyBytes  int      `toml:"max_body_bytes"`
	SignatureSkew Duration `toml:"signature_skew"`
	URLAllowHosts []string `toml:"url_allow_hosts"`
	FetchTimeout  Duration `toml:"fetch_timeout"`
	ReadTimeout   Duration `toml:"read_timeout"`
	WriteTimeout  Duration `toml:"write_timeout"`
	IdleTimeout   Duration `toml:"idle_timeout"`
}

// VerifyConfig tunes photo verification.
type VerifyConfig struct {
	PassSim         float64 `toml:"pass_sim"`
	FacePolicy      string  `toml:"face_policy"`
	PoseGate        bool    `toml:"pose_gate"`
	MaxImageBytes   int     `toml:"max_image_bytes"`
	MaxVideoBytes   int     `toml:"max_video_bytes"`
	MaxVideoSeconds float64 `toml:"max_video_seconds"`
}

// LivenessConfig tunes silent liveness on uploaded videos.
type LivenessConfig struct {
	Frames     int     `toml:"frames"`
	BestFrames int     `toml:"best_frames"`
	MinFrames  int     `toml:"min_frames"`
	MinLive    float64 `toml:"min_live"`
	MinSeconds float64 `toml:"min_seconds"`
	MinMotion  float64 `toml:"min_motion"`
}

// EngineConfig configures the face engine.
type EngineConfig struct {
	ModelsDir string `toml:"models_dir"`
	Workers   int    `toml:"workers"`
}

// VideoConfig names the video decoding programs.
type VideoConfig struct {
	FFmpeg  string `toml:"ffmpeg"`
	FFprobe string `toml:"ffprobe"`
	MaxSide int    `toml:"max_side"`
}

// StoreConfig configures the record store.
type StoreConfig struct {
	Key         string   `toml:"key"`
	KeyFile     string   `toml:"key_file"`
	LockTimeout Duration `toml:"lock_timeout"`
}

// RetentionConfig holds the retention periods (seed 001 defaults).
type RetentionConfig struct {
	Media      Duration `toml:"media"`
	Results    Duration `toml:"results"`
	Identity   Duration `toml:"identity"`
	Monitor    Duration `toml:"monitor"`
	SweepEvery Duration `toml:"sweep_every"`
}

// OpLogConfig configures the operation log.
type OpLogConfig struct {
	Enabled bool `toml:"enabled"`
}

// DefaultConfig is what heshen serve uses with no file (design §2.10).
func DefaultConfig() Config {
	r := engine.DefaultRetention
	return Config{
		DataDir:         "heshen-data",
		Listen:          ":8080",
		ShutdownTimeout: Duration{15 * time.Second},
		API: APIConfig{
			MaxBodyBytes:  11 << 20,
			SignatureSkew: Duration{5 * time.Minute},
			URLAllowHosts: []string{},
			FetchTimeout:  Duration{4 * time.Second},
			ReadTimeout:   Duration{60 * time.Second},
			WriteTimeout:  Duration{60 * time.Second},
			IdleTimeout:   Duration{120 * time.Second},
		},
		Verify: VerifyConfig{
			PassSim:         engine.SimPass,
			FacePolicy:      "largest",
			MaxImageBytes:   3 << 20,
			MaxVideoBytes:   8 << 20,
			MaxVideoSeconds: 20,
		},
		Liveness: LivenessConfig{Frames: 12, BestFrames: 5, MinFrames: 3, MinLive: 0.5, MinSeconds: 1, MinMotion: 0.004},
		Video:    VideoConfig{FFmpeg: "ffmpeg", FFprobe: "ffprobe", MaxSide: 640},
		Store:    StoreConfig{LockTimeout: Duration{time.Second}},
		Retention: RetentionConfig{
			Media: Duration{r.Media}, Results: Duration{r.Results}, Identity: Duration{r.Identity}, Monitor: Duration{r.Monitor},
			SweepEvery: Duration{time.Hour},
		},
		OpLog:   OpLogConfig{Enabled: true},
		Capture: CaptureConfig{Enabled: true, UDPAddr: "0.0.0.0:8189", HostIPs: []string{}, MaxSessions: 8},
		H5:      H5Config{TokenTTL: Duration{engine.DefaultTokenTTL}, Clip: true},
		Console: ConsoleSection{Enabled: true},
	}
}

// LoadConfig decodes path (if not empty) over the defaults, refusing
// unknown keys, and validates the result.
func LoadConfig(path string) (Config, error) {
	c := DefaultConfig()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("config: %w", err)
		}
		md, err := toml.Decode(string(b), &c)
		if err != nil {
			return c, fmt.Errorf("config %s: %w", path, err)
		}
		if und := md.Undecoded(); len(und) > 0 {
			keys := make([]string, len(und))
			for i, k := range und {
				keys[i] = k.String()
			}
			return c, fmt.Errorf("config %s: unknown keys: %s", path, strings.Join(keys, ", "))
		}
	}
	return c, c.Validate()
}

// Validate reports every problem at once.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.DataDir == "" {
		bad("data_dir is empty")
	}
	if c.Listen == "" {
		bad("listen is empty")
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		bad("tls.cert and tls.key go together")
	}
	if c.TLS.Cert != "" && c.TLS.SelfSigned {
		bad("tls.self_signed conflicts with tls.cert")
	}
	if c.API.MaxBodyBytes < 1<<10 {
		bad("api.max_body_bytes must be at least 1024")
	}
	if c.API.SignatureSkew.Duration <= 0 {
		bad("api.signature_skew must be positive")
	}
	if c.Verify.PassSim <= 0 || c.Verify.PassSim > 100 {
		bad("verify.pass_sim must be in (0, 100]")
	}
	if _, ok := facePolicies[c.Verify.FacePolicy]; !ok {
		bad("verify.face_policy must be one of largest, centre, only")
	}
	if c.Liveness.MinLive < 0 || c.Liveness.MinLive > 1 {
		bad("liveness.min_live must be in [0, 1]")
	}
	if c.Engine.Workers < 0 {
		bad("engine.workers must not be negative")
	}
	for name, d := range map[string]Duration{"retention.media": c.Retention.Media, "retention.results": c.Retention.Results,
		"retention.identity": c.Retention.Identity, "retention.monitor": c.Retention.Monitor, "retention.sweep_every": c.Retention.SweepEvery} {
		if d.Duration <= 0 {
			bad("%s must be positive", name)
		}
	}
	if slices.Contains(c.API.URLAllowHosts, "") {
		bad("api.url_allow_hosts has an empty entry")
	}
	if c.Capture.Enabled {
		if _, _, err := net.SplitHostPort(c.Capture.UDPAddr); err != nil {
			bad("capture.udp_addr must be HOST:PORT: %v", err)
		}
		if c.Capture.MaxSessions < 1 {
			bad("capture.max_sessions must be at least 1")
		}
		for _, ip := range c.Capture.HostIPs {
			if net.ParseIP(ip) == nil {
				bad("capture.host_ips: %q is not an IP address", ip)
			}
		}
	}
	if c.H5.PublicURL != "" {
		if u, err := url.Parse(c.H5.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("h5.public_url must be an absolute http(s) URL such as https://kyc.example.com")
		}
	}
	if c.H5.TokenTTL.Duration < time.Minute {
		bad("h5.token_ttl must be at least 1m")
	}
	if _, err := c.Location(); err != nil {
		bad("console.time_zone: %v", err)
	}
	return errors.Join(errs...)
}

var facePolicies = map[string]engine.FacePolicy{"largest": engine.PickLargest, "centre": engine.PickCentre, "only": engine.PickOnly}

// Retention is the engine's view of the retention periods.
func (c *Config) RetentionPeriods() engine.Retention {
	return engine.Retention{Media: c.Retention.Media.Duration, Results: c.Retention.Results.Duration,
		Identity: c.Retention.Identity.Duration, Monitor: c.Retention.Monitor.Duration}
}

// Location is the console's time zone ("" = the system's).
func (c *Config) Location() (*time.Location, error) {
	if c.Console.TimeZone == "" {
		return time.Local, nil
	}
	return time.LoadLocation(c.Console.TimeZone)
}

// Package capture receives a browser's camera over WebRTC (pion/webrtc v4)
// and decodes it in process: one UDP port through the ICE UDP mux, host
// candidates only, non-trickle offer/answer, VP8 or H.264 decoded by
// libavcodec into packed BGR frames. Only the newest frame is handed to
// analysis. A DataChannel ("ctl") carries the server's challenge steps and
// the page's acknowledgements.
//
// Wiring in a web server (one Server per process, opened at start-up):
//
//	answer, sess, err := srv.Answer(ctx, offerSDP) // POST {"sdp": offer} → {"sdp": answer}
//	go func() {
//		ls, _ := engine.NewLivenessSession(engine.LivenessConfig{Mode: rule.LivenessMode})
//		v, _ := capture.RunLiveness(ctx, sess, faces, ls) // steps, acks, frames → verdict
//		// compare v.Best with the gallery, record, then:
//		sess.Send(map[string]any{"type": "result", "pass": …, "message": …, "message_en": …, "redirect": …})
//		sess.Close()
//	}()
//
// The page assets (index.html, capture.js) are in the page sub-package.
package capture

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"heshen/engine"
)

// Options configure a Server. Zero values take the defaults noted.
type Options struct {
	// UDPAddr is the one UDP address all sessions share through the ICE mux
	// (default "0.0.0.0:8189"; tests use "127.0.0.1:0").
	UDPAddr string
	// HostIPs, if set, are announced as the host candidates instead of the
	// interface addresses (an appliance behind a 1:1 NAT or port forward).
	HostIPs []string
	// Loopback allows loopback candidates; for tests on 127.0.0.1 only.
	Loopback bool
	// PreferH264 puts H.264 before VP8 in the answer. VP8 carries about 3×
	// the bytes at the same settings, which helps texture-based checks.
	PreferH264 bool
	// H264Only / VP8Only restrict the codecs (tests of each path).
	H264Only, VP8Only bool

	MaxSessions    int           // concurrent sessions (default 8)
	ConnectTimeout time.Duration // offer answered → media flowing (default 15 s)
	StallTimeout   time.Duration // no decoded frame for this long → peer gone (default 4 s)
	MaxDuration    time.Duration // hard limit of one session (default 3 min)
	GatherTimeout  time.Duration // candidate gathering for the answer (default 3 s)

	MaxOfferBytes int // default 64 KiB
	MaxMsgBytes   int // largest DataChannel message accepted (default 1 KiB)
	MsgRate       int // DataChannel messages per second allowed on average (default 20)
	MsgBurst      int // and in a burst (default 40)
}

func (o *Options) defaults() {
	if o.UDPAddr == "" {
		o.UDPAddr = "0.0.0.0:8189"
	}
	if o.MaxSessions <= 0 {
		o.MaxSessions = 8
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 15 * time.Second
	}
	if o.StallTimeout <= 0 {
		o.StallTimeout = 4 * time.Second
	}
	if o.MaxDuration <= 0 {
		o.MaxDuration = 3 * time.Minute
	}
	if o.GatherTimeout <= 0 {
		o.GatherTimeout = 3 * time.Second
	}
	if o.MaxOfferBytes <= 0 {
		o.MaxOfferBytes = 64 << 10
	}
	if o.MaxMsgBytes <= 0 {
		o.MaxMsgBytes = 1 << 10
	}
	if o.MsgRate <= 0 {
		o.MsgRate = 20
	}
	if o.MsgBurst <= 0 {
		o.MsgBurst = 40
	}
}

// Reasons a session ends or an offer is refused (engine.Error.Reason).
const (
	ReasonBadSDP         = "BAD_SDP"
	ReasonNoVideo        = "NO_SUPPORTED_VIDEO"
	ReasonNoDataChannel  = "NO_DATACHANNEL"
	ReasonTooMany        = "TOO_MANY_SESSIONS"
	ReasonConnectTimeout = "CONNECT_TIMEOUT"
	ReasonPeerGone       = "PEER_GONE"
	ReasonTooLong        = "SESSION_TOO_LONG"
	ReasonFlood          = "DATACHANNEL_FLOOD"
	ReasonBadMessage     = "DATACHANNEL_BAD_MESSAGE"
	ReasonBadMedia       = "BAD_MEDIA"
	ReasonClosed         = "CLOSED"
	ReasonServerClosed   = "SERVER_CLOSED"
)

func captureErr(code, reason, zh, en string, args ...any) *engine.Error {
	return &engine.Error{Code: code, Reason: reason, Message: zh, EN: fmt.Sprintf(en, args...)}
}

// Server makes PeerConnections that share one UDP port.
type Server struct {
	opt  Options
	api  *webrtc.API
	conn net.PacketConn
	mux  ice.UDPMux

	mu       sync.Mutex
	sessions map[string]*Session
	closed   bool

	decoders atomic.Int64 // open libavcodec decoders, for leak checks
}

// New opens the UDP port and builds the PeerConnection factory.
func New(opt Options) (*Server, error) {
	opt.defaults()
	conn, err := net.ListenPacket("udp4", opt.UDPAddr)
	if err != nil {
		return nil, fmt.Errorf("capture: listen %s: %w", opt.UDPAddr, err)
	}
	s := &Server{opt: opt, conn: conn, sessions: map[string]*Session{}}
	s.mux = webrtc.NewICEUDPMux(nil, conn)

	m := &webrtc.MediaEngine{}
	fb := []webrtc.RTCPFeedback{
		{Type: "goog-remb"}, {Type: "transport-cc"}, {Type: "ccm", Parameter: "fir"},
		{Type: "nack"}, {Type: "nack", Parameter: "pli"},
	}
	vp8 := webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: fb},
		PayloadType:        96,
	}
	h264 := webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeH264, ClockRate: 90000, RTCPFeedback: fb,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
		},
		PayloadType: 102,
	}
	var codecs []webrtc.RTPCodecParameters
	switch {
	case opt.H264Only:
		codecs = []webrtc.RTPCodecParameters{h264}
	case opt.VP8Only:
		codecs = []webrtc.RTPCodecParameters{vp8}
	case opt.PreferH264:
		codecs = []webrtc.RTPCodecParameters{h264, vp8}
	default:
		codecs = []webrtc.RTPCodecParameters{vp8, h264}
	}
	for _, c := range codecs {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeVideo); err != nil {
			conn.Close()
			return nil, fmt.Errorf("capture: register codec: %w", err)
		}
	}
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureNack(m, ir); err != nil {
		conn.Close()
		return nil, err
	}
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		conn.Close()
		return nil, err
	}
	// Transport-wide feedback lets the browser's bandwidth estimate ramp up,
	// which is what makes frames sharp after the first second or two.
	if err := webrtc.ConfigureTWCCSender(m, ir); err != nil {
		conn.Close()
		return nil, err
	}

	se := webrtc.SettingEngine{}
	se.SetICEUDPMux(s.mux)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(opt.Loopback)
	if opt.Loopback {
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	}
	if len(opt.HostIPs) > 0 {
		se.SetNAT1To1IPs(opt.HostIPs, webrtc.ICECandidateTypeHost)
	}
	// Notice a vanished peer within a few seconds rather than pion's 25 s.
	se.SetICETimeouts(2*time.Second, 4*time.Second, 500*time.Millisecond)
	se.SetSCTPMaxMessageSize(uint32(max(opt.MaxMsgBytes*4, 4096)))
	s.api = webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	return s, nil
}

// Addr is the UDP address sessions use.
func (s *Server) Addr() net.Addr { return s.conn.LocalAddr() }

// Active is the number of sessions not yet cleaned up.
func (s *Server) Active() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// Decoders is the number of open libavcodec decoders (zero when idle).
func (s *Server) Decoders() int { return int(s.decoders.Load()) }

// Answer takes the browser's complete offer (with all its candidates) and
// returns the complete answer and the new session. ctx bounds only the
// signalling; the session then lives until it is closed, times out or
// the peer goes away.
func (s *Server) Answer(ctx context.Context, offerSDP string) (string, *Session, error) {
	if err := s.checkOffer(offerSDP); err != nil {
		return "", nil, err
	}
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return "", nil, captureErr(engine.CodeUnsupportedOperation, ReasonServerClosed, "服务已关闭", "capture server closed")
	case len(s.sessions) >= s.opt.MaxSessions:
		s.mu.Unlock()
		return "", nil, captureErr("RequestLimitExceeded", ReasonTooMany, "当前核验人数过多，请稍后再试",
			"too many capture sessions (limit %d), try again later", s.opt.MaxSessions)
	}
	sess := newSession(s)
	s.sessions[sess.id] = sess
	s.mu.Unlock()

	answer, err := sess.negotiate(ctx, offerSDP)
	if err != nil {
		sess.fail(err)
		sess.cleanup()
		return "", nil, err
	}
	go sess.watch()
	return answer, sess, nil
}

// checkOffer rejects what pion would choke on or what cannot work, with a
// clear error, before any resources are taken.
func (s *Server) checkOffer(offer string) error {
	bad := func(reason, zh, en string, args ...any) error {
		return captureErr(engine.CodeInvalidParameterValue, reason, zh, en, args...)
	}
	if strings.TrimSpace(offer) == "" {
		return bad(ReasonBadSDP, "缺少 SDP offer", "empty SDP offer")
	}
	if len(offer) > s.opt.MaxOfferBytes {
		return bad(ReasonBadSDP, "SDP offer 过大", "SDP offer is %d bytes, limit %d", len(offer), s.opt.MaxOfferBytes)
	}
	var d sdp.SessionDescription
	if err := d.UnmarshalString(offer); err != nil {
		return bad(ReasonBadSDP, "SDP offer 格式错误", "malformed SDP offer: %v", err)
	}
	var video, data bool
	for _, m := range d.MediaDescriptions {
		switch m.MediaName.Media {
		case "video":
			for _, f := range m.MediaName.Formats {
				codec, err := d.GetCodecForPayloadType(parsePT(f))
				if err == nil && (strings.EqualFold(codec.Name, "VP8") || strings.EqualFold(codec.Name, "H264")) {
					video = true
				}
			}
		case "application":
			data = true
		}
	}
	if !video {
		return bad(ReasonNoVideo, "浏览器未提供可用的视频（需要 VP8 或 H.264）", "the offer has no VP8 or H.264 video")
	}
	if !data {
		return bad(ReasonNoDataChannel, "SDP offer 缺少数据通道", "the offer has no DataChannel")
	}
	return nil
}

func parsePT(s string) uint8 {
	var n int
	for _, c := range s {
		if c < '0' || c > '9' || n > 255 {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return uint8(n)
}

// Close ends every session and releases the UDP port.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	all := make([]*Session, 0, len(s.sessions))
	for _, x := range s.sessions {
		all = append(all, x)
	}
	s.mu.Unlock()
	for _, x := range all {
		x.fail(captureErr(engine.CodeUnsupportedOperation, ReasonServerClosed, "服务已关闭", "capture server closed"))
	}
	for _, x := range all {
		<-x.cleaned
	}
	err := s.mux.Close()
	if cerr := s.conn.Close(); err == nil && !errors.Is(cerr, net.ErrClosed) {
		err = cerr
	}
	return err
}

func (s *Server) remove(id string) {
	s.mu.Lock()
	delete(s.sessions, id)
	s.mu.Unlock()
}

func newID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

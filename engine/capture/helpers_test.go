package capture_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"

	"heshen/engine"
	"heshen/engine/capture"
)

// testdata is the shared test data folder (env HESHEN_TESTDATA).
func testdata(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("HESHEN_TESTDATA")
	if dir == "" {
		dir = "/work/shared/testdata"
	}
	if _, err := os.Stat(filepath.Join(dir, "video", "short_hamilton_clip.mp4")); err != nil {
		t.Skipf("test data not found in %s (set HESHEN_TESTDATA): %v", dir, err)
	}
	return dir
}

func clipPath(t testing.TB) string {
	return filepath.Join(testdata(t), "video", "short_hamilton_clip.mp4")
}

// ffmpeg runs ffmpeg with args, skipping the test when it is missing.
func ffmpeg(t testing.TB, args ...string) {
	t.Helper()
	bin, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skip("ffmpeg not installed")
	}
	cmd := exec.Command(bin, append([]string{"-hide_banner", "-loglevel", "error", "-y"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
	}
}

// letterbox scales the 640×360 clip into exactly 640×480 (a camera's 4:3).
const letterbox = "scale=640:360,pad=640:480:0:60,fps=30,format=yuv420p"

// makeIVF encodes secs seconds of the clip as VP8 in IVF, for the in-process sender.
func makeIVF(t testing.TB, secs float64) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "clip.ivf")
	ffmpeg(t, "-i", clipPath(t), "-t", fmt.Sprint(secs), "-an", "-vf", letterbox,
		"-c:v", "libvpx", "-deadline", "realtime", "-b:v", "1500k", "-g", "60", "-f", "ivf", out)
	return out
}

// loopbackAPI builds a pion API for the test's browser stand-in. If conn is
// set, ICE runs over it (so the test can make the peer vanish).
func loopbackAPI(t testing.TB, conn net.PacketConn) *webrtc.API {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000},
		PayloadType:        96,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if conn != nil {
		se.SetICEUDPMux(webrtc.NewICEUDPMux(nil, conn))
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se))
}

// peer is an in-process stand-in for the browser: a VP8 track read from an
// IVF file and the "ctl" DataChannel.
type peer struct {
	pc    *webrtc.PeerConnection
	track *webrtc.TrackLocalStaticSample
	dc    *webrtc.DataChannel
	open  chan struct{}
	got   chan string // text messages from the server
	conn  *vanishConn
}

func newPeer(t testing.TB, vanishable bool) *peer {
	t.Helper()
	p := &peer{open: make(chan struct{}), got: make(chan string, 64)}
	var conn net.PacketConn
	if vanishable {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p.conn = &vanishConn{PacketConn: c}
		conn = p.conn
	}
	pc, err := loopbackAPI(t, conn).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	p.pc = pc
	p.track, err = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "cam")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTransceiverFromTrack(p.track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		t.Fatal(err)
	}
	p.dc, err = pc.CreateDataChannel("ctl", nil)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	p.dc.OnOpen(func() { once.Do(func() { close(p.open) }) })
	p.dc.OnMessage(func(m webrtc.DataChannelMessage) {
		if m.IsString {
			select {
			case p.got <- string(m.Data):
			default:
			}
		}
	})
	t.Cleanup(func() {
		pc.Close()
		if p.conn != nil {
			p.conn.PacketConn.Close()
		}
	})
	return p
}

// offer returns the complete offer (non-trickle).
func (p *peer) offer(t testing.TB) string {
	t.Helper()
	o, err := p.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	g := webrtc.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(o); err != nil {
		t.Fatal(err)
	}
	<-g
	return p.pc.LocalDescription().SDP
}

func (p *peer) answer(t testing.TB, sdp string) {
	t.Helper()
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}); err != nil {
		t.Fatal(err)
	}
}

// play sends the IVF's frames in real time, looping, until ctx ends.
func (p *peer) play(ctx context.Context, ivf string) error {
	data, err := os.ReadFile(ivf)
	if err != nil {
		return err
	}
	tick := time.NewTicker(time.Second / 30)
	defer tick.Stop()
	for {
		r, _, err := ivfreader.NewWith(bytes.NewReader(data))
		if err != nil {
			return err
		}
		for {
			frame, _, err := r.ParseNextFrame()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return err
			}
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
			}
			if err := p.track.WriteSample(media.Sample{Data: frame, Duration: time.Second / 30}); err != nil {
				return err
			}
		}
	}
}

// vanishConn drops every packet once vanish is set: a peer whose network
// went away without a goodbye.
type vanishConn struct {
	net.PacketConn
	gone atomic.Bool
}

func (c *vanishConn) vanish() { c.gone.Store(true) }

func (c *vanishConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if c.gone.Load() {
		return len(b), nil
	}
	return c.PacketConn.WriteTo(b, addr)
}

func (c *vanishConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, a, err := c.PacketConn.ReadFrom(b)
		if err != nil || !c.gone.Load() {
			return n, a, err
		}
	}
}

// newServer starts a loopback-only capture server closed at the end of the test.
func newServer(t testing.TB, opt capture.Options) *capture.Server {
	t.Helper()
	opt.UDPAddr = "127.0.0.1:0"
	opt.Loopback = true
	s, err := capture.New(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// reason returns the Heshen reason of err.
func reason(err error) string {
	var e *engine.Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// waitIdle waits until the server has no session and no decoder and the
// goroutine count is back to base (pion tears down asynchronously).
func waitIdle(t testing.TB, s *capture.Server, base int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if s.Active() == 0 && s.Decoders() == 0 && n <= base {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("not idle: %d sessions, %d decoders, %d goroutines (base %d)\n%s",
				s.Active(), s.Decoders(), n, base, strings.TrimSpace(string(buf)))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

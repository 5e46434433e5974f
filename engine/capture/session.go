package capture

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"heshen/engine"
)

// codeFailed is Tencent's generic failure code; Reason says which.
const codeFailed = "FailedOperation"

// Message is one message from the page on the DataChannel. Only "ack" is
// defined: the page rendered step ID at its own clock T (ms). Acks pace the
// challenge; they are never evidence of liveness.
type Message struct {
	Type string    `json:"type"`
	ID   string    `json:"id,omitempty"`
	T    float64   `json:"t,omitempty"`
	At   time.Time `json:"-"` // when the server received it
}

// Stats describe a session so far.
type Stats struct {
	Codec         string
	Width, Height int
	Packets       int64
	Bytes         int64
	Decoded       int64         // pictures decoded
	Handed        int64         // frames returned by Next
	Stale         int64         // pictures replaced by a newer one before Next took them
	Lost          int64         // frames dropped for missing packets or decode errors
	PLIs          int64         // key frame requests sent
	DecodeTime    time.Duration // wall time in libavcodec + swscale
	DecodeCPU     time.Duration // CPU time of the same (the decoding thread's)
	Messages      int64         // DataChannel messages received
	BadMessages   int64
	Started       time.Time // offer answered
	Connected     time.Time // ICE+DTLS up
	FirstFrame    time.Time // first decoded picture
}

// Session is one browser's camera stream.
type Session struct {
	srv     *Server
	id      string
	pc      *webrtc.PeerConnection
	started time.Time

	done     chan struct{} // closed when the session has ended (Err says why)
	doneOnce sync.Once
	cleaned  chan struct{} // closed when every resource is released
	cleanOne sync.Once
	readers  sync.WaitGroup
	notify   chan struct{} // a new frame is in the slot
	ready    chan struct{} // the DataChannel is open
	readyOne sync.Once
	msgs     chan Message

	mu        sync.Mutex
	ended     bool
	err       error
	frame     *engine.Frame // newest undelivered picture
	spare     [][]byte      // buffers of stale pictures, reused
	stats     Stats
	lastFrame time.Time
	video     bool // a video track is being read
	dc        *webrtc.DataChannel
	tokens    float64
	tokenAt   time.Time
}

func newSession(srv *Server) *Session {
	now := time.Now()
	return &Session{
		srv: srv, id: newID(), started: now,
		done: make(chan struct{}), cleaned: make(chan struct{}),
		notify: make(chan struct{}, 1), ready: make(chan struct{}),
		msgs:   make(chan Message, 64),
		tokens: float64(srv.opt.MsgBurst), tokenAt: now,
		stats: Stats{Started: now},
	}
}

// ID identifies the session.
func (s *Session) ID() string { return s.id }

// Done is closed when the session has ended.
func (s *Session) Done() <-chan struct{} { return s.done }

// Ready is closed when the DataChannel is open and Send works.
func (s *Session) Ready() <-chan struct{} { return s.ready }

// Messages delivers the page's messages; when the consumer is slow,
// messages beyond 64 are dropped (the page is not trusted anyway).
func (s *Session) Messages() <-chan Message { return s.msgs }

// Err says why the session ended: nil while it runs, Reason CLOSED after Close.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Stats returns a snapshot of the counters.
func (s *Session) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Close ends the session and waits until its resources are released.
func (s *Session) Close() error {
	s.fail(captureErr(codeFailed, ReasonClosed, "会话已结束", "session closed"))
	s.cleanup()
	return nil
}

// Next returns the newest decoded frame not returned before, waiting for
// one if needed. Older undelivered frames are dropped: analysis is slower
// than the camera, and only the present matters. The caller owns the frame.
func (s *Session) Next(ctx context.Context) (engine.Frame, error) {
	for {
		s.mu.Lock()
		if f := s.frame; f != nil {
			s.frame = nil
			s.stats.Handed++
			s.mu.Unlock()
			return *f, nil
		}
		if s.ended {
			err := s.err
			s.mu.Unlock()
			return engine.Frame{}, err
		}
		s.mu.Unlock()
		select {
		case <-s.notify:
		case <-s.done:
		case <-ctx.Done():
			return engine.Frame{}, ctx.Err()
		}
	}
}

// Send sends v as JSON text on the DataChannel (text, so the page can
// JSON.parse it; binary would arrive as an ArrayBuffer).
func (s *Session) Send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	s.mu.Lock()
	dc, ended, err := s.dc, s.ended, s.err
	s.mu.Unlock()
	if ended {
		return err
	}
	select {
	case <-s.ready:
	default:
		return captureErr(codeFailed, ReasonNoDataChannel, "数据通道未就绪", "DataChannel not open")
	}
	return dc.SendText(string(b))
}

// fail ends the session with err (the first error wins).
func (s *Session) fail(err error) {
	s.doneOnce.Do(func() {
		s.mu.Lock()
		s.err = err
		s.ended = true
		s.mu.Unlock()
		close(s.done)
	})
}

// cleanup closes the PeerConnection, waits for the read loop (which frees
// the decoder) and forgets the session. Safe to call more than once.
func (s *Session) cleanup() {
	s.cleanOne.Do(func() {
		if s.pc != nil {
			s.pc.Close()
		}
		s.readers.Wait()
		s.mu.Lock()
		s.frame, s.spare = nil, nil
		s.mu.Unlock()
		s.srv.remove(s.id)
		close(s.cleaned)
	})
}

// negotiate applies the offer and returns the answer with all candidates.
func (s *Session) negotiate(ctx context.Context, offer string) (string, error) {
	pc, err := s.srv.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return "", captureErr(engine.CodeInternal, "", "内部错误", "cannot create PeerConnection: %v", err)
	}
	s.pc = pc
	pc.OnTrack(s.onTrack)
	pc.OnDataChannel(s.onDataChannel)
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		switch st {
		case webrtc.PeerConnectionStateConnected:
			s.mu.Lock()
			s.stats.Connected = time.Now()
			s.mu.Unlock()
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			s.fail(captureErr(codeFailed, ReasonPeerGone, "网络连接中断", "connection to the browser lost (%s)", st))
		}
	})
	bad := func(reason, zh, en string, args ...any) error {
		return captureErr(engine.CodeInvalidParameterValue, reason, zh, en, args...)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", bad(ReasonBadSDP, "SDP offer 无法使用", "unusable SDP offer: %v", err)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", bad(ReasonBadSDP, "无法应答 SDP offer", "cannot answer the offer: %v", err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return "", captureErr(engine.CodeInternal, "", "内部错误", "set local description: %v", err)
	}
	t := time.NewTimer(s.srv.opt.GatherTimeout)
	defer t.Stop()
	select {
	case <-gathered:
	case <-t.C: // answer with the candidates found so far
	case <-ctx.Done():
		return "", captureErr(codeFailed, ReasonConnectTimeout, "请求已取消", "signalling cancelled: %v", ctx.Err())
	}
	local := pc.LocalDescription().SDP
	if !acceptsVideo(local) {
		return "", bad(ReasonNoVideo, "浏览器未提供可用的视频（需要 VP8 或 H.264）", "no common video codec (VP8 or H.264)")
	}
	if !strings.Contains(local, "a=candidate:") {
		return "", captureErr(engine.CodeInternal, "", "内部错误", "no ICE candidate to offer (check the capture UDP address)")
	}
	return local, nil
}

// acceptsVideo reports whether the answer keeps a video m-line.
func acceptsVideo(answer string) bool {
	var d sdp.SessionDescription
	if d.UnmarshalString(answer) != nil {
		return false
	}
	for _, m := range d.MediaDescriptions {
		if m.MediaName.Media == "video" && m.MediaName.Port.Value != 0 {
			return true
		}
	}
	return false
}

// watch enforces the time limits and cleans up when the session ends.
func (s *Session) watch() {
	o := s.srv.opt
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-s.done:
			s.cleanup()
			return
		case now := <-tick.C:
			s.mu.Lock()
			first, last := s.stats.FirstFrame, s.lastFrame
			s.mu.Unlock()
			switch {
			case first.IsZero() && now.Sub(s.started) > o.ConnectTimeout:
				s.fail(captureErr(codeFailed, ReasonConnectTimeout, "未收到摄像头画面，请检查网络",
					"no video from the browser within %s", o.ConnectTimeout))
			case !first.IsZero() && now.Sub(last) > o.StallTimeout:
				s.fail(captureErr(codeFailed, ReasonPeerGone, "视频中断，请检查网络",
					"no video from the browser for %s", o.StallTimeout))
			case now.Sub(s.started) > o.MaxDuration:
				s.fail(captureErr(codeFailed, ReasonTooLong, "会话超时", "session longer than %s", o.MaxDuration))
			}
		}
	}
}

func (s *Session) onDataChannel(dc *webrtc.DataChannel) {
	s.mu.Lock()
	if dc.Label() != "ctl" || s.dc != nil || s.ended {
		s.mu.Unlock()
		dc.Close()
		return
	}
	s.dc = dc
	s.mu.Unlock()
	// The channel is still connecting here: wait for OnOpen before sending.
	dc.OnOpen(func() { s.readyOne.Do(func() { close(s.ready) }) })
	dc.OnMessage(s.onMessage)
}

// onMessage enforces the rate and size limits and passes acks on.
func (s *Session) onMessage(m webrtc.DataChannelMessage) {
	o := s.srv.opt
	now := time.Now()
	s.mu.Lock()
	s.tokens = min(float64(o.MsgBurst), s.tokens+now.Sub(s.tokenAt).Seconds()*float64(o.MsgRate))
	s.tokenAt = now
	s.stats.Messages++
	flood := s.tokens < 1
	s.tokens--
	s.mu.Unlock()
	if flood {
		s.fail(captureErr(engine.CodeInvalidParameterValue, ReasonFlood, "数据通道消息过多",
			"the page sent more than %d DataChannel messages per second", o.MsgRate))
		return
	}
	var msg Message
	if len(m.Data) > o.MaxMsgBytes || !m.IsString || json.Unmarshal(m.Data, &msg) != nil || msg.Type == "" {
		s.mu.Lock()
		s.stats.BadMessages++
		n := s.stats.BadMessages
		s.mu.Unlock()
		if n >= 5 {
			s.fail(captureErr(engine.CodeInvalidParameterValue, ReasonBadMessage, "数据通道消息无效",
				"the page sent %d invalid DataChannel messages (JSON text up to %d bytes expected)", n, o.MaxMsgBytes))
		}
		return
	}
	msg.At = now
	select {
	case s.msgs <- msg:
	default:
	}
}

// publish puts a decoded picture in the one-frame slot, replacing a
// picture analysis has not taken yet.
func (s *Session) publish(f *engine.Frame) {
	s.mu.Lock()
	if s.frame != nil {
		s.stats.Stale++
		if len(s.spare) < 2 {
			s.spare = append(s.spare, s.frame.BGR)
		}
	}
	s.frame = f
	s.lastFrame = f.At
	if s.stats.FirstFrame.IsZero() {
		s.stats.FirstFrame = f.At
	}
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// buffer returns a BGR buffer of n bytes, reusing a stale picture's.
func (s *Session) buffer(n int) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.spare) > 0 {
		b := s.spare[len(s.spare)-1]
		s.spare = s.spare[:len(s.spare)-1]
		if cap(b) >= n {
			return b[:n]
		}
	}
	return make([]byte, n)
}

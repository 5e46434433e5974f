package capture_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"heshen/engine"
	"heshen/engine/capture"
)

// TestDecodeInProcess sends VP8 from an in-process peer and checks that
// decoded 640×480 BGR frames come out, the DataChannel carries a step and
// its ack both ways, and everything is released afterwards.
func TestDecodeInProcess(t *testing.T) {
	ivf := makeIVF(t, 3)
	base := runtime.NumGoroutine()
	srv := newServer(t, capture.Options{})
	p := newPeer(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	answer, sess, err := srv.Answer(ctx, p.offer(t))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(answer, "127.0.0.1") {
		t.Fatalf("answer has no loopback candidate:\n%s", answer)
	}
	p.answer(t, answer)
	playCtx, stop := context.WithCancel(ctx)
	go p.play(playCtx, ivf)
	defer stop()

	// Frames: decoded in this process, exact size, plausible pixels.
	var got int
	var last time.Time
	for got < 20 {
		f, err := sess.Next(ctx)
		if err != nil {
			t.Fatalf("after %d frames: %v (stats %+v, peer %s)", got, err, sess.Stats(), p.pc.ConnectionState())
		}
		if f.Width != 640 || f.Height != 480 || len(f.BGR) != 640*480*3 {
			t.Fatalf("frame %dx%d with %d bytes", f.Width, f.Height, len(f.BGR))
		}
		if !f.At.After(last) {
			t.Fatalf("frame times not increasing: %v then %v", last, f.At)
		}
		last = f.At
		// The letterbox bars are black; the picture in the middle is not.
		if bar, mid := meanByte(f.BGR[:3*640*40]), meanByte(f.BGR[3*640*100:3*640*380]); bar > 20 || mid < bar+3 {
			t.Fatalf("unexpected pixels: bar mean %.1f, middle mean %.1f", bar, mid)
		}
		got++
	}

	// DataChannel: server → page step as JSON text, page → server ack.
	select {
	case <-sess.Ready():
	case <-ctx.Done():
		t.Fatal("DataChannel never opened")
	}
	if err := sess.Send(map[string]any{"type": "step", "id": "s1", "kind": "look"}); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-p.got:
		var step struct{ Type, ID string }
		if err := json.Unmarshal([]byte(m), &step); err != nil || step.ID != "s1" {
			t.Fatalf("page got %q (%v)", m, err)
		}
	case <-ctx.Done():
		t.Fatal("step never reached the page")
	}
	if err := p.dc.SendText(`{"type":"ack","id":"s1","t":12.5}`); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-sess.Messages():
		if m.Type != "ack" || m.ID != "s1" || m.T != 12.5 || m.At.IsZero() {
			t.Fatalf("ack %+v", m)
		}
	case <-ctx.Done():
		t.Fatal("ack never reached the server")
	}

	st := sess.Stats()
	t.Logf("stats: %+v", st)
	if st.Decoded < 20 || st.Codec != "video/VP8" || st.DecodeTime <= 0 {
		t.Fatalf("stats %+v", st)
	}
	t.Logf("decode+BGR %.2f ms/frame over %d frames; first frame %s after answer",
		float64(st.DecodeTime.Microseconds())/1000/float64(st.Decoded), st.Decoded, st.FirstFrame.Sub(st.Started))

	sess.Close()
	if r := reason(sess.Err()); r != capture.ReasonClosed {
		t.Fatalf("after Close: %v", sess.Err())
	}
	if _, err := sess.Next(ctx); reason(err) != capture.ReasonClosed {
		t.Fatalf("Next after Close: %v", err)
	}
	stop()
	p.pc.Close()
	waitIdle(t, srv, base+2)
}

func meanByte(b []byte) float64 {
	var s int
	for _, v := range b {
		s += int(v)
	}
	return float64(s) / float64(len(b))
}

// TestMalformedOffer: garbage, empty, huge and codec-less offers get a
// clear InvalidParameterValue and leave nothing behind.
func TestMalformedOffer(t *testing.T) {
	base := runtime.NumGoroutine()
	srv := newServer(t, capture.Options{})
	p := newPeer(t, false)
	good := p.offer(t)
	noData := cutSection(good, "m=application")
	vp9 := strings.NewReplacer("VP8/90000", "VP9/90000").Replace(good)
	scenarios := []struct {
		name, sdp, reason string
	}{
		{"empty", "", capture.ReasonBadSDP},
		{"garbage", "hello, world", capture.ReasonBadSDP},
		{"binary", "v=0\r\n\x00\x01\x02", capture.ReasonBadSDP},
		{"huge", "v=0\r\n" + strings.Repeat("a=x\r\n", 20000), capture.ReasonBadSDP},
		{"no video codec", vp9, capture.ReasonNoVideo},
		{"no datachannel", noData, capture.ReasonNoDataChannel},
		{"no fingerprint", strings.ReplaceAll(good, "a=fingerprint:", "a=x-fingerprint:"), capture.ReasonBadSDP},
	}
	for i, sc := range scenarios {
		t.Run(fmt.Sprintf("%d_%s", i, sc.name), func(t *testing.T) {
			ans, sess, err := srv.Answer(context.Background(), sc.sdp)
			if err == nil {
				sess.Close()
				t.Fatalf("accepted, answer %d bytes", len(ans))
			}
			e := engine.AsError(err)
			if e.Code != engine.CodeInvalidParameterValue || e.Reason != sc.reason || e.Message == "" {
				t.Fatalf("got %#v, want reason %s", e, sc.reason)
			}
		})
	}
	p.pc.Close()
	waitIdle(t, srv, base+2)
}

// cutSection removes the media section starting with prefix.
func cutSection(sdp, prefix string) string {
	i := strings.Index(sdp, prefix)
	if i < 0 {
		return sdp
	}
	j := strings.Index(sdp[i+1:], "\r\nm=")
	if j < 0 {
		return sdp[:i]
	}
	return sdp[:i] + sdp[i+1+j+2:]
}

// TestPeerNeverConnects: an offer is answered but the peer never applies
// the answer; the session ends with CONNECT_TIMEOUT and is freed.
func TestPeerNeverConnects(t *testing.T) {
	base := runtime.NumGoroutine()
	srv := newServer(t, capture.Options{ConnectTimeout: time.Second})
	p := newPeer(t, false)
	_, sess, err := srv.Answer(context.Background(), p.offer(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = sess.Next(ctx)
	if reason(err) != capture.ReasonConnectTimeout {
		t.Fatalf("got %v, want %s", err, capture.ReasonConnectTimeout)
	}
	p.pc.Close()
	waitIdle(t, srv, base+2)
}

// TestPeerVanishes: the peer's network goes silent mid-stream (no goodbye);
// the session ends with PEER_GONE within a few seconds and is freed.
func TestPeerVanishes(t *testing.T) {
	ivf := makeIVF(t, 2)
	base := runtime.NumGoroutine()
	srv := newServer(t, capture.Options{StallTimeout: 2 * time.Second})
	p := newPeer(t, true)
	ans, sess, err := srv.Answer(context.Background(), p.offer(t))
	if err != nil {
		t.Fatal(err)
	}
	p.answer(t, ans)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	go p.play(ctx, ivf)
	for range 5 {
		if _, err := sess.Next(ctx); err != nil {
			t.Fatal(err)
		}
	}
	p.conn.vanish()
	t0 := time.Now()
	for {
		_, err := sess.Next(ctx)
		if err == nil {
			continue
		}
		if reason(err) != capture.ReasonPeerGone {
			t.Fatalf("got %v, want %s", err, capture.ReasonPeerGone)
		}
		break
	}
	t.Logf("peer loss noticed after %s: %v", time.Since(t0).Round(time.Millisecond), sess.Err())
	if time.Since(t0) > 6*time.Second {
		t.Fatalf("took %s to notice", time.Since(t0))
	}
	cancel()
	p.pc.Close()
	t1 := time.Now()
	waitIdle(t, srv, base+2)
	t.Logf("idle after %s", time.Since(t1).Round(time.Millisecond))
}

// TestDataChannelFlood: a page sending far more messages than allowed ends
// its own session with DATACHANNEL_FLOOD; invalid messages end it with
// DATACHANNEL_BAD_MESSAGE.
func TestDataChannelFlood(t *testing.T) {
	base := runtime.NumGoroutine()
	srv := newServer(t, capture.Options{})
	scenarios := []struct {
		name, msg, reason string
		binary            bool
	}{
		{"flood", `{"type":"ack","id":"x"}`, capture.ReasonFlood, false},
		{"oversized", `{"type":"ack","id":"` + strings.Repeat("x", 4000) + `"}`, capture.ReasonBadMessage, false},
		{"not json", `ack`, capture.ReasonBadMessage, false},
		{"binary", `{"type":"ack"}`, capture.ReasonBadMessage, true},
	}
	for i, sc := range scenarios {
		t.Run(fmt.Sprintf("%d_%s", i, sc.name), func(t *testing.T) {
			p := newPeer(t, false)
			ans, sess, err := srv.Answer(context.Background(), p.offer(t))
			if err != nil {
				t.Fatal(err)
			}
			p.answer(t, ans)
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			select {
			case <-p.open:
			case <-ctx.Done():
				t.Fatal("DataChannel never opened")
			}
			for i := 0; i < 1000; i++ {
				if sc.binary {
					err = p.dc.Send([]byte(sc.msg))
				} else {
					err = p.dc.SendText(sc.msg)
				}
				if err != nil {
					break // the server closed the connection
				}
				select {
				case <-sess.Done():
					i = 1000
				default:
				}
			}
			select {
			case <-sess.Done():
			case <-ctx.Done():
				t.Fatal("session survived")
			}
			if reason(sess.Err()) != sc.reason {
				t.Fatalf("got %v, want %s", sess.Err(), sc.reason)
			}
			p.pc.Close()
		})
	}
	waitIdle(t, srv, base+2)
}

// TestSessionLimit: sessions beyond MaxSessions are refused, and a closed
// server refuses everything.
func TestSessionLimit(t *testing.T) {
	srv := newServer(t, capture.Options{MaxSessions: 1})
	p1, p2 := newPeer(t, false), newPeer(t, false)
	_, s1, err := srv.Answer(context.Background(), p1.offer(t))
	if err != nil {
		t.Fatal(err)
	}
	offer2 := p2.offer(t)
	_, _, err = srv.Answer(context.Background(), offer2)
	if reason(err) != capture.ReasonTooMany {
		t.Fatalf("second session: %v", err)
	}
	s1.Close()
	srv.Close()
	if _, _, err := srv.Answer(context.Background(), offer2); reason(err) != capture.ReasonServerClosed {
		t.Fatalf("after Close: %v", err)
	}
}

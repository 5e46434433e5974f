package capture_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"heshen/engine"
	"heshen/engine/capture"
	"heshen/engine/capture/page"
)

// site is a test web server: the test page, the capture page's assets and
// the SDP endpoint, as the web UI will serve them.
type site struct {
	srv      *capture.Server
	http     *httptest.Server
	sessions chan *capture.Session
}

// newSite serves on 127.0.0.1; each new session is handed to onSession
// (in its own goroutine) and also sent on site.sessions.
func newSite(t testing.TB, srv *capture.Server, onSession func(*capture.Session)) *site {
	t.Helper()
	s := &site{srv: srv, sessions: make(chan *capture.Session, 8)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join("testdata", "test.html"))
	})
	mux.Handle("GET /page/", http.StripPrefix("/page/", http.FileServerFS(page.FS())))
	mux.HandleFunc("POST /offer", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ SDP string }
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 256<<10)).Decode(&req); err != nil {
			req.SDP = ""
		}
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		answer, sess, err := srv.Answer(ctx, req.SDP)
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			e := engine.AsError(err)
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{
				"code": e.Code, "reason": e.Reason, "message": e.Message, "message_en": e.EN}})
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"sdp": answer, "session": sess.ID()})
		s.sessions <- sess
		if onSession != nil {
			go onSession(sess)
		}
	})
	s.http = httptest.NewServer(mux)
	t.Cleanup(s.http.Close)
	return s
}

// chromium finds the browser, skipping the test when it is absent or -short.
func chromium(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	for _, p := range []string{os.Getenv("HESHEN_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	t.Skip("chromium not installed (apt-get install chromium)")
	return ""
}

// makeY4M converts secs of the clip (from start) to a 640×480 Y4M fake camera.
func makeY4M(t testing.TB, start, secs float64, input string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "cam.y4m")
	args := []string{}
	if input == "" {
		input = clipPath(t)
	}
	args = append(args, "-ss", fmt.Sprint(start), "-i", input, "-t", fmt.Sprint(secs), "-an", "-vf", letterbox, "-f", "yuv4mpegpipe", out)
	ffmpeg(t, args...)
	return out
}

// browser is a headless Chromium whose camera plays y4m.
type browser struct {
	ctx    context.Context
	cancel context.CancelFunc
}

func openBrowser(t testing.TB, y4m, url string) *browser {
	t.Helper()
	bin := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-file-for-fake-video-capture", y4m),
		chromedp.Flag("allow-loopback-in-peer-connection", true),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	b := &browser{ctx: bctx, cancel: func() { bcancel(); acancel() }}
	t.Cleanup(b.cancel)
	// The first Run starts the browser and binds it to its context: run it
	// on bctx itself, or a timeout context's end would kill the browser.
	noop := func(context.Context, *chromedp.Target) (chromedp.Void, error) { return chromedp.Void{}, nil }
	if _, err := chromedp.Run(bctx, chromedp.Action[chromedp.Void](noop)); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(bctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	return b
}

// pageState is window.T of the test page.
type pageState struct {
	State   string
	Opened  bool
	Sent    int
	Steps   []engine.LivenessStep
	Results []map[string]any
	Error   *struct{ Message, Code, Reason string }
}

func (b *browser) state(t testing.TB) pageState {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(window.T)`))
	if err != nil {
		t.Fatalf("read page state: %v", err)
	}
	var st pageState
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		t.Fatalf("page state %q: %v", raw, err)
	}
	return st
}

// TestBrowserCapture: Chromium sends its file-backed camera; frames are
// decoded here, for VP8 and for H.264; the DataChannel carries steps to the
// page and its acks back; killing the browser ends the session with
// PEER_GONE; nothing leaks.
func TestBrowserCapture(t *testing.T) {
	y4m := makeY4M(t, 4, 4, "")
	for _, codec := range []string{"VP8", "H264"} {
		t.Run(codec, func(t *testing.T) {
			base := runtime.NumGoroutine()
			srv := newServer(t, capture.Options{VP8Only: codec == "VP8", H264Only: codec == "H264", StallTimeout: 2 * time.Second})
			st := newSite(t, srv, nil)
			t0 := time.Now()
			b := openBrowser(t, y4m, st.http.URL+"/")
			var sess *capture.Session
			select {
			case sess = <-st.sessions:
			case <-time.After(20 * time.Second):
				t.Fatalf("no offer; page %+v", b.state(t))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			f, err := sess.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			first := time.Since(t0)
			if f.Width != 640 || f.Height != 480 || len(f.BGR) != 640*480*3 {
				t.Fatalf("frame %dx%d", f.Width, f.Height)
			}
			// Steps out, acks back.
			select {
			case <-sess.Ready():
			case <-ctx.Done():
				t.Fatal("DataChannel never opened")
			}
			for i := 1; i <= 3; i++ {
				step := engine.LivenessStep{Type: "step", ID: fmt.Sprint("s", i), Kind: engine.StepColour, Colour: "#00ff00", Ms: 500, Text: "测试", TextEN: "test"}
				if err := sess.Send(step); err != nil {
					t.Fatal(err)
				}
			}
			acks := map[string]time.Duration{}
			sentAt := time.Now()
			for len(acks) < 3 {
				select {
				case m := <-sess.Messages():
					if m.Type == "ack" {
						acks[m.ID] = m.At.Sub(sentAt)
					}
				case <-ctx.Done():
					t.Fatalf("acks %v; page %+v", acks, b.state(t))
				}
			}
			// Let it run to measure steady decoding.
			n, t1 := 0, time.Now()
			for time.Since(t1) < 2*time.Second {
				if _, err := sess.Next(ctx); err != nil {
					t.Fatal(err)
				}
				n++
			}
			ps := b.state(t)
			if len(ps.Steps) != 3 || ps.Steps[0].Colour != "#00ff00" || ps.State != "connected" {
				t.Fatalf("page saw %+v", ps)
			}
			stats := sess.Stats()
			ms := float64(stats.DecodeCPU.Microseconds()) / 1000 / float64(stats.Decoded)
			t.Logf("%s: first frame %s after launch (%s after answer); acks %v; decoded %d (%.2f ms CPU/frame decode+BGR), %.1f kbit/s, lost %d, PLIs %d",
				stats.Codec, first.Round(time.Millisecond), stats.FirstFrame.Sub(stats.Started).Round(time.Millisecond), acks,
				stats.Decoded, ms, float64(stats.Bytes)*8/1000/time.Since(stats.Started).Seconds(), stats.Lost, stats.PLIs)
			if stats.Decoded < 30 || n < 20 {
				t.Fatalf("decoded %d, %d in 2 s", stats.Decoded, n)
			}
			// The browser vanishes.
			b.cancel()
			t2 := time.Now()
			for {
				if _, err := sess.Next(ctx); err != nil {
					if reason(err) != capture.ReasonPeerGone {
						t.Fatalf("after browser exit: %v", err)
					}
					break
				}
			}
			t.Logf("browser exit noticed after %s: %v", time.Since(t2).Round(time.Millisecond), sess.Err())
			waitIdle(t, srv, base+4)
		})
	}
}

// TestBrowserFlood: a page flooding the DataChannel loses its session.
func TestBrowserFlood(t *testing.T) {
	y4m := makeY4M(t, 4, 1, "")
	srv := newServer(t, capture.Options{})
	st := newSite(t, srv, nil)
	b := openBrowser(t, y4m, st.http.URL+"/?flood=2000")
	var sess *capture.Session
	select {
	case sess = <-st.sessions:
	case <-time.After(20 * time.Second):
		t.Fatalf("no offer; page %+v", b.state(t))
	}
	select {
	case <-sess.Done():
	case <-time.After(20 * time.Second):
		t.Fatalf("session survived the flood; page %+v, stats %+v", b.state(t), sess.Stats())
	}
	if reason(sess.Err()) != capture.ReasonFlood {
		t.Fatalf("got %v", sess.Err())
	}
	t.Logf("flood: %v after %d messages", sess.Err(), sess.Stats().Messages)
}

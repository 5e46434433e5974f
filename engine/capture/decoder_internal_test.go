package capture

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
)

// TestDecoderIVF decodes a VP8 file straight through the shim.
func TestDecoderIVF(t *testing.T) {
	dir := os.Getenv("HESHEN_TESTDATA")
	if dir == "" {
		dir = "/work/shared/testdata"
	}
	clip := filepath.Join(dir, "video", "short_hamilton_clip.mp4")
	if _, err := os.Stat(clip); err != nil {
		t.Skip("no test clip")
	}
	out := filepath.Join(t.TempDir(), "c.ivf")
	if b, err := exec.Command("ffmpeg", "-loglevel", "error", "-y", "-i", clip, "-t", "1", "-an",
		"-vf", "scale=640:360,pad=640:480:0:60", "-c:v", "libvpx", "-deadline", "realtime", "-f", "ivf", out).CombinedOutput(); err != nil {
		t.Skipf("ffmpeg: %v %s", err, b)
	}
	data, _ := os.ReadFile(out)
	r, _, err := ivfreader.NewWith(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var live atomic.Int64
	d, err := newDecoder(codecVP8, &live)
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	n := 0
	for {
		f, _, err := r.ParseNextFrame()
		if err != nil {
			break
		}
		if n == 0 && !isKeyFrame(codecVP8, f) {
			t.Fatal("first frame not a key frame")
		}
		w, h, err := d.decode(f)
		if err != nil {
			t.Fatalf("frame %d: %v", n, err)
		}
		buf := make([]byte, w*h*3)
		if err := d.bgr(buf, w, h); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n < 20 {
		t.Fatalf("decoded %d frames", n)
	}
}

// BenchmarkDecoder measures decode and BGR conversion separately
// (go test -bench Decoder -run '^$' ./engine/capture/).
func BenchmarkDecoder(b *testing.B) {
	dir := os.Getenv("HESHEN_TESTDATA")
	if dir == "" {
		dir = "/work/shared/testdata"
	}
	clip := filepath.Join(dir, "video", "short_hamilton_clip.mp4")
	for _, codec := range []string{"vp8"} { // H.264 is measured live (TestBrowserCapture)
		b.Run(codec, func(b *testing.B) {
			out := filepath.Join(b.TempDir(), "c")
			args := []string{"-loglevel", "error", "-y", "-i", clip, "-t", "3", "-an", "-vf", "scale=640:360,pad=640:480:0:60"}
			if codec == "vp8" {
				args = append(args, "-c:v", "libvpx", "-deadline", "realtime", "-b:v", "1500k", "-f", "ivf", out)
			} else {
				args = append(args, "-c:v", "libx264", "-profile:v", "baseline", "-tune", "zerolatency", "-bsf:v", "h264_mp4toannexb", "-f", "h264", out)
			}
			if o, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
				b.Skipf("ffmpeg: %v %s", err, o)
			}
			data, _ := os.ReadFile(out)
			var frames [][]byte
			if codec == "vp8" {
				r, _, _ := ivfreader.NewWith(bytes.NewReader(data))
				for {
					f, _, err := r.ParseNextFrame()
					if err != nil {
						break
					}
					frames = append(frames, f)
				}
			} else {
				frames = [][]byte{data} // one Annex-B blob: decoded as a burst below
			}
			var live atomic.Int64
			c := codecVP8
			if codec == "h264" {
				c = codecH264
			}
			var dec, conv time.Duration
			n := 0
			buf := make([]byte, 640*480*3)
			b.ResetTimer()
			for range b.N {
				d, _ := newDecoder(c, &live)
				for _, f := range frames {
					t0 := time.Now()
					w, h, err := d.decode(f)
					t1 := time.Now()
					if err == nil && w > 0 {
						d.bgr(buf, w, h)
						n++
					}
					dec += t1.Sub(t0)
					conv += time.Since(t1)
				}
				d.close()
			}
			if n > 0 {
				b.ReportMetric(float64(dec.Microseconds())/1000/float64(n), "decode-ms/frame")
				b.ReportMetric(float64(conv.Microseconds())/1000/float64(n), "bgr-ms/frame")
			}
		})
	}
}

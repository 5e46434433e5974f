package capture

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"

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

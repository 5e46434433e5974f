package engine

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// ClipRecorder keeps a small copy of a live session's frames (box-filtered
// down to MaxWidth, at most one per Every, at most Max frames) so the
// attempt's clip (VideoData) can be encoded when it ends. It copies: the
// caller keeps its frames. Safe for concurrent use.
type ClipRecorder struct {
	MaxWidth int           // default 320
	Every    time.Duration // default 200 ms (5 fps)
	Max      int           // default 150 (30 s at 5 fps); later frames are dropped

	mu     sync.Mutex
	frames []Frame
}

func (r *ClipRecorder) defaults() {
	if r.MaxWidth <= 0 {
		r.MaxWidth = 320
	}
	if r.Every <= 0 {
		r.Every = 200 * time.Millisecond
	}
	if r.Max <= 0 {
		r.Max = 150
	}
}

// Add keeps f if it is due.
func (r *ClipRecorder) Add(f Frame) {
	if f.Width <= 0 || f.Height <= 0 || len(f.BGR) < f.Width*f.Height*3 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.defaults()
	if n := len(r.frames); n >= r.Max || n > 0 && f.At.Sub(r.frames[n-1].At) < r.Every {
		return
	}
	// The first frame fixes the size; later frames of another size are
	// scaled to it (a camera may renegotiate).
	w, h := 0, 0
	if len(r.frames) > 0 {
		w, h = r.frames[0].Width, r.frames[0].Height
	}
	r.frames = append(r.frames, shrink(f, r.MaxWidth, w, h))
}

// Len is the number of frames kept.
func (r *ClipRecorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.frames)
}

// shrink box-filters f by an integer factor to at most maxW wide (or
// samples it to w×h when given), with even dimensions for yuv420p.
func shrink(f Frame, maxW, w, h int) Frame {
	k := (f.Width + maxW - 1) / maxW
	if w == 0 {
		w, h = f.Width/k&^1, f.Height/k&^1
	}
	out := Frame{Width: w, Height: h, At: f.At, BGR: make([]byte, w*h*3)}
	kx, ky := float64(f.Width)/float64(w), float64(f.Height)/float64(h)
	bx, by := max(int(kx), 1), max(int(ky), 1)
	for y := range h {
		y0 := int(float64(y) * ky)
		for x := range w {
			x0 := int(float64(x) * kx)
			var s [3]int
			n := 0
			for j := y0; j < min(y0+by, f.Height); j++ {
				p := (j*f.Width + x0) * 3
				for i := x0; i < min(x0+bx, f.Width); i++ {
					s[0] += int(f.BGR[p])
					s[1] += int(f.BGR[p+1])
					s[2] += int(f.BGR[p+2])
					p += 3
					n++
				}
			}
			q := (y*w + x) * 3
			for c := range 3 {
				out.BGR[q+c] = byte(s[c] / max(n, 1))
			}
		}
	}
	return out
}

// EncodeMP4 encodes the kept frames as an H.264 MP4 (MPEG-4 Part 2 if
// libx264 is missing) with ffmpeg (bin, default "ffmpeg"), at the rate
// they were kept. No frames: nil, nil.
func (r *ClipRecorder) EncodeMP4(ctx context.Context, bin string) ([]byte, error) {
	r.mu.Lock()
	frames := r.frames
	r.mu.Unlock()
	if len(frames) == 0 {
		return nil, nil
	}
	if bin == "" {
		bin = "ffmpeg"
	}
	fps := 5.0
	if n := len(frames); n > 1 {
		if d := frames[n-1].At.Sub(frames[0].At).Seconds(); d > 0 {
			fps = min(max(float64(n-1)/d, 1), 30)
		}
	}
	dir, err := os.MkdirTemp("", "heshen-clip-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "clip.mp4")
	var raw bytes.Buffer
	w, h := frames[0].Width, frames[0].Height
	raw.Grow(len(frames) * w * h * 3)
	for _, f := range frames {
		raw.Write(f.BGR)
	}
	var lastErr error
	for _, codec := range [][]string{{"-c:v", "libx264", "-preset", "veryfast", "-crf", "30"}, {"-c:v", "mpeg4", "-q:v", "8"}} {
		args := []string{"-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24",
			"-s", strconv.Itoa(w) + "x" + strconv.Itoa(h), "-framerate", strconv.FormatFloat(fps, 'f', 2, 64), "-i", "pipe:0"}
		args = append(args, codec...)
		args = append(args, "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4", out)
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Stdin = bytes.NewReader(raw.Bytes())
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			lastErr = fmt.Errorf("ffmpeg: %v: %s", err, bytes.TrimSpace(stderr.Bytes()))
			continue
		}
		return os.ReadFile(out)
	}
	return nil, lastErr
}

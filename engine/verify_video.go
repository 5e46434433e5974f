package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"time"
)

// VideoInfo describes an uploaded video.
type VideoInfo struct {
	Format   string  // mp4, webm, avi, flv
	Seconds  float64 // duration
	Width    int
	Height   int
	Rotation int
}

// VideoDecoder turns an uploaded video into frames.
type VideoDecoder interface {
	// Probe reads the container's format and duration.
	Probe(ctx context.Context, video []byte) (VideoInfo, error)
	// Frames decodes n frames spread evenly over the video, scaled so the
	// longer side is at most the decoder's limit.
	Frames(ctx context.Context, video []byte, info VideoInfo, n int) ([]Frame, error)
}

// SniffVideo names the container by its magic bytes; "" when unknown.
func SniffVideo(b []byte) string {
	switch {
	case len(b) >= 12 && string(b[4:8]) == "ftyp":
		return "mp4"
	case len(b) >= 4 && bytes.Equal(b[:4], []byte{0x1a, 0x45, 0xdf, 0xa3}):
		return "webm"
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "AVI ":
		return "avi"
	case len(b) >= 3 && string(b[:3]) == "FLV":
		return "flv"
	}
	return ""
}

// FFmpeg decodes videos with the ffmpeg and ffprobe programs, fed through a
// temporary file (MP4s may keep their index at the end, so a pipe is not
// enough). The programs run with a deadline and limited output.
type FFmpeg struct {
	FFmpeg  string        // program (default "ffmpeg")
	FFprobe string        // program (default "ffprobe")
	MaxSide int           // longer side of the decoded frames (default 640)
	TempDir string        // for the temporary file (default os.TempDir())
	Timeout time.Duration // per program run (default 30 s)
}

var _ VideoDecoder = (*FFmpeg)(nil)

func (f *FFmpeg) bins() (string, string) {
	ff, fp := f.FFmpeg, f.FFprobe
	if ff == "" {
		ff = "ffmpeg"
	}
	if fp == "" {
		fp = "ffprobe"
	}
	return ff, fp
}

// Available reports whether the programs can be found.
func (f *FFmpeg) Available() error {
	ff, fp := f.bins()
	if _, err := exec.LookPath(ff); err != nil {
		return err
	}
	_, err := exec.LookPath(fp)
	return err
}

func videoErr(en string) *Error {
	return &Error{Code: CodeVideoDecode, Message: "视频解码失败", EN: en}
}

func (f *FFmpeg) tempFile(video []byte) (string, func(), error) {
	tf, err := os.CreateTemp(f.TempDir, "heshen-video-*")
	if err != nil {
		return "", nil, err
	}
	name := tf.Name()
	cleanup := func() { os.Remove(name) }
	if _, err := tf.Write(video); err != nil {
		tf.Close()
		cleanup()
		return "", nil, err
	}
	if err := tf.Close(); err != nil {
		cleanup()
		return "", nil, err
	}
	return name, cleanup, nil
}

func (f *FFmpeg) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	t := f.Timeout
	if t <= 0 {
		t = 30 * time.Second
	}
	return context.WithTimeout(ctx, t)
}

// Probe implements VideoDecoder.
func (f *FFmpeg) Probe(ctx context.Context, video []byte) (VideoInfo, error) {
	info := VideoInfo{Format: SniffVideo(video)}
	if info.Format == "" {
		return info, videoErr("not an mp4, webm, avi or flv video")
	}
	name, cleanup, err := f.tempFile(video)
	if err != nil {
		return info, err
	}
	defer cleanup()
	_, fp := f.bins()
	ctx, cancel := f.ctx(ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, fp, "-v", "error", "-select_streams", "v:0",
		"-show_entries", "stream=width,height,duration:stream_side_data=rotation:format=duration",
		"-of", "json", name)
	out, err := cmd.Output()
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return info, err
		}
		return info, videoErr("the video cannot be read")
	}
	var p struct {
		Streams []struct {
			Width    int    `json:"width"`
			Height   int    `json:"height"`
			Duration string `json:"duration"`
			SideData []struct {
				Rotation int `json:"rotation"`
			} `json:"side_data_list"`
		} `json:"streams"`
		Format struct {
			Duration string `json:"duration"`
		} `json:"format"`
	}
	if err := json.Unmarshal(out, &p); err != nil || len(p.Streams) == 0 {
		return info, videoErr("the video has no video stream")
	}
	s := p.Streams[0]
	info.Width, info.Height = s.Width, s.Height
	for _, sd := range s.SideData {
		info.Rotation = sd.Rotation
	}
	d := s.Duration
	if d == "" || d == "N/A" {
		d = p.Format.Duration
	}
	info.Seconds, _ = strconv.ParseFloat(d, 64)
	if info.Width <= 0 || info.Height <= 0 || info.Width > 8192 || info.Height > 8192 {
		return info, videoErr("the video has no usable frame size")
	}
	return info, nil
}

// Frames implements VideoDecoder.
func (f *FFmpeg) Frames(ctx context.Context, video []byte, info VideoInfo, n int) ([]Frame, error) {
	if n <= 0 {
		return nil, nil
	}
	name, cleanup, err := f.tempFile(video)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	// ffmpeg applies the rotation itself, so the frame is turned by ±90°.
	w, h := info.Width, info.Height
	if info.Rotation == 90 || info.Rotation == -90 || info.Rotation == 270 || info.Rotation == -270 {
		w, h = h, w
	}
	maxSide := f.MaxSide
	if maxSide <= 0 {
		maxSide = 640
	}
	if m := max(w, h); m > maxSide {
		w, h = w*maxSide/m, h*maxSide/m
	}
	w, h = max(2, w&^1), max(2, h&^1)
	secs := info.Seconds
	if secs <= 0 {
		secs = 1
	}
	fps := float64(n) / secs
	ff, _ := f.bins()
	ctx, cancel := f.ctx(ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, ff, "-v", "error", "-nostdin", "-i", name,
		"-an", "-vf", fmt.Sprintf("fps=%.6f,scale=%d:%d", fps, w, h),
		"-frames:v", strconv.Itoa(n), "-pix_fmt", "bgr24", "-f", "rawvideo", "pipe:1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	size := w * h * 3
	var frames []Frame
	step := time.Duration(float64(time.Second) / fps)
	start := time.Unix(0, 0)
	for len(frames) < n {
		buf := make([]byte, size)
		if _, err := io.ReadFull(stdout, buf); err != nil {
			break
		}
		frames = append(frames, Frame{Width: w, Height: h, BGR: buf, At: start.Add(time.Duration(len(frames)) * step)})
	}
	io.Copy(io.Discard, stdout)
	if err := cmd.Wait(); err != nil && len(frames) == 0 {
		return nil, videoErr("the video's frames cannot be decoded")
	}
	if len(frames) == 0 {
		return nil, videoErr("the video has no frames")
	}
	return frames, nil
}

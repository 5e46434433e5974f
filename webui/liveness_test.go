package webui_test

import (
	"bytes"
	"encoding/base64"
	"image/jpeg"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"heshen/engine"
	"heshen/webui"
)

func readVideo(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdataDir(t), "video", "short_hamilton_clip.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// stillVideo loops one photo into an mp4: a face that never moves.
func stillVideo(t *testing.T, photo string, secs string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "still.mp4")
	cmd := exec.Command("ffmpeg", "-v", "error", "-y", "-loop", "1", "-i", filepath.Join(testdataDir(t), "faces", photo),
		"-t", secs, "-r", "5", "-vf", "scale=640:-2", "-pix_fmt", "yuv420p", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg (Debian package ffmpeg): %v: %s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLivenessVideo(t *testing.T) {
	srvFiles := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(readVideo(t))
	}))
	defer srvFiles.Close()
	h := newHarness(t, func(o *webui.Options) { o.URLAllowHosts = []string{srvFiles.Listener.Addr().String()} })
	c := h.sdk()
	clip := b64(readVideo(t))
	still := b64(stillVideo(t, "face_recognition/examples/obama-480p.jpg", "3"))
	photo := b64(readFace(t, "face_recognition/examples/obama2.jpg"))
	scenarios := []struct {
		name, action string
		params       map[string]any
		want         string // Result, or the error code when wantErr
		wantErr      bool
	}{
		{"LiveClip", "Liveness", map[string]any{"LivenessType": "SILENT", "VideoBase64": clip}, engine.ResultSuccess, false},
		{"LiveClipBestFrames", "Liveness", map[string]any{"LivenessType": "SILENT", "VideoBase64": clip, "Optional": `{"BestFrameNum":3}`}, engine.ResultSuccess, false},
		{"LiveClipFromURL", "Liveness", map[string]any{"LivenessType": "SILENT", "VideoUrl": srvFiles.URL + "/clip.mp4"}, "", true},
		{"RecognitionOtherPerson", "LivenessRecognition", map[string]any{"LivenessType": "SILENT", "VideoBase64": clip, "IdCard": obamaID, "Name": obamaName}, engine.CodeLowSimilarity, false},
		{"CompareOtherPerson", "LivenessCompare", map[string]any{"LivenessType": "SILENT", "VideoBase64": clip, "ImageBase64": photo}, engine.CodeLowSimilarity, false},
		{"StillPhotoVideo", "Liveness", map[string]any{"LivenessType": "SILENT", "VideoBase64": still}, engine.CodeLivenessFake, false},
		{"StillPhotoRecognition", "LivenessRecognition", map[string]any{"LivenessType": "SILENT", "VideoBase64": still, "IdCard": obamaID, "Name": obamaName}, engine.CodeLivenessFake, false},
		{"GarbageVideo", "Liveness", map[string]any{"LivenessType": "SILENT", "VideoBase64": b64([]byte("RIFF1234AVI this is no video"))}, engine.CodeVideoDecode, false},
		{"UnknownContainer", "Liveness", map[string]any{"LivenessType": "SILENT", "VideoBase64": b64([]byte("hello world, not a video"))}, engine.CodeVideoDecode, false},
		{"TruncatedMP4", "Liveness", map[string]any{"LivenessType": "SILENT", "VideoBase64": b64(readVideo(t)[:4000])}, engine.CodeVideoDecode, false},
		{"BadIDNumber", "LivenessRecognition", map[string]any{"LivenessType": "SILENT", "VideoBase64": clip, "IdCard": "110105194912310021", "Name": obamaName}, engine.CodeIDFormat, false},
		{"Action", "Liveness", map[string]any{"LivenessType": "ACTION", "ValidateData": "1,2", "VideoBase64": clip}, engine.CodeUnsupportedOperation, true},
		{"Lip", "LivenessRecognition", map[string]any{"LivenessType": "LIP", "ValidateData": "1234", "VideoBase64": clip, "IdCard": obamaID, "Name": obamaName}, engine.CodeUnsupportedOperation, true},
		{"BadType", "Liveness", map[string]any{"LivenessType": "BLINK", "VideoBase64": clip}, engine.CodeInvalidParameterValue, true},
		{"NoVideo", "Liveness", map[string]any{"LivenessType": "SILENT"}, engine.CodeMissingParameter, true},
		{"NoPhoto", "LivenessCompare", map[string]any{"LivenessType": "SILENT", "VideoBase64": clip}, engine.CodeMissingParameter, true},
		{"URLNotAllowed", "Liveness", map[string]any{"LivenessType": "SILENT", "VideoUrl": "http://192.0.2.1/clip.mp4"}, engine.CodeInvalidParameterValue, true},
		{"BadOptional", "Liveness", map[string]any{"LivenessType": "SILENT", "VideoBase64": clip, "Optional": `{"BestFrameNum":11}`}, engine.CodeInvalidParameterValue, true},
	}
	records := 0
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			out, err := h.call(c, sc.action, sc.params)
			if sc.wantErr && sc.want != "" {
				if got := sdkCode(t, err); got != sc.want {
					t.Fatalf("error %s (%v), want %s", got, err, sc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			records++
			if sc.want != "" && out["Result"] != sc.want {
				t.Fatalf("Result %v (%v), want %s", out["Result"], out["Description"], sc.want)
			}
			if out["Result"] == engine.ResultSuccess || out["Result"] == engine.CodeLowSimilarity {
				bf, _ := out["BestFrameBase64"].(string)
				img, err := base64.StdEncoding.DecodeString(bf)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := jpeg.Decode(bytes.NewReader(img)); err != nil {
					t.Errorf("BestFrameBase64 is not a JPEG: %v", err)
				}
			}
			if strings.HasSuffix(sc.name, "BestFrames") {
				if l, _ := out["BestFrameList"].([]any); len(l) != 3 {
					t.Errorf("BestFrameList has %d frames, want 3", len(l))
				}
			}
		})
	}
	if n := len(h.records()); n != records {
		t.Errorf("records = %d, want %d", n, records)
	}
}

func TestVideoDuration(t *testing.T) {
	h := newHarness(t)
	long := b64(stillVideo(t, "face_recognition/examples/obama_small.jpg", "21"))
	out, err := h.call(h.sdk(), "Liveness", map[string]any{"LivenessType": "SILENT", "VideoBase64": long})
	if err != nil {
		t.Fatal(err)
	}
	if out["Result"] != engine.CodeVideoDuration {
		t.Fatalf("got %v", out)
	}
}

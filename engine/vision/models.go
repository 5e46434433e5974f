package vision

import (
	"embed"
	"fmt"
	"os"
	"path/filepath"
)

// The model files are fetched by `make models` (npm package
// faceplugin-face-recognition-js@0.0.1, sha256-pinned) and embedded so the
// binary needs nothing but the OpenCV shared libraries.
//
//go:embed models/*.onnx
var embedded embed.FS

// modelNames are the six networks of the pipeline.
var modelNames = [...]string{"fr_detect", "fr_landmark", "fr_feature", "fr_liveness", "fr_eye", "fr_pose"}

// loadModels returns each model's ONNX bytes, from dir when set (a site's
// drop-in models with the same contract), else from the embedded set.
func loadModels(dir string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(modelNames))
	for _, n := range modelNames {
		var b []byte
		var err error
		if dir != "" {
			b, err = os.ReadFile(filepath.Join(dir, n+".onnx"))
		} else {
			b, err = embedded.ReadFile("models/" + n + ".onnx")
		}
		if err != nil {
			return nil, fmt.Errorf("load model %s: %w", n, err)
		}
		out[n] = b
	}
	return out, nil
}

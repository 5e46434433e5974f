package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"

	"heshen/engine"
	"heshen/engine/vision"
)

// faceReport is one image's part of `heshen compare`.
type faceReport struct {
	File     string             `json:"file"`
	Faces    int                `json:"faces"`
	Width    int                `json:"width"`
	Height   int                `json:"height"`
	Box      *engine.Rect       `json:"box,omitempty"`
	Quality  []engine.Finding   `json:"quality"`
	Error    *engine.Error      `json:"error,omitempty"`
	StagesMs map[string]float64 `json:"ms"`
}

func parsePolicy(s string) (engine.FacePolicy, error) {
	switch s {
	case "largest":
		return engine.PickLargest, nil
	case "centre", "center":
		return engine.PickCentre, nil
	case "only":
		return engine.PickOnly, nil
	}
	return 0, fmt.Errorf("unknown face policy %q (largest, centre, only)", s)
}

func openVision(modelsDir string, workers int) (*vision.Engine, error) {
	return vision.Open(vision.Options{ModelsDir: modelsDir, Workers: workers})
}

func cmdCompare(e *env) int {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	models := fs.String("models-dir", "", "load ONNX models from this folder instead of the embedded set")
	policy := fs.String("policy", "largest", "face choice with several faces: largest, centre or only")
	if err := fs.Parse(e.args); err != nil {
		return 2
	}
	if fs.NArg() != 2 {
		fmt.Fprintln(e.stderr, "usage: heshen compare [flags] A B")
		return 2
	}
	pol, err := parsePolicy(*policy)
	if err != nil {
		fmt.Fprintln(e.stderr, "heshen compare:", err)
		return 2
	}
	fe, err := openVision(*models, 1)
	if err != nil {
		fmt.Fprintln(e.stderr, "heshen compare:", err)
		return 1
	}
	defer fe.Close()
	t0 := time.Now()
	var emb [2][]float32
	var reps [2]faceReport
	for i, path := range fs.Args() {
		reps[i] = faceReport{File: path, Quality: []engine.Finding{}, StagesMs: map[string]float64{}}
		data, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintln(e.stderr, "heshen compare:", err)
			return 2
		}
		a, err := fe.Analyze(context.Background(), data, engine.AnalyzeOptions{Policy: pol, Pose: true})
		if err != nil {
			reps[i].Error = engine.AsError(err)
			continue
		}
		reps[i].Faces, reps[i].Width, reps[i].Height = len(a.Faces), a.Width, a.Height
		reps[i].Quality = append(reps[i].Quality, a.Findings...)
		for _, s := range a.Stages {
			reps[i].StagesMs[s.Name] = s.Ms
		}
		if f := a.Face(); f != nil {
			reps[i].Box = &f.Box
			emb[i] = f.Embedding
		}
	}
	out := map[string]any{"a": reps[0], "b": reps[1]}
	if emb[0] != nil && emb[1] != nil {
		cos := engine.Cosine(emb[0], emb[1])
		sim := engine.SimFromCosine(cos)
		out["cosine"] = cos
		out["sim"] = sim
		out["same"] = sim >= engine.SimPass
	} else {
		out["sim"] = 0.0
		out["same"] = false
	}
	out["total_ms"] = float64(time.Since(t0).Microseconds()) / 1000
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	enc.Encode(out)
	if emb[0] == nil || emb[1] == nil {
		return 1
	}
	return 0
}

func cmdEval(e *env) int {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	pairs := fs.String("pairs", "", "pairs CSV (file_a,file_b,same), paths relative to its folder")
	asJSON := fs.Bool("json", false, "print one JSON object")
	models := fs.String("models-dir", "", "load ONNX models from this folder instead of the embedded set")
	policy := fs.String("policy", "centre", "face choice with several faces: largest, centre or only")
	workers := fs.Int("workers", runtime.NumCPU(), "parallel pipelines")
	scores := fs.String("scores", "", "also write every pair's cosine to this CSV")
	if err := fs.Parse(e.args); err != nil {
		return 2
	}
	if *pairs == "" {
		fmt.Fprintln(e.stderr, "usage: heshen eval --pairs FILE.csv [--json]")
		return 2
	}
	pol, err := parsePolicy(*policy)
	if err != nil {
		fmt.Fprintln(e.stderr, "heshen eval:", err)
		return 2
	}
	fe, err := openVision(*models, *workers)
	if err != nil {
		fmt.Fprintln(e.stderr, "heshen eval:", err)
		return 1
	}
	defer fe.Close()
	rep, err := evaluate(context.Background(), fe, *pairs, pol, *workers, *scores)
	if err != nil {
		fmt.Fprintln(e.stderr, "heshen eval:", err)
		return 2
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
	} else {
		rep.print(e.stdout)
	}
	return 0
}

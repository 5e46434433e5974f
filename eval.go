package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"heshen/engine"
)

// evalReport is what `heshen eval` prints; the JSON keys are a contract.
type evalReport struct {
	Pairs          int                `json:"pairs"`
	Images         int                `json:"images"`
	FailedImages   int                `json:"failed_images"`
	Failed         []string           `json:"failed,omitempty"`
	Accuracy10Fold float64            `json:"accuracy_10fold"`
	BestThreshold  float64            `json:"best_threshold_sim"`
	AUC            float64            `json:"auc"`
	TARAtFAR       map[string]float64 `json:"tar_at_far"`
	FARAtSim70     float64            `json:"far_at_sim70"`
	TARAtSim70     float64            `json:"tar_at_sim70"`
	FARAtSim80     float64            `json:"far_at_sim80"`
	TARAtSim80     float64            `json:"tar_at_sim80"`
	MsPerImage     map[string]float64 `json:"ms_per_image"`
	// CosineAtFAR are the cosine thresholds behind tar_at_far (for calibration).
	CosineAtFAR map[string]float64 `json:"cosine_at_far"`
}

type evalPair struct {
	a, b string
	same bool
}

func readPairs(path string) ([]evalPair, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(head) != 3 || strings.TrimSpace(head[0]) != "file_a" || strings.TrimSpace(head[1]) != "file_b" || strings.TrimSpace(head[2]) != "same" {
		return nil, fmt.Errorf("%s: header must be file_a,file_b,same", path)
	}
	dir := filepath.Dir(path)
	var out []evalPair
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		same := strings.TrimSpace(rec[2])
		if same != "0" && same != "1" {
			return nil, fmt.Errorf("%s:%d: same must be 0 or 1", path, line)
		}
		out = append(out, evalPair{filepath.Join(dir, rec[0]), filepath.Join(dir, rec[1]), same == "1"})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no pairs", path)
	}
	return out, nil
}

func evaluate(ctx context.Context, fe engine.FaceEngine, pairsPath string, pol engine.FacePolicy, workers int, scoresPath string) (*evalReport, error) {
	pairs, err := readPairs(pairsPath)
	if err != nil {
		return nil, err
	}
	var files []string
	seen := map[string]bool{}
	for _, p := range pairs {
		for _, f := range []string{p.a, p.b} {
			if !seen[f] {
				seen[f] = true
				files = append(files, f)
			}
		}
	}
	// Embed each unique image once, in parallel.
	emb := make(map[string][]float32, len(files))
	stageMs := map[string][]float64{}
	var failed []string
	var mu sync.Mutex
	jobs := make(chan string)
	var wg sync.WaitGroup
	for range max(1, workers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range jobs {
				var e []float32
				var stages []engine.Stage
				data, err := os.ReadFile(f)
				if err == nil {
					var a *engine.Analysis
					a, err = fe.Analyze(ctx, data, engine.AnalyzeOptions{Policy: pol})
					if err == nil {
						stages = a.Stages
						if face := a.Face(); face != nil {
							e = face.Embedding
						}
					}
				}
				mu.Lock()
				if e == nil {
					failed = append(failed, f)
				} else {
					emb[f] = e
				}
				var total float64
				for _, s := range stages {
					stageMs[s.Name] = append(stageMs[s.Name], s.Ms)
					total += s.Ms
				}
				if len(stages) > 0 {
					stageMs["total"] = append(stageMs["total"], total)
				}
				mu.Unlock()
			}
		}()
	}
	for _, f := range files {
		jobs <- f
	}
	close(jobs)
	wg.Wait()

	scored := make([]engine.ScoredPair, len(pairs))
	for i, p := range pairs {
		s := -1.0 // a failed image counts as a non-match
		if ea, eb := emb[p.a], emb[p.b]; ea != nil && eb != nil {
			s = engine.Cosine(ea, eb)
		}
		scored[i] = engine.ScoredPair{Score: s, Same: p.same}
	}
	if scoresPath != "" {
		if err := writeScores(scoresPath, pairs, scored); err != nil {
			return nil, err
		}
	}
	sort.Strings(failed)
	rep := &evalReport{Pairs: len(pairs), Images: len(files), FailedImages: len(failed), Failed: failed,
		TARAtFAR: map[string]float64{}, CosineAtFAR: map[string]float64{}, MsPerImage: map[string]float64{}}
	var t float64
	rep.Accuracy10Fold, t = engine.Accuracy10Fold(scored)
	rep.BestThreshold = engine.SimFromCosine(t)
	rep.AUC = engine.AUC(scored)
	for _, far := range []struct {
		key string
		v   float64
	}{{"1e-2", 1e-2}, {"1e-3", 1e-3}, {"1e-4", 1e-4}} {
		th, _ := engine.ThresholdAtFAR(scored, far.v)
		_, tar := engine.Rates(scored, th)
		rep.TARAtFAR[far.key] = tar
		rep.CosineAtFAR[far.key] = th
	}
	rep.FARAtSim70, rep.TARAtSim70 = engine.Rates(scored, engine.CosineFromSim(70))
	rep.FARAtSim80, rep.TARAtSim80 = engine.Rates(scored, engine.CosineFromSim(80))
	for name, v := range stageMs {
		rep.MsPerImage[name] = median(v)
	}
	return rep, nil
}

func writeScores(path string, pairs []evalPair, scored []engine.ScoredPair) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write([]string{"file_a", "file_b", "same", "cosine"})
	for i, p := range pairs {
		same := "0"
		if p.same {
			same = "1"
		}
		w.Write([]string{p.a, p.b, same, fmt.Sprintf("%.6f", scored[i].Score)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func (r *evalReport) print(w io.Writer) {
	fmt.Fprintf(w, "pairs %d, images %d, failed images %d\n", r.Pairs, r.Images, r.FailedImages)
	for _, f := range r.Failed {
		fmt.Fprintf(w, "  failed: %s\n", f)
	}
	fmt.Fprintf(w, "10-fold accuracy %.4f (best threshold Sim %.2f), AUC %.5f\n", r.Accuracy10Fold, r.BestThreshold, r.AUC)
	for _, k := range []string{"1e-2", "1e-3", "1e-4"} {
		fmt.Fprintf(w, "TAR at FAR %s: %.4f (cosine %.4f)\n", k, r.TARAtFAR[k], r.CosineAtFAR[k])
	}
	fmt.Fprintf(w, "at Sim 70: FAR %.2e TAR %.4f\n", r.FARAtSim70, r.TARAtSim70)
	fmt.Fprintf(w, "at Sim 80: FAR %.2e TAR %.4f\n", r.FARAtSim80, r.TARAtSim80)
	var names []string
	for n := range r.MsPerImage {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprint(w, "median ms per image:")
	for _, n := range names {
		fmt.Fprintf(w, " %s %.1f", n, r.MsPerImage[n])
	}
	fmt.Fprintln(w)
}

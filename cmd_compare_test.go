package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const visionTestdata = "engine/vision/testdata"

func TestCompareCommand(t *testing.T) {
	code, out, stderr := runCmd(t, "compare", filepath.Join(visionTestdata, "obama-480p.jpg"), filepath.Join(visionTestdata, "obama2.jpg"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r struct {
		Sim  float64 `json:"sim"`
		Same bool    `json:"same"`
		A    struct {
			Faces   int                `json:"faces"`
			Quality []any              `json:"quality"`
			Ms      map[string]float64 `json:"ms"`
		} `json:"a"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !r.Same || r.Sim < 70 || r.A.Faces != 1 || r.A.Ms["detect"] <= 0 || r.A.Ms["embed"] <= 0 {
		t.Fatalf("unexpected: %+v", r)
	}

	code, out, _ = runCmd(t, "compare", filepath.Join(visionTestdata, "obama2.jpg"), filepath.Join(visionTestdata, "biden.jpg"))
	if code != 0 || !strings.Contains(out, `"same": false`) {
		t.Fatalf("different people: exit %d %s", code, out)
	}

	bad := filepath.Join(t.TempDir(), "bad.jpg")
	os.WriteFile(bad, []byte("not a photo"), 0o644)
	code, out, _ = runCmd(t, "compare", bad, filepath.Join(visionTestdata, "obama2.jpg"))
	if code != 1 || !strings.Contains(out, "FailedOperation.ImageDecodeFailed") {
		t.Fatalf("corrupt photo: exit %d %s", code, out)
	}
	if code, _, _ := runCmd(t, "compare", "only-one.jpg"); code != 2 {
		t.Fatalf("usage error: exit %d", code)
	}
}

func TestEvalCommandJSON(t *testing.T) {
	dir := t.TempDir()
	abs, _ := filepath.Abs(visionTestdata)
	for _, f := range []string{"obama-480p.jpg", "obama2.jpg", "biden.jpg", "Colin_Powell_0001.jpg", "Colin_Powell_0002.jpg"} {
		if err := os.Symlink(filepath.Join(abs, f), filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "broken.jpg"), []byte{0xFF, 0xD8, 0xFF}, 0o644)
	csv := "file_a,file_b,same\n" +
		"obama-480p.jpg,obama2.jpg,1\n" +
		"Colin_Powell_0001.jpg,Colin_Powell_0002.jpg,1\n" +
		"obama2.jpg,biden.jpg,0\n" +
		"biden.jpg,Colin_Powell_0001.jpg,0\n" +
		"obama-480p.jpg,Colin_Powell_0002.jpg,0\n" +
		"broken.jpg,biden.jpg,0\n"
	pairs := filepath.Join(dir, "pairs.csv")
	os.WriteFile(pairs, []byte(csv), 0o644)
	code, out, stderr := runCmd(t, "eval", "--pairs", pairs, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r map[string]any
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"pairs", "images", "failed_images", "accuracy_10fold", "best_threshold_sim", "auc",
		"tar_at_far", "far_at_sim70", "tar_at_sim70", "far_at_sim80", "tar_at_sim80", "ms_per_image"} {
		if _, ok := r[k]; !ok {
			t.Errorf("missing key %q", k)
		}
	}
	if r["pairs"].(float64) != 6 || r["images"].(float64) != 6 || r["failed_images"].(float64) != 1 {
		t.Fatalf("counts: %v %v %v", r["pairs"], r["images"], r["failed_images"])
	}
	if r["tar_at_sim70"].(float64) != 1 || r["far_at_sim70"].(float64) != 0 {
		t.Fatalf("rates at Sim 70: %v %v", r["tar_at_sim70"], r["far_at_sim70"])
	}
	for _, k := range []string{"1e-2", "1e-3", "1e-4"} {
		if _, ok := r["tar_at_far"].(map[string]any)[k]; !ok {
			t.Errorf("tar_at_far lacks %s", k)
		}
	}
	if code, _, _ := runCmd(t, "eval", "--pairs", filepath.Join(dir, "missing.csv")); code != 2 {
		t.Fatalf("missing pairs file: exit %d", code)
	}
	os.WriteFile(pairs, []byte("a,b,c\nx,y,1\n"), 0o644)
	if code, _, _ := runCmd(t, "eval", "--pairs", pairs); code != 2 {
		t.Fatalf("bad header: exit %d", code)
	}
}

// sharedTestdata finds the project's shared face sets: $HESHEN_TESTDATA, or
// ../shared/testdata beside the checkout.
func sharedTestdata(t *testing.T) string {
	for _, d := range []string{os.Getenv("HESHEN_TESTDATA"), "../shared/testdata", "/work/shared/testdata"} {
		if d != "" {
			if _, err := os.Stat(filepath.Join(d, "faces")); err == nil {
				return d
			}
		}
	}
	t.Skip("shared test data not found: set HESHEN_TESTDATA to the folder holding faces/")
	return ""
}

// TestEvalSharedSets holds the engine to its accuracy floor on the two small
// labelled sets (the LFW set is for calibration and `make bench`-style runs).
func TestEvalSharedSets(t *testing.T) {
	if testing.Short() {
		t.Skip("evaluation on the shared face sets is not short")
	}
	root := sharedTestdata(t)
	for _, set := range []string{"face_recognition", "deepface"} {
		code, out, stderr := runCmd(t, "eval", "--json", "--pairs", filepath.Join(root, "faces", set, "pairs.csv"))
		if code != 0 {
			t.Fatalf("%s: exit %d %s", set, code, stderr)
		}
		var r evalReport
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: accuracy %.4f AUC %.5f failed %d", set, r.Accuracy10Fold, r.AUC, r.FailedImages)
		if r.FailedImages != 0 || r.Accuracy10Fold < 0.985 {
			t.Errorf("%s: accuracy %.4f with %d failed images, want ≥ 0.985 and none", set, r.Accuracy10Fold, r.FailedImages)
		}
	}
}

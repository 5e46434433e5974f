package search

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"heshen/engine"
)

func mustOpen(t *testing.T, dir string, opts Options) (*Index, bool) {
	t.Helper()
	ix, existed, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return ix, existed
}

var base = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)

func docs() []Doc {
	return []Doc{
		{ID: "0000000000000001", Time: base, Action: "IdCardVerification", Code: "-3", AppID: "a1", Text: "姓名格式错误 Name format error"},
		{ID: "0000000000000002", Time: base.Add(time.Hour), Action: "DetectAuth", Code: "0", AppID: "a1", RequestID: "rq-2", Text: "成功 错"},
		{ID: "0000000000000003", Time: base.Add(2 * time.Hour), Action: "DetectAuth", Code: "FailedOperation.SilentThreshold", AppID: "a2", Text: "活体检测没通过 错误码"},
	}
}

func search(t *testing.T, ix *Index, q engine.OpQuery) []string {
	t.Helper()
	r, err := ix.Search(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if r.Total != len(r.IDs) {
		t.Errorf("total %d, %d ids", r.Total, len(r.IDs))
	}
	return r.IDs
}

func TestSearchAnalyzers(t *testing.T) {
	tests := []struct {
		q          string
		cjk, unigr []string
	}{
		{"姓名", []string{"0000000000000001"}, []string{"0000000000000001"}},
		{"错误", []string{"0000000000000003", "0000000000000001"}, []string{"0000000000000003", "0000000000000001"}},
		{"格式错误", []string{"0000000000000001"}, []string{"0000000000000001"}},
		{"名格式", []string{"0000000000000001"}, []string{"0000000000000001"}},
		{"错", []string{"0000000000000002"}, []string{"0000000000000003", "0000000000000002", "0000000000000001"}},
		{"FORMAT", []string{"0000000000000001"}, []string{"0000000000000001"}},
		{"检测 通过", []string{"0000000000000003"}, []string{"0000000000000003"}},
		{"rq-2", []string{"0000000000000002"}, []string{"0000000000000002"}},
		{"0000000000000003", []string{"0000000000000003"}, []string{"0000000000000003"}},
	}
	for _, an := range []string{AnalyzerCJK, AnalyzerCJKUnigram} {
		ix, _ := mustOpen(t, filepath.Join(t.TempDir(), "ix"), Options{Analyzer: an})
		if err := ix.Index(docs(), "0000000000000003"); err != nil {
			t.Fatal(err)
		}
		for _, tt := range tests {
			want := tt.cjk
			if an == AnalyzerCJKUnigram {
				want = tt.unigr
			}
			if got := search(t, ix, engine.OpQuery{Text: tt.q}); !slices.Equal(got, want) {
				t.Errorf("%s %q = %v, want %v", an, tt.q, got, want)
			}
		}
		ix.Close()
	}
}

func TestOpenRebuildsOtherVersions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ix")
	ix, existed := mustOpen(t, dir, Options{})
	if existed {
		t.Error("new index reported as existing")
	}
	ix.Index(docs(), "0000000000000003")
	ix.Close()

	ix, existed = mustOpen(t, dir, Options{})
	if wm, _ := ix.Watermark(); !existed || wm != "0000000000000003" {
		t.Errorf("reopen: existed %v, watermark %q", existed, wm)
	}
	// An index written by an older mapping version.
	ix.stamp = []byte("0/cjk") // Close persists it
	ix.Close()
	ix, existed = mustOpen(t, dir, Options{})
	if n, _ := ix.Count(); existed || n != 0 {
		t.Errorf("older version: existed %v, %d docs", existed, n)
	}
	if wm, _ := ix.Watermark(); wm != "" {
		t.Errorf("rebuilt index keeps watermark %q", wm)
	}
	ix.Close()

	os.WriteFile(filepath.Join(dir, "index_meta.json"), []byte("{not json"), 0o600)
	ix, existed = mustOpen(t, dir, Options{})
	if existed {
		t.Error("corrupt index reported as existing")
	}
	ix.Close()

	if _, _, err := Open(dir, Options{Analyzer: "nope"}); err == nil {
		t.Error("unknown analyzer accepted")
	}
}

func TestSearchFiltersAndFacets(t *testing.T) {
	ix, _ := mustOpen(t, filepath.Join(t.TempDir(), "ix"), Options{})
	defer ix.Close()
	ix.Index(docs(), "")
	if got := search(t, ix, engine.OpQuery{From: base.Add(time.Hour), To: base.Add(2 * time.Hour)}); !slices.Equal(got, []string{"0000000000000002"}) {
		t.Errorf("range = %v", got)
	}
	if got := search(t, ix, engine.OpQuery{Action: "DetectAuth", Oldest: true}); !slices.Equal(got, []string{"0000000000000002", "0000000000000003"}) {
		t.Errorf("oldest first = %v", got)
	}
	r, err := ix.Search(context.Background(), engine.OpQuery{Facets: true, Limit: 1})
	if err != nil || r.Total != 3 || len(r.IDs) != 1 {
		t.Fatalf("facet search: %v %+v", err, r)
	}
	if f := r.Facets["action"]; len(f) != 2 || f[0] != (engine.OpFacet{Term: "DetectAuth", Count: 2}) {
		t.Errorf("action facet = %v", f)
	}
	if err := ix.Delete([]string{"0000000000000002", "missing"}); err != nil {
		t.Fatal(err)
	}
	if n, _ := ix.Count(); n != 2 {
		t.Errorf("after delete: %d docs", n)
	}
}

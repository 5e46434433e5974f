package search

import (
	"context"
	"fmt"
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
	ix.stamp = []byte("0/cjk_unigram") // Close persists it
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

// Pages of large results are sorted within a time window that grows until
// it holds the page: the result must equal a full sort.
func TestSearchWindowedPaging(t *testing.T) {
	ix, _ := mustOpen(t, filepath.Join(t.TempDir(), "ix"), Options{})
	defer ix.Close()
	var all []Doc
	for i := range 300 {
		at := base.Add(time.Duration(i) * time.Minute) // dense, old
		if i >= 290 {
			at = base.Add(time.Duration(i-289) * 24 * time.Hour) // sparse, recent
		}
		all = append(all, Doc{ID: fmt.Sprintf("%016x", i+1), Time: at, Action: "DetectAuth", Text: "成功"})
	}
	if err := ix.Index(all, ""); err != nil {
		t.Fatal(err)
	}
	want := func(oldest bool, from, to time.Time, offset, limit int) []string {
		var ids []string
		for _, d := range all {
			if (from.IsZero() || !d.Time.Before(from)) && (to.IsZero() || d.Time.Before(to)) {
				ids = append(ids, d.ID)
			}
		}
		if !oldest {
			slices.Reverse(ids)
		}
		return ids[min(offset, len(ids)):min(offset+limit, len(ids))]
	}
	end := base.Add(20 * 24 * time.Hour)
	for _, tc := range []struct {
		oldest   bool
		from, to time.Time
		offset   int
	}{
		{false, time.Time{}, time.Time{}, 0},
		{false, time.Time{}, time.Time{}, 12},
		{false, base, end, 0},
		{false, base, end, 30},
		{true, base, end, 0},
		{true, base, end, 40},
		{true, time.Time{}, time.Time{}, 5},
		{false, base.Add(time.Hour), base.Add(3 * time.Hour), 7},
	} {
		for _, text := range []string{"", "成功"} {
			q := engine.OpQuery{Text: text, Oldest: tc.oldest, From: tc.from, To: tc.to, Offset: tc.offset, Limit: 5}
			r, err := ix.Search(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			if w := want(tc.oldest, tc.from, tc.to, tc.offset, 5); !slices.Equal(r.IDs, w) {
				t.Errorf("%+v: got %v, want %v", q, r.IDs, w)
			}
		}
	}
}

package search

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"

	"heshen/engine"
)

// Doc is what the index keeps of one (already desensitised) op-log entry.
type Doc struct {
	ID        string    `json:"-"`
	Time      time.Time `json:"time"`
	Kind      string    `json:"kind,omitempty"`
	AppID     string    `json:"app_id,omitempty"`
	SecretID  string    `json:"secret_id,omitempty"`
	Actor     string    `json:"actor,omitempty"`
	Action    string    `json:"action,omitempty"`
	RequestID string    `json:"request_id,omitempty"`
	BizToken  string    `json:"biz_token,omitempty"`
	SourceIP  string    `json:"source_ip,omitempty"`
	Code      string    `json:"code,omitempty"`
	Text      string    `json:"text,omitempty"`
	Sort      string    `json:"ts,omitempty"` // set by Index
}

// Index adds or replaces docs and records watermark (the ID of the last
// log entry they cover) in the same batch.
func (ix *Index) Index(docs []Doc, watermark string) error {
	b := ix.idx.NewBatch()
	for i := range docs {
		docs[i].Sort = sortKey(docs[i].Time, docs[i].ID)
		if err := b.Index(docs[i].ID, &docs[i]); err != nil {
			return fmt.Errorf("index %s: %w", docs[i].ID, err)
		}
	}
	if watermark != "" {
		b.SetInternal(keyWatermark, []byte(watermark))
	}
	if err := ix.idx.Batch(b); err != nil {
		return fmt.Errorf("index batch: %w", err)
	}
	return nil
}

// Delete removes documents by ID; unknown IDs are ignored.
func (ix *Index) Delete(ids []string) error {
	b := ix.idx.NewBatch()
	for _, id := range ids {
		b.Delete(id)
	}
	if err := ix.idx.Batch(b); err != nil {
		return fmt.Errorf("delete batch: %w", err)
	}
	return nil
}

// Result is one page of IDs with the total and facet counts.
type Result struct {
	IDs    []string
	Total  int
	Facets map[string][]engine.OpFacet
}

// MaxLimit is the largest page.
const MaxLimit = 1000

// Search runs q and returns the matching IDs of one page, newest first
// unless q.Oldest.
func (ix *Index) Search(ctx context.Context, q engine.OpQuery) (*Result, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 20
	}
	if limit > MaxLimit {
		limit = MaxLimit
	}
	offset := max(q.Offset, 0)
	need := offset + limit

	// Count (and facets) without sorting: sorting reads the sort key of every
	// hit, which is what makes a broad query slow.
	creq := bleve.NewSearchRequestOptions(buildQuery(q), 0, 0, false)
	creq.Score = bleve.ScoreNone
	if q.Facets {
		creq.AddFacet(fieldAction, bleve.NewFacetRequest(fieldAction, 50))
		creq.AddFacet(fieldCode, bleve.NewFacetRequest(fieldCode, 50))
		creq.AddFacet(fieldAppID, bleve.NewFacetRequest(fieldAppID, 50))
	}
	cres, err := ix.idx.SearchInContext(ctx, creq)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	out := &Result{Total: int(cres.Total), IDs: []string{}}
	if q.Facets {
		out.Facets = map[string][]engine.OpFacet{}
		for name, f := range cres.Facets {
			terms := []engine.OpFacet{}
			if f.Terms != nil {
				for _, t := range f.Terms.Terms() {
					terms = append(terms, engine.OpFacet{Term: t.Term, Count: t.Count})
				}
			}
			out.Facets[name] = terms
		}
	}
	if out.Total == 0 || offset >= out.Total {
		return out, nil
	}

	// The page: sort only the hits of a time window at the requested end of
	// the range, widened until it holds enough of them. The newest (oldest)
	// entries of the range are the newest (oldest) of any window that ends
	// (starts) where the range does and holds at least offset+limit hits.
	lo, hi := q.From, q.To
	if hi.IsZero() {
		hi = time.Now().Add(time.Hour) // the writer never keys entries more than a minute ahead
	}
	whole := out.Total <= 4*need || (q.Oldest && lo.IsZero())
	var w time.Duration
	if !whole {
		if lo.IsZero() {
			w = time.Hour
		} else {
			w = time.Duration(float64(hi.Sub(lo)) * min(1, 3*float64(need)/float64(out.Total)))
		}
	}
	for {
		wq := q
		covers := whole
		if !whole {
			if q.Oldest {
				wq.To = lo.Add(w)
				covers = !wq.To.Before(hi)
			} else {
				wq.From = hi.Add(-w)
				covers = !lo.IsZero() && !wq.From.After(lo)
			}
			if covers {
				wq.From, wq.To = q.From, q.To
			}
		}
		req := bleve.NewSearchRequestOptions(buildQuery(wq), limit, offset, false)
		if q.Oldest {
			req.SortBy([]string{fieldSort})
		} else {
			req.SortBy([]string{"-" + fieldSort})
		}
		req.Score = bleve.ScoreNone
		res, err := ix.idx.SearchInContext(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		if covers || int(res.Total) >= need || w > 50*365*24*time.Hour {
			for _, h := range res.Hits {
				out.IDs = append(out.IDs, h.ID)
			}
			return out, nil
		}
		// Scale by what the window held, with a margin; at least double.
		grow := 4.0
		if res.Total > 0 {
			grow = max(2, 2*float64(need)/float64(res.Total))
		}
		w = time.Duration(float64(w) * grow)
	}
}

// sortKey orders by time, then by ID (unique): 16 hex digits of Unix
// nanoseconds (0 before 1970) and the ID.
func sortKey(t time.Time, id string) string {
	ns := t.UnixNano()
	if ns < 0 || t.IsZero() {
		ns = 0
	}
	return fmt.Sprintf("%016x", uint64(ns)) + id
}

// buildQuery turns q into a conjunction of exact filters, a time range and
// one clause per free-text word.
func buildQuery(q engine.OpQuery) query.Query {
	var must []query.Query
	term := func(field, v string) {
		if v != "" {
			t := bleve.NewTermQuery(v)
			t.SetField(field)
			must = append(must, t)
		}
	}
	term(fieldKind, q.Kind)
	term(fieldAppID, q.AppID)
	term(fieldSecretID, q.SecretID)
	term(fieldActor, q.Actor)
	term(fieldAction, q.Action)
	term(fieldCode, q.Code)
	term(fieldRequestID, q.RequestID)
	term(fieldBizToken, q.BizToken)
	if !q.From.IsZero() || !q.To.IsZero() {
		yes, no := true, false
		r := bleve.NewDateRangeInclusiveQuery(q.From, q.To, &yes, &no)
		r.SetField(fieldTime)
		must = append(must, r)
	}
	for _, w := range strings.Fields(q.Text) {
		must = append(must, wordQuery(w))
	}
	if len(must) == 0 {
		return bleve.NewMatchAllQuery()
	}
	if len(must) == 1 {
		return must[0]
	}
	return bleve.NewConjunctionQuery(must...)
}

// wordQuery matches one free-text word as all of its tokens in the text
// field (for CJK its overlapping bigrams, which in practice is a substring
// match; positions are not checked, as phrase matching cost 3.6 times as much
// on a month of logs) or as the exact value of an id or code field, so a
// pasted RequestId works too.
func wordQuery(w string) query.Query {
	p := bleve.NewMatchQuery(w)
	p.SetField(fieldText)
	p.SetOperator(query.MatchQueryOperatorAnd)
	for i := 0; i < len(w); i++ {
		if w[i] >= utf8.RuneSelf || w[i] == ' ' {
			return p // ids and codes are ASCII
		}
	}
	alts := []query.Query{p, bleve.NewDocIDQuery([]string{w})}
	for _, f := range []string{fieldRequestID, fieldBizToken, fieldAppID, fieldSecretID, fieldAction, fieldCode, fieldSourceIP} {
		t := bleve.NewTermQuery(w)
		t.SetField(f)
		alts = append(alts, t)
	}
	return bleve.NewDisjunctionQuery(alts...)
}

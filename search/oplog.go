package search

import (
	"context"
	"fmt"
	"strings"
	"time"

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
}

// Index adds or replaces docs and records watermark (the ID of the last
// log entry they cover) in the same batch.
func (ix *Index) Index(docs []Doc, watermark string) error {
	b := ix.idx.NewBatch()
	for i := range docs {
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
	req := bleve.NewSearchRequestOptions(buildQuery(q), limit, offset, false)
	if q.Oldest {
		req.SortBy([]string{fieldTime, "_id"})
	} else {
		req.SortBy([]string{"-" + fieldTime, "-_id"})
	}
	req.Score = bleve.ScoreNone
	if q.Facets {
		req.AddFacet(fieldAction, bleve.NewFacetRequest(fieldAction, 50))
		req.AddFacet(fieldCode, bleve.NewFacetRequest(fieldCode, 50))
		req.AddFacet(fieldAppID, bleve.NewFacetRequest(fieldAppID, 50))
	}
	res, err := ix.idx.SearchInContext(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	out := &Result{Total: int(res.Total), IDs: make([]string, len(res.Hits))}
	for i, h := range res.Hits {
		out.IDs[i] = h.ID
	}
	if q.Facets {
		out.Facets = map[string][]engine.OpFacet{}
		for name, f := range res.Facets {
			terms := []engine.OpFacet{}
			if f.Terms != nil {
				for _, t := range f.Terms.Terms() {
					terms = append(terms, engine.OpFacet{Term: t.Term, Count: t.Count})
				}
			}
			out.Facets[name] = terms
		}
	}
	return out, nil
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

// wordQuery matches one free-text word as a phrase of the text field (for
// CJK that is a run of overlapping bigrams, i.e. a substring match) or as
// the exact value of an id or code field, so a pasted RequestId works too.
func wordQuery(w string) query.Query {
	p := bleve.NewMatchPhraseQuery(w)
	p.SetField(fieldText)
	alts := []query.Query{p, bleve.NewDocIDQuery([]string{w})}
	for _, f := range []string{fieldRequestID, fieldBizToken, fieldAppID, fieldSecretID, fieldAction, fieldCode, fieldSourceIP} {
		t := bleve.NewTermQuery(w)
		t.SetField(f)
		alts = append(alts, t)
	}
	return bleve.NewDisjunctionQuery(alts...)
}

package search

import (
	"fmt"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/lang/cjk"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/mapping"
)

// Version is the mapping version. Bump it whenever the mapping or what is
// put into a document changes: an index of another version is deleted and
// rebuilt from the log.
const Version = 3

// Free-text analyzers. AnalyzerCJK is Bleve's cjk analyzer (unicode words,
// width folding, lower case, CJK bigrams; a lone CJK character is kept as a
// unigram). AnalyzerCJKUnigram also emits every CJK character as a
// unigram, so a one-character query matches inside longer words, at the
// cost of a larger index.
const (
	AnalyzerCJK        = "cjk"
	AnalyzerCJKUnigram = "cjk_unigram"
)

// Field names of an op-log document.
const (
	fieldTime      = "time"
	fieldKind      = "kind"
	fieldAppID     = "app_id"
	fieldSecretID  = "secret_id"
	fieldActor     = "actor"
	fieldAction    = "action"
	fieldRequestID = "request_id"
	fieldBizToken  = "biz_token"
	fieldSourceIP  = "source_ip"
	fieldCode      = "code"
	fieldText      = "text"
	fieldSort      = "ts"
)

// newMapping is the explicit mapping: keyword fields for ids and codes, a
// datetime for ranges, a keyword sort key, one analysed text field. Nothing is
// stored (the log is the source of truth); doc values only where facets
// and sorting need them; dynamic fields are off.
func newMapping(analyzer string) (mapping.IndexMapping, error) {
	im := bleve.NewIndexMapping()
	im.IndexDynamic = false
	im.StoreDynamic = false
	im.DocValuesDynamic = false
	im.DefaultAnalyzer = keyword.Name

	switch analyzer {
	case AnalyzerCJK:
	case AnalyzerCJKUnigram:
		err := im.AddCustomTokenFilter("cjk_bigram_unigram", map[string]any{
			"type":           cjk.BigramName,
			"output_unigram": true,
		})
		if err != nil {
			return nil, err
		}
		err = im.AddCustomAnalyzer(AnalyzerCJKUnigram, map[string]any{
			"type":          custom.Name,
			"tokenizer":     unicode.Name,
			"token_filters": []string{cjk.WidthName, lowercase.Name, "cjk_bigram_unigram"},
		})
		if err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unknown analyzer %q", analyzer)
	}

	doc := bleve.NewDocumentStaticMapping()
	kw := func(name string, docValues bool) {
		f := bleve.NewKeywordFieldMapping()
		f.Store = false
		f.IncludeInAll = false
		f.IncludeTermVectors = false
		f.DocValues = docValues
		doc.AddFieldMappingsAt(name, f)
	}
	kw(fieldKind, false)
	kw(fieldAppID, true) // facet
	kw(fieldSecretID, false)
	kw(fieldActor, false)
	kw(fieldAction, true) // facet
	kw(fieldRequestID, false)
	kw(fieldBizToken, false)
	kw(fieldSourceIP, false)
	kw(fieldCode, true) // facet

	t := bleve.NewDateTimeFieldMapping()
	t.Store = false
	t.IncludeInAll = false
	t.DocValues = false // ranges only: its doc values hold every precision-shifted term, ~10x the sort key
	doc.AddFieldMappingsAt(fieldTime, t)
	kw(fieldSort, true) // sort key: hex time + ID, one short term per doc

	txt := bleve.NewTextFieldMapping()
	txt.Analyzer = analyzer
	txt.Store = false
	txt.IncludeInAll = false
	txt.IncludeTermVectors = false // no positions: words match as a conjunction of their bigrams (phrases cost 3.6x the CPU on a month of logs)
	txt.DocValues = false
	doc.AddFieldMappingsAt(fieldText, txt)

	im.DefaultMapping = doc
	return im, nil
}

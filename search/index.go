// Package search is the Bleve index of the operation log. It hides Bleve
// behind typed methods and returns entry IDs, totals and facet counts only:
// the bbolt log is the source of truth and the index can always be rebuilt
// from it.
package search

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
)

// Internal keys kept inside the index next to the documents.
var (
	keyVersion   = []byte("heshen.version")
	keyWatermark = []byte("heshen.watermark")
)

// Options configures an Index. The zero value is the default.
type Options struct {
	// Analyzer is the free-text analyzer: AnalyzerCJKUnigram (default) or
	// AnalyzerCJK. Changing it rebuilds the index.
	Analyzer string
}

// Index is the op-log search index in one directory.
type Index struct {
	idx   bleve.Index
	dir   string
	stamp []byte // version/analyzer
}

// Open opens the index in dir, or creates it. existed is false when the
// index is new: it was missing, could not be opened (corrupt), or was
// written with another mapping version or analyzer and has been deleted;
// the caller then repopulates it from the log.
func Open(dir string, opts Options) (ix *Index, existed bool, err error) {
	if opts.Analyzer == "" {
		// Unigrams let one-character queries match inside words; on the
		// benchmark they cost 4 % of index size and no search time.
		opts.Analyzer = AnalyzerCJKUnigram
	}
	stamp := []byte(strconv.Itoa(Version) + "/" + opts.Analyzer)
	// unsafe_batch: a batch is not fsynced before Batch returns. The log is
	// durable and the watermark travels in the same batch, so a lost batch is
	// re-indexed on the next start.
	cfg := map[string]any{"unsafe_batch": true, "bolt_timeout": "1s"}

	if _, statErr := os.Stat(dir); statErr == nil {
		idx, err := bleve.OpenUsing(dir, cfg)
		if err == nil {
			v, err := idx.GetInternal(keyVersion)
			if err == nil && string(v) == string(stamp) {
				return &Index{idx: idx, dir: dir, stamp: stamp}, true, nil
			}
			idx.Close()
		} else if errors.Is(err, bleve.ErrorIndexPathDoesNotExist) {
			// fall through to create
		} else if isLockErr(err) {
			return nil, false, fmt.Errorf("open index %q: %w", dir, err)
		}
		if err := os.RemoveAll(dir); err != nil {
			return nil, false, fmt.Errorf("remove stale index %q: %w", dir, err)
		}
	}

	m, err := newMapping(opts.Analyzer)
	if err != nil {
		return nil, false, err
	}
	idx, err := bleve.NewUsing(dir, m, scorch.Name, scorch.Name, cfg)
	if err != nil {
		return nil, false, fmt.Errorf("create index %q: %w", dir, err)
	}
	if err := idx.SetInternal(keyVersion, stamp); err != nil {
		idx.Close()
		return nil, false, fmt.Errorf("create index %q: %w", dir, err)
	}
	return &Index{idx: idx, dir: dir, stamp: stamp}, false, nil
}

// isLockErr reports a timeout on the index's lock: another process has it
// open, which is not corruption.
func isLockErr(err error) bool {
	return err != nil && (errors.Is(err, os.ErrDeadlineExceeded) || strings.Contains(err.Error(), "timeout"))
}

// Dir is the index directory.
func (ix *Index) Dir() string { return ix.dir }

// Watermark is the ID of the last log entry indexed, "" if none.
func (ix *Index) Watermark() (string, error) {
	v, err := ix.idx.GetInternal(keyWatermark)
	if err != nil {
		return "", fmt.Errorf("read watermark: %w", err)
	}
	return string(v), nil
}

// Count is the number of documents in the index.
func (ix *Index) Count() (uint64, error) { return ix.idx.DocCount() }

// Close persists what is indexed and closes the index. Batches are unsafe
// (not waited for), and scorch drops unpersisted ones on Close, so Close
// first waits for a marker batch to be persisted.
func (ix *Index) Close() error {
	err := ix.Flush(30 * time.Second)
	if cerr := ix.idx.Close(); err == nil {
		err = cerr
	}
	return err
}

// Flush waits until everything indexed so far is on disk.
func (ix *Index) Flush(timeout time.Duration) error {
	done := make(chan error, 1)
	b := ix.idx.NewBatch()
	b.SetInternal(keyVersion, ix.stamp)
	b.SetPersistedCallback(func(err error) { done <- err })
	if err := ix.idx.Batch(b); err != nil {
		return fmt.Errorf("flush index: %w", err)
	}
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("flush index: %w", err)
		}
		return nil
	case <-time.After(timeout):
		return errors.New("flush index: timed out")
	}
}

// Fields lists the fields that have terms in the index.
func (ix *Index) Fields() ([]string, error) { return ix.idx.Fields() }

// Terms calls fn with every term of field, for audits: the index files do
// not hold terms as plain text, so checking what was indexed means reading
// the term dictionary.
func (ix *Index) Terms(field string, fn func(term string)) error {
	d, err := ix.idx.FieldDict(field)
	if err != nil {
		return fmt.Errorf("terms of %s: %w", field, err)
	}
	for {
		e, err := d.Next()
		if err != nil {
			d.Close()
			return fmt.Errorf("terms of %s: %w", field, err)
		}
		if e == nil {
			break
		}
		fn(e.Term)
	}
	return d.Close()
}

// Package oplog is the operation log: an append-only bbolt file
// (DATA/oplog.db) with time-ordered keys, written in batches off the
// request path, and a Bleve index (DATA/oplog.bleve, package search)
// derived from it. Entries are desensitised before anything is stored or
// indexed. The log is the source of truth: the index is rebuilt from it when
// missing, corrupt or of an older mapping, and catches up on start.
package oplog

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"heshen/engine"
	"heshen/search"
)

// File names inside the data directory.
const (
	DBFile   = "oplog.db"
	IndexDir = "oplog.bleve"
)

var bucketLog = []byte("log")

// Options configures a Log. The zero value means the defaults.
type Options struct {
	// BatchSize is the most entries written in one transaction (default 512).
	BatchSize int
	// BatchWait is the longest a queued entry waits for its batch to fill
	// (default 20ms). Entries appended with AppendSync are written as soon as
	// the queue is empty.
	BatchWait time.Duration
	// QueueSize is the Append queue length (default 16384). When it is full,
	// Append waits: entries are never dropped.
	QueueSize int
	// IndexBatch is the most entries indexed in one Bleve batch (default 2000).
	IndexBatch int
	// Retention is how long entries are kept (default 2 years, seed 001).
	Retention time.Duration
	// SweepEvery is the interval of the retention sweep (default 1h); a
	// negative value disables the background sweep (Sweep still works).
	SweepEvery time.Duration
	// Analyzer is the free-text analyzer of the index (default search.AnalyzerCJKUnigram).
	Analyzer string
	// Timeout is how long Open waits for the file lock held by another
	// process (default 1s).
	Timeout time.Duration
	// Logf reports background errors (default log.Printf).
	Logf func(format string, args ...any)
	// Now is the clock (default time.Now); tests set it.
	Now func() time.Time
}

func (o *Options) defaults() {
	if o.BatchSize <= 0 {
		o.BatchSize = 512
	}
	if o.BatchWait <= 0 {
		o.BatchWait = 20 * time.Millisecond
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 16384
	}
	if o.IndexBatch <= 0 {
		o.IndexBatch = 2000
	}
	if o.Retention <= 0 {
		o.Retention = engine.DefaultRetention.Monitor
	}
	if o.SweepEvery == 0 {
		o.SweepEvery = time.Hour
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Second
	}
	if o.Logf == nil {
		o.Logf = log.Printf
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Log is the operation log. It implements engine.OpLog and
// engine.OpLogSearcher.
type Log struct {
	opts Options
	dir  string
	db   *bolt.DB

	mu     sync.RWMutex // guards closed against Append racing Close
	closed bool
	in     chan item

	lastKey  uint64        // writer goroutine only
	written  atomic.Uint64 // key of the last committed entry
	indexed  atomic.Uint64 // key of the last indexed entry
	notify   chan struct{} // wakes the indexer to catch up from the file
	docs     chan docBatch // committed batches handed to the indexer in memory
	stop     chan struct{} // stops indexer and sweeper
	wg       sync.WaitGroup
	writerWG sync.WaitGroup

	ixMu sync.Mutex // serialises indexer, sweep and reindex
	ix   atomic.Pointer[search.Index]

	closeOnce sync.Once
	closeErr  error
}

var (
	_ engine.OpLog         = (*Log)(nil)
	_ engine.OpLogSearcher = (*Log)(nil)
)

// item is one queued entry, or (e == nil) a sync marker.
type item struct {
	e    *engine.OpEntry
	done chan result
}

// docBatch is one committed batch ready for the index; prev is the key
// before it, so the indexer can tell whether it follows what it has.
type docBatch struct {
	prev, last uint64
	docs       []search.Doc
}

type result struct {
	id  string
	err error
}

// ErrClosed is returned after Close.
var ErrClosed = errors.New("operation log closed")

// Open opens (or creates) the log in dir/oplog.db and its index in
// dir/oplog.bleve, and starts the writer, the indexer (which first catches
// up with the log, rebuilding the index if needed) and the retention
// sweeper.
func Open(dir string, opts Options) (*Log, error) {
	opts.defaults()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open oplog: %w", err)
	}
	db, err := bolt.Open(filepath.Join(dir, DBFile), 0o600, &bolt.Options{Timeout: opts.Timeout})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("open oplog %q: in use by another process (is heshen serve running?)", dir)
		}
		return nil, fmt.Errorf("open oplog %q: %w", dir, err)
	}
	l := &Log{
		opts:   opts,
		dir:    dir,
		db:     db,
		in:     make(chan item, opts.QueueSize),
		notify: make(chan struct{}, 1),
		docs:   make(chan docBatch, 64),
		stop:   make(chan struct{}),
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketLog)
		if err != nil {
			return err
		}
		if k, _ := b.Cursor().Last(); k != nil {
			l.lastKey = binary.BigEndian.Uint64(k)
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open oplog %q: %w", dir, err)
	}
	l.written.Store(l.lastKey)

	if err := l.openIndex(); err != nil {
		db.Close()
		return nil, err
	}

	l.writerWG.Add(1)
	go l.writer()
	l.wg.Add(1)
	go l.indexer()
	if opts.SweepEvery > 0 {
		l.wg.Add(1)
		go l.sweeper()
	}
	l.kick()
	return l, nil
}

// openIndex opens the index and loads its watermark; ixMu held or not yet shared.
func (l *Log) openIndex() error {
	ix, existed, err := search.Open(filepath.Join(l.dir, IndexDir), search.Options{Analyzer: l.opts.Analyzer})
	if err != nil {
		return fmt.Errorf("open oplog index: %w", err)
	}
	var wm uint64
	if existed {
		s, err := ix.Watermark()
		if err != nil {
			ix.Close()
			return fmt.Errorf("open oplog index: %w", err)
		}
		if s != "" {
			if wm, err = parseID(s); err != nil {
				wm = 0 // unreadable watermark: re-index everything (idempotent)
			}
		}
	}
	l.ix.Store(ix)
	l.indexed.Store(wm)
	return nil
}

// Append queues e. It returns at once unless the queue is full; the entry
// is desensitised and written by the background writer. e and its byte
// slices must not be modified afterwards. Entries appended after Close are
// dropped.
func (l *Log) Append(e *engine.OpEntry) {
	if e == nil {
		return
	}
	c := *e
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return
	}
	l.in <- item{e: &c}
}

// AppendSync queues e and waits until it is committed to disk; after it
// returns nil the entry survives a crash. It returns the entry's ID.
func (l *Log) AppendSync(ctx context.Context, e *engine.OpEntry) (string, error) {
	if e == nil {
		return "", errors.New("nil entry")
	}
	c := *e
	return l.enqueueWait(ctx, item{e: &c, done: make(chan result, 1)})
}

// Sync waits until every entry appended before the call is committed.
func (l *Log) Sync(ctx context.Context) error {
	_, err := l.enqueueWait(ctx, item{done: make(chan result, 1)})
	return err
}

func (l *Log) enqueueWait(ctx context.Context, it item) (string, error) {
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return "", ErrClosed
	}
	select {
	case l.in <- it:
	case <-ctx.Done():
		l.mu.RUnlock()
		return "", ctx.Err()
	}
	l.mu.RUnlock()
	select {
	case r := <-it.done:
		return r.id, r.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// writer collects queued entries into batches of BatchSize or BatchWait
// and writes each batch in one transaction. A batch with a waiter is
// written as soon as the queue runs dry (group commit).
func (l *Log) writer() {
	defer l.writerWG.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	batch := make([]item, 0, l.opts.BatchSize)
	for {
		it, ok := <-l.in
		if !ok {
			return
		}
		batch = append(batch[:0], it)
		waiter := it.done != nil
		timer.Reset(l.opts.BatchWait)
		open := true
	fill:
		for len(batch) < l.opts.BatchSize {
			if waiter {
				select {
				case it, ok := <-l.in:
					if !ok {
						open = false
						break fill
					}
					batch = append(batch, it)
				default:
					break fill
				}
				continue
			}
			select {
			case it, ok := <-l.in:
				if !ok {
					open = false
					break fill
				}
				batch = append(batch, it)
				waiter = it.done != nil
			case <-timer.C:
				break fill
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		l.flush(batch)
		if !open {
			return
		}
	}
}

// flush desensitises, keys and writes one batch, then acknowledges it.
func (l *Log) flush(batch []item) {
	type rec struct {
		key uint64
		val []byte
	}
	recs := make([]rec, 0, len(batch))
	docs := make([]search.Doc, 0, len(batch))
	ids := make([]string, len(batch))
	last := l.lastKey
	now := l.opts.Now()
	for i, it := range batch {
		if it.e == nil {
			continue
		}
		e := engine.Desensitise(it.e)
		if e.Time.IsZero() || e.Time.After(now.Add(time.Minute)) {
			e.Time = now // a missing or future time would pin every later key
		}
		k := max(uint64(e.Time.UnixNano()), last+1)
		last = k
		e.ID = formatID(k)
		v, err := json.Marshal(e)
		if err != nil {
			l.opts.Logf("oplog: encode entry %s: %v", e.ID, err)
			continue
		}
		ids[i] = e.ID
		recs = append(recs, rec{k, v})
		docs = append(docs, docOf(e))
	}
	var err error
	if len(recs) > 0 {
		err = l.db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketLog)
			b.FillPercent = 0.95 // keys only ever grow
			var kb [8]byte
			for _, r := range recs {
				binary.BigEndian.PutUint64(kb[:], r.key)
				if err := b.Put(kb[:], r.val); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			l.opts.Logf("oplog: write %d entries: %v", len(recs), err)
		} else {
			select {
			case l.docs <- docBatch{prev: l.lastKey, last: last, docs: docs}:
			default:
				l.kick() // indexer busy: it reads the batch back from the file
			}
			l.lastKey = last
			l.written.Store(last)
		}
	}
	for i, it := range batch {
		if it.done != nil {
			it.done <- result{id: ids[i], err: err}
		}
	}
}

// kick wakes the indexer without blocking.
func (l *Log) kick() {
	select {
	case l.notify <- struct{}{}:
	default:
	}
}

// Close stops accepting entries, writes what is queued, stops the
// background work and closes the files. The index catches up with anything
// left on the next Open. It is safe to call more than once.
func (l *Log) Close() error {
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closed = true
		close(l.in)
		l.mu.Unlock()
		l.writerWG.Wait()
		close(l.stop)
		l.wg.Wait()
		l.ixMu.Lock()
		if ix := l.ix.Load(); ix != nil {
			if err := ix.Close(); err != nil {
				l.closeErr = err
			}
		}
		l.ixMu.Unlock()
		if err := l.db.Close(); err != nil && l.closeErr == nil {
			l.closeErr = err
		}
	})
	return l.closeErr
}

// Stats is a snapshot of the log's progress, for metrics.
type Stats struct {
	Queued    int    `json:"queued"`     // entries waiting for the writer
	LastWrite string `json:"last_write"` // ID of the last committed entry
	LastIndex string `json:"last_index"` // ID of the last indexed entry
	Behind    bool   `json:"behind"`     // the index lags the log
}

// Stats returns the current progress.
func (l *Log) Stats() Stats {
	w, ix := l.written.Load(), l.indexed.Load()
	s := Stats{Queued: len(l.in), Behind: ix < w}
	if w > 0 {
		s.LastWrite = formatID(w)
	}
	if ix > 0 {
		s.LastIndex = formatID(ix)
	}
	return s
}

// formatID renders a key as its entry ID: 16 hex digits, sortable.
func formatID(k uint64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], k)
	return hex.EncodeToString(b[:])
}

func parseID(id string) (uint64, error) {
	if len(id) != 16 {
		return 0, fmt.Errorf("bad entry id %q", id)
	}
	var b [8]byte
	if _, err := hex.Decode(b[:], []byte(id)); err != nil {
		return 0, fmt.Errorf("bad entry id %q", id)
	}
	return binary.BigEndian.Uint64(b[:]), nil
}

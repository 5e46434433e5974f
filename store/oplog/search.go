package oplog

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"heshen/engine"
)

// Search runs q on the index and returns the page's entries as stored
// (desensitised), the total and, if asked, facet counts.
func (l *Log) Search(ctx context.Context, q engine.OpQuery) (*engine.OpResult, error) {
	ix := l.ix.Load()
	behind := l.indexed.Load() < l.written.Load()
	res, err := ix.Search(ctx, q)
	if err != nil {
		return nil, err
	}
	entries, err := l.Get(res.IDs...)
	if err != nil {
		return nil, err
	}
	return &engine.OpResult{Total: res.Total, Entries: entries, Facets: res.Facets, Behind: behind}, nil
}

// Get returns the stored entries with the given IDs, in that order,
// skipping IDs that are not (or no longer) in the log.
func (l *Log) Get(ids ...string) ([]*engine.OpEntry, error) {
	out := make([]*engine.OpEntry, 0, len(ids))
	err := l.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLog)
		var kb [8]byte
		for _, id := range ids {
			k, err := parseID(id)
			if err != nil {
				continue
			}
			binary.BigEndian.PutUint64(kb[:], k)
			v := b.Get(kb[:])
			if v == nil {
				continue
			}
			var e engine.OpEntry
			if err := json.Unmarshal(v, &e); err != nil { // Unmarshal copies: v dies with the transaction
				return fmt.Errorf("read entry %s: %w", id, err)
			}
			out = append(out, &e)
		}
		return nil
	})
	return out, err
}

// Count is the number of entries in the log.
func (l *Log) Count() (int, error) {
	n := 0
	err := l.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketLog).Stats().KeyN
		return nil
	})
	return n, err
}

// sweepChunk is how many entries one sweep transaction deletes.
const sweepChunk = 5000

// Sweep deletes the entries older than the retention period at now from
// the log and the index, and records the sweep as a system entry. It
// returns the number of entries deleted.
func (l *Log) Sweep(ctx context.Context, now time.Time) (int, error) {
	cutoff := now.Add(-l.opts.Retention)
	if cutoff.UnixNano() <= 0 {
		return 0, nil
	}
	end := uint64(cutoff.UnixNano())
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := l.sweepChunk(end)
		total += n
		if err != nil {
			return total, err
		}
		if n < sweepChunk {
			break
		}
	}
	if total > 0 {
		resp, _ := json.Marshal(map[string]any{"deleted": total, "before": cutoff.UTC().Format(time.RFC3339)})
		l.Append(&engine.OpEntry{
			Time: now, Kind: engine.OpKindSystem, Actor: "retention", Action: "RetentionSweep",
			Code: "Success", Response: resp,
		})
	}
	return total, nil
}

// sweepChunk deletes up to sweepChunk entries with keys below end: first
// from the index, then from the log, so a crash in between leaves entries
// the next sweep deletes again rather than orphans in the index.
func (l *Log) sweepChunk(end uint64) (int, error) {
	l.ixMu.Lock()
	defer l.ixMu.Unlock()
	var keys [][]byte
	var ids []string
	err := l.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketLog).Cursor()
		for k, _ := c.First(); k != nil && len(keys) < sweepChunk; k, _ = c.Next() {
			key := binary.BigEndian.Uint64(k)
			if key >= end {
				break
			}
			keys = append(keys, append([]byte(nil), k...))
			ids = append(ids, formatID(key))
		}
		return nil
	})
	if err != nil || len(keys) == 0 {
		return 0, err
	}
	if err := l.ix.Load().Delete(ids); err != nil {
		return 0, fmt.Errorf("sweep index: %w", err)
	}
	err = l.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLog)
		for _, k := range keys {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sweep log: %w", err)
	}
	return len(keys), nil
}

// sweeper runs Sweep every SweepEvery, and once shortly after start.
func (l *Log) sweeper() {
	defer l.wg.Done()
	t := time.NewTimer(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-l.stop:
			case <-ctx.Done():
			}
			cancel()
		}()
		if _, err := l.Sweep(ctx, l.opts.Now()); err != nil && ctx.Err() == nil {
			l.opts.Logf("oplog: retention sweep: %v", err)
		}
		cancel()
		t.Reset(l.opts.SweepEvery)
	}
}

package store

import (
	"bytes"
	"context"
	"time"

	bolt "go.etcd.io/bbolt"

	"heshen/engine"
)

// sweepChunk bounds the deletions of one write transaction, so a large
// backlog never holds the writer lock for long.
const sweepChunk = 500

// SweepLog is one sweep that deleted something, kept as its own record.
type SweepLog struct {
	At     time.Time          `json:"at"`
	Report engine.SweepReport `json:"report"`
}

// Sweep deletes what the retention periods make due at now and counts it:
// media past their ExpiresAt, or r.Media after creation when they have
// none; BizTokens r.Results after creation; names, ID numbers and media
// references in records r.Identity after creation; whole records r.Monitor
// after creation. A zero period keeps that kind forever. Sweeps that delete
// something are logged (see Sweeps).
func (db *DB) Sweep(ctx context.Context, now time.Time, r engine.Retention) (engine.SweepReport, error) {
	var rep engine.SweepReport
	phases := []struct {
		count  *int
		bucket []byte
		cutoff time.Time
		keyAt  func(k []byte) time.Time
		del    func(tx *bolt.Tx, k []byte) error
	}{
		{&rep.Media, bMediaDue, now, prefixTime, func(tx *bolt.Tx, k []byte) error { return deleteMedia(tx, k[8:]) }},
		{&rep.Media, bMediaAge, cutoff(now, r.Media), prefixTime, func(tx *bolt.Tx, k []byte) error { return deleteMedia(tx, k[8:]) }},
		{&rep.BizTokens, bBizByTime, cutoff(now, r.Results), prefixTime, func(tx *bolt.Tx, k []byte) error { return deleteBizToken(tx, k[8:]) }},
		{&rep.Identities, bRecIdent, cutoff(now, r.Identity), idKeyTime, eraseRecordIdentity},
		{&rep.Records, bRecords, cutoff(now, r.Monitor), idKeyTime, deleteRecord},
	}
	for _, p := range phases {
		if p.cutoff.IsZero() {
			continue
		}
		for {
			n, err := db.sweepChunk(ctx, p.bucket, p.cutoff, p.keyAt, p.del)
			*p.count += n
			if err != nil {
				return rep, err
			}
			if n < sweepChunk {
				break
			}
		}
	}
	if rep == (engine.SweepReport{}) {
		return rep, nil
	}
	err := db.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bSweeps)
		if c := cutoff(now, r.Monitor); !c.IsZero() {
			cur := b.Cursor()
			for k, _ := cur.First(); k != nil && prefixTime(k).Before(c); k, _ = cur.First() {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
		}
		v, err := encode(SweepLog{At: now.UTC(), Report: rep})
		if err != nil {
			return err
		}
		return b.Put(timeKey(now), v)
	})
	return rep, err
}

// cutoff is now-d, or zero when d keeps things forever.
func cutoff(now time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return time.Time{}
	}
	return now.Add(-d)
}

func prefixTime(k []byte) time.Time {
	if len(k) < 8 {
		return time.Time{}
	}
	return time.Unix(0, int64(btoi(k[:8])))
}

func idKeyTime(k []byte) time.Time {
	t, err := IDTime(string(k))
	if err != nil {
		return time.Time{} // a foreign key sorts first and is swept as old
	}
	return t
}

// sweepChunk deletes up to sweepChunk oldest keys of an index whose time
// is at or before cutoff, in one transaction.
func (db *DB) sweepChunk(ctx context.Context, bucket []byte, cutoff time.Time,
	keyAt func([]byte) time.Time, del func(*bolt.Tx, []byte) error) (int, error) {
	n := 0
	err := db.update(ctx, func(tx *bolt.Tx) error {
		n = 0
		var due [][]byte
		c := tx.Bucket(bucket).Cursor()
		for k, _ := c.First(); k != nil && len(due) < sweepChunk && !keyAt(k).After(cutoff); k, _ = c.Next() {
			due = append(due, bytes.Clone(k))
		}
		for _, k := range due {
			if err := del(tx, k); err != nil {
				return err
			}
			// Deleting the item normally drops its index entry; make sure it goes.
			if err := tx.Bucket(bucket).Delete(k); err != nil {
				return err
			}
		}
		n = len(due)
		return nil
	})
	return n, err
}

// eraseRecordIdentity clears the name, ID number and media references of
// a record, keeping its codes and timings for statistics.
func eraseRecordIdentity(tx *bolt.Tx, k []byte) error {
	b := tx.Bucket(bRecords)
	v := b.Get(k)
	if v == nil {
		return nil
	}
	var r engine.Record
	if err := decode(v, &r); err != nil {
		return err
	}
	old := r
	r.IDNumber, r.Name, r.Media = "", "", nil
	if err := indexRecord(tx, k, &old, &r); err != nil {
		return err
	}
	nv, err := encode(&r)
	if err != nil {
		return err
	}
	return b.Put(k, nv)
}

// Sweeps returns the latest sweeps that deleted something, newest first.
func (db *DB) Sweeps(ctx context.Context, limit int) ([]SweepLog, error) {
	var out []SweepLog
	err := db.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bSweeps).Cursor()
		for k, v := c.Last(); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Prev() {
			var s SweepLog
			if err := decode(v, &s); err != nil {
				return err
			}
			out = append(out, s)
		}
		return nil
	})
	return out, err
}

// Clock is the time source of RunSweeper; tests pass a fake.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now is time.Now.
func (SystemClock) Now() time.Time { return time.Now() }

// After is time.After.
func (SystemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// RunSweeper sweeps at once and then every period until ctx ends, calling
// done (if not nil) after each sweep. It returns ctx's error.
func (db *DB) RunSweeper(ctx context.Context, every time.Duration, clock Clock, r engine.Retention, done func(engine.SweepReport, error)) error {
	if clock == nil {
		clock = SystemClock{}
	}
	if every <= 0 {
		every = time.Minute
	}
	for {
		rep, err := db.Sweep(ctx, clock.Now(), r)
		if done != nil && ctx.Err() == nil {
			done(rep, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-clock.After(every):
		}
	}
}

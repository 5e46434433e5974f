package store

import (
	"bytes"
	"context"

	bolt "go.etcd.io/bbolt"

	"heshen/engine"
)

// Records are keyed by time-sortable IDs (NewID of CreatedAt), so a scan
// in key order is a scan in time order. Two indexes follow personal data:
// rec_ident lists records still holding a name or ID number (the identity
// retention sweep walks it from the oldest), rec_subject maps an ID number
// to its records (export and erasure).

// CreateRecord stores a new record, assigning a sortable ID from CreatedAt
// when empty; a given ID must be one made by NewID.
func (db *DB) CreateRecord(ctx context.Context, r *engine.Record) error {
	if r.CreatedAt.IsZero() {
		r.CreatedAt = db.now().UTC()
	}
	if r.ID == "" {
		r.ID = NewID(r.CreatedAt)
	} else if _, err := IDTime(r.ID); err != nil {
		return invalid("记录ID格式无效", "record id %q is not a store id", r.ID)
	}
	v, err := encode(r)
	if err != nil {
		return err
	}
	k := []byte(r.ID)
	return db.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bRecords)
		if b.Get(k) != nil {
			return conflict("记录", r.ID)
		}
		if err := indexRecord(tx, k, nil, r); err != nil {
			return err
		}
		return b.Put(k, v)
	})
}

// UpdateRecord replaces an existing record (a review, a late stage).
func (db *DB) UpdateRecord(ctx context.Context, r *engine.Record) error {
	v, err := encode(r)
	if err != nil {
		return err
	}
	k := []byte(r.ID)
	return db.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bRecords)
		ov := b.Get(k)
		if ov == nil {
			return notFound("记录", r.ID)
		}
		var old engine.Record
		if err := decode(ov, &old); err != nil {
			return err
		}
		if err := indexRecord(tx, k, &old, r); err != nil {
			return err
		}
		return b.Put(k, v)
	})
}

// indexRecord moves a record's index entries from old (nil if new) to r.
func indexRecord(tx *bolt.Tx, k []byte, old, r *engine.Record) error {
	subj, ident := tx.Bucket(bRecSubject), tx.Bucket(bRecIdent)
	if old != nil && old.IDNumber != "" {
		if err := subj.Delete(subjectKey(old.IDNumber, k)); err != nil {
			return err
		}
	}
	if r.IDNumber != "" {
		if err := subj.Put(subjectKey(r.IDNumber, k), nil); err != nil {
			return err
		}
	}
	if r.IDNumber != "" || r.Name != "" {
		return ident.Put(k, nil)
	}
	return ident.Delete(k)
}

func subjectKey(idNumber string, recordKey []byte) []byte {
	return join([]byte(idNumber), []byte{0}, recordKey)
}

func deleteRecord(tx *bolt.Tx, k []byte) error {
	b := tx.Bucket(bRecords)
	v := b.Get(k)
	if v == nil {
		return nil
	}
	var r engine.Record
	if err := decode(v, &r); err != nil {
		return err
	}
	if r.IDNumber != "" {
		if err := tx.Bucket(bRecSubject).Delete(subjectKey(r.IDNumber, k)); err != nil {
			return err
		}
	}
	if err := tx.Bucket(bRecIdent).Delete(k); err != nil {
		return err
	}
	return b.Delete(k)
}

// FindRecord returns one record.
func (db *DB) FindRecord(ctx context.Context, id string) (*engine.Record, error) {
	var r engine.Record
	err := db.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bRecords).Get([]byte(id))
		if v == nil {
			return notFound("记录", id)
		}
		return decode(v, &r)
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// FindRecords returns matching records newest first and the number of
// matches. From/To bound CreatedAt (From inclusive, To exclusive, to the
// millisecond) through the key order, so a narrow time range reads only
// its own records.
func (db *DB) FindRecords(ctx context.Context, f engine.RecordFilter) ([]*engine.Record, int, error) {
	var out []*engine.Record
	total := 0
	var lo []byte
	if !f.From.IsZero() {
		lo = []byte(minID(f.From))
	}
	err := db.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bRecords).Cursor()
		var k, v []byte
		if f.To.IsZero() {
			k, v = c.Last()
		} else {
			// Seek lands on the first key >= To; step back to the last one below it.
			if k, v = c.Seek([]byte(minID(f.To))); k == nil {
				k, v = c.Last()
			} else {
				k, v = c.Prev()
			}
		}
		for ; k != nil; k, v = c.Prev() {
			if lo != nil && bytes.Compare(k, lo) < 0 {
				break
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			var r engine.Record
			if err := decode(v, &r); err != nil {
				return err
			}
			if !matchRecord(&r, f) {
				continue
			}
			total++
			if total <= f.Offset || f.Limit > 0 && len(out) >= f.Limit {
				continue
			}
			out = append(out, &r)
		}
		return nil
	})
	return out, total, err
}

func matchRecord(r *engine.Record, f engine.RecordFilter) bool {
	return (f.AppID == "" || r.AppID == f.AppID) &&
		(f.RuleID == "" || r.RuleID == f.RuleID) &&
		(f.Action == "" || r.Action == f.Action) &&
		(f.Result == "" || r.Result == f.Result) &&
		(f.ErrCode == nil || r.ErrCode == *f.ErrCode) &&
		(f.From.IsZero() || !r.CreatedAt.Before(f.From)) &&
		(f.To.IsZero() || r.CreatedAt.Before(f.To))
}

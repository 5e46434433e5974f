package store

import (
	"bytes"
	"context"
	"time"

	bolt "go.etcd.io/bbolt"

	"heshen/engine"
)

// The console keeps its own small documents (alert rules, notification
// channels, alert history, settings, report subscriptions, account flags)
// in one bucket, keyed kind + 0 + id. Values are JSON; notification
// channels carry SMTP passwords, so every value is sealed like secret keys.

var bConsole = []byte("console")

func consoleKey(kind, id string) []byte { return join([]byte(kind), []byte{0}, []byte(id)) }

// ConsolePut stores v (JSON-encoded, sealed) under kind/id.
func (db *DB) ConsolePut(ctx context.Context, kind, id string, v any) error {
	if kind == "" || id == "" {
		return invalid("键不能为空", "console kind and id must not be empty")
	}
	plain, err := encode(v)
	if err != nil {
		return err
	}
	k := consoleKey(kind, id)
	return db.update(ctx, func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bConsole)
		if err != nil {
			return err
		}
		return b.Put(k, db.seal(plain, bConsole, k))
	})
}

// ConsoleGet reads kind/id into v; a missing item is ResourceNotFound.
func (db *DB) ConsoleGet(ctx context.Context, kind, id string, v any) error {
	k := consoleKey(kind, id)
	return db.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bConsole)
		var sealed []byte
		if b != nil {
			sealed = b.Get(k)
		}
		if sealed == nil {
			return notFound(kind, id)
		}
		plain, err := db.open(sealed, bConsole, k)
		if err != nil {
			return err
		}
		return decode(plain, v)
	})
}

// ConsoleList calls fn with the id and JSON of every item of kind, in id
// order, newest first when reverse is set, stopping when fn returns false.
func (db *DB) ConsoleList(ctx context.Context, kind string, reverse bool, fn func(id string, v []byte) bool) error {
	prefix := consoleKey(kind, "")
	return db.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bConsole)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		var k, v []byte
		if reverse {
			end := append(bytes.Clone(prefix[:len(prefix)-1]), 1) // first key after the kind
			if k, v = c.Seek(end); k == nil {
				k, v = c.Last()
			} else {
				k, v = c.Prev()
			}
		} else {
			k, v = c.Seek(prefix)
		}
		for k != nil && bytes.HasPrefix(k, prefix) {
			plain, err := db.open(v, bConsole, k)
			if err != nil {
				return err
			}
			if !fn(string(k[len(prefix):]), plain) {
				return nil
			}
			if reverse {
				k, v = c.Prev()
			} else {
				k, v = c.Next()
			}
		}
		return nil
	})
}

// ConsoleDelete removes kind/id; a missing item is ResourceNotFound.
func (db *DB) ConsoleDelete(ctx context.Context, kind, id string) error {
	k := consoleKey(kind, id)
	return db.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bConsole)
		if b == nil || b.Get(k) == nil {
			return notFound(kind, id)
		}
		return b.Delete(k)
	})
}

// ConsolePrune deletes the oldest items of kind beyond keep (ids sort by
// age, e.g. NewID), returning how many went.
func (db *DB) ConsolePrune(ctx context.Context, kind string, keep int) (int, error) {
	prefix := consoleKey(kind, "")
	n := 0
	err := db.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bConsole)
		if b == nil {
			return nil
		}
		var keys [][]byte
		c := b.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			keys = append(keys, bytes.Clone(k))
		}
		for i := 0; i < len(keys)-keep; i++ {
			if err := b.Delete(keys[i]); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// EachRecord calls fn for every record created in [from, to), oldest
// first, without collecting them; fn returning false stops the walk.
func (db *DB) EachRecord(ctx context.Context, from, to time.Time, fn func(r *engine.Record) bool) error {
	return db.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bRecords).Cursor()
		// The key has milliseconds only: stop after to's millisecond and let CreatedAt decide.
		hi := []byte(minID(to.Add(time.Millisecond)))
		for k, v := c.Seek([]byte(minID(from))); k != nil && bytes.Compare(k, hi) < 0; k, v = c.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			var r engine.Record
			if err := decode(v, &r); err != nil {
				return err
			}
			if r.CreatedAt.Before(from) || !r.CreatedAt.Before(to) {
				continue
			}
			if !fn(&r) {
				return nil
			}
		}
		return nil
	})
}

// DeleteRule removes a flow. Records keep its ID.
func (db *DB) DeleteRule(ctx context.Context, id string) error {
	k, ok := ruleKey(id)
	if !ok {
		return notFound("业务流程", id)
	}
	return db.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bRules)
		if b.Get(k) == nil {
			return notFound("业务流程", id)
		}
		return b.Delete(k)
	})
}

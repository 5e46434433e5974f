package store

import (
	"context"
	"strconv"

	bolt "go.etcd.io/bbolt"

	"heshen/engine"
)

// Rule IDs are decimal sequence numbers, like Tencent's RuleIds; the key
// is the big-endian sequence so rules list in creation order.
func ruleKey(id string) ([]byte, bool) {
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil || n == 0 || strconv.FormatUint(n, 10) != id {
		return nil, false
	}
	return itob(n), true
}

// CreateRule stores a new flow of an existing app and assigns its ID.
func (db *DB) CreateRule(ctx context.Context, r *engine.Rule) error {
	if r.ID != "" {
		return invalid("RuleId由系统分配", "rule ids are assigned by the store")
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = db.now().UTC()
	}
	return db.update(ctx, func(tx *bolt.Tx) error {
		if tx.Bucket(bApps).Get([]byte(r.AppID)) == nil {
			return notFound("应用", r.AppID)
		}
		b := tx.Bucket(bRules)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		r.ID = strconv.FormatUint(seq, 10)
		v, err := encode(r)
		if err != nil {
			r.ID = ""
			return err
		}
		return b.Put(itob(seq), v)
	})
}

// UpdateRule replaces an existing rule.
func (db *DB) UpdateRule(ctx context.Context, r *engine.Rule) error {
	k, ok := ruleKey(r.ID)
	return db.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bRules)
		if !ok || b.Get(k) == nil {
			return notFound("RuleId", r.ID)
		}
		v, err := encode(r)
		if err != nil {
			return err
		}
		return b.Put(k, v)
	})
}

// FindRule returns one rule.
func (db *DB) FindRule(ctx context.Context, id string) (*engine.Rule, error) {
	k, ok := ruleKey(id)
	var r engine.Rule
	err := db.view(ctx, func(tx *bolt.Tx) error {
		var v []byte
		if ok {
			v = tx.Bucket(bRules).Get(k)
		}
		if v == nil {
			return notFound("RuleId", id)
		}
		return decode(v, &r)
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// FindRules returns the rules of an app ("" for all) in creation order.
func (db *DB) FindRules(ctx context.Context, appID string) ([]*engine.Rule, error) {
	var out []*engine.Rule
	err := db.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bRules).ForEach(func(_, v []byte) error {
			var r engine.Rule
			if err := decode(v, &r); err != nil {
				return err
			}
			if appID == "" || r.AppID == appID {
				out = append(out, &r)
			}
			return nil
		})
	})
	return out, err
}

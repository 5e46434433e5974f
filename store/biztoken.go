package store

import (
	"context"

	bolt "go.etcd.io/bbolt"

	"heshen/engine"
)

// PutBizToken adds or replaces a BizToken, generating the token (an
// upper-case UUID, Tencent's form) when empty. The creation time indexes
// it for the results retention sweep.
func (db *DB) PutBizToken(ctx context.Context, t *engine.BizToken) error {
	if t.Token == "" {
		t.Token = newUUID()
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = db.now().UTC()
	}
	v, err := encode(t)
	if err != nil {
		return err
	}
	k := []byte(t.Token)
	return db.update(ctx, func(tx *bolt.Tx) error {
		b, idx := tx.Bucket(bBizTokens), tx.Bucket(bBizByTime)
		if old := b.Get(k); old != nil {
			var o engine.BizToken
			if err := decode(old, &o); err != nil {
				return err
			}
			if err := idx.Delete(join(timeKey(o.CreatedAt), k)); err != nil {
				return err
			}
		}
		if err := idx.Put(join(timeKey(t.CreatedAt), k), nil); err != nil {
			return err
		}
		return b.Put(k, v)
	})
}

// FindBizToken returns a BizToken; once swept it is ResourceNotFound.
func (db *DB) FindBizToken(ctx context.Context, token string) (*engine.BizToken, error) {
	var t engine.BizToken
	err := db.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bBizTokens).Get([]byte(token))
		if v == nil {
			return notFound("BizToken", token)
		}
		return decode(v, &t)
	})
	if err != nil {
		return nil, err
	}
	return &t, nil
}

func deleteBizToken(tx *bolt.Tx, k []byte) error {
	b := tx.Bucket(bBizTokens)
	v := b.Get(k)
	if v == nil {
		return nil
	}
	var t engine.BizToken
	if err := decode(v, &t); err != nil {
		return err
	}
	if err := tx.Bucket(bBizByTime).Delete(join(timeKey(t.CreatedAt), k)); err != nil {
		return err
	}
	return b.Delete(k)
}

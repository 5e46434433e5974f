package store

import (
	"context"

	bolt "go.etcd.io/bbolt"

	"heshen/engine"
)

// PutMedia stores a media blob sealed, assigning a sortable ID when empty.
// With ExpiresAt set the sweeper deletes it then; without, it goes the
// retention's Media period after CreatedAt.
func (db *DB) PutMedia(ctx context.Context, m *engine.Media) error {
	if len(m.Data) == 0 {
		return invalid("媒体内容为空", "media has no data")
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = db.now().UTC()
	}
	if m.ID == "" {
		m.ID = NewID(m.CreatedAt)
	}
	meta, err := encode(m)
	if err != nil {
		return err
	}
	k := []byte(m.ID)
	sealed := db.seal(m.Data, bMediaData, k)
	return db.update(ctx, func(tx *bolt.Tx) error {
		if err := deleteMedia(tx, k); err != nil { // replacing: drop the old index entry
			return err
		}
		if err := tx.Bucket(bMedia).Put(k, meta); err != nil {
			return err
		}
		if err := tx.Bucket(bMediaData).Put(k, sealed); err != nil {
			return err
		}
		return tx.Bucket(mediaIndex(m)).Put(mediaIndexKey(m, k), nil)
	})
}

func mediaIndex(m *engine.Media) []byte {
	if m.ExpiresAt.IsZero() {
		return bMediaAge
	}
	return bMediaDue
}

func mediaIndexKey(m *engine.Media, k []byte) []byte {
	if m.ExpiresAt.IsZero() {
		return join(timeKey(m.CreatedAt), k)
	}
	return join(timeKey(m.ExpiresAt), k)
}

// FindMedia returns a media blob with its data; once swept it is ResourceNotFound.
func (db *DB) FindMedia(ctx context.Context, id string) (*engine.Media, error) {
	var m engine.Media
	k := []byte(id)
	err := db.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bMedia).Get(k)
		if v == nil {
			return notFound("媒体", id)
		}
		if err := decode(v, &m); err != nil {
			return err
		}
		d, err := db.open(tx.Bucket(bMediaData).Get(k), bMediaData, k)
		m.Data = d
		return err
	})
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// DeleteMedia removes a media blob; a missing one is not an error.
func (db *DB) DeleteMedia(ctx context.Context, id string) error {
	return db.update(ctx, func(tx *bolt.Tx) error { return deleteMedia(tx, []byte(id)) })
}

// deleteMedia removes a blob and its index entry if present.
func deleteMedia(tx *bolt.Tx, k []byte) error {
	b := tx.Bucket(bMedia)
	v := b.Get(k)
	if v == nil {
		return nil
	}
	var m engine.Media
	if err := decode(v, &m); err != nil {
		return err
	}
	if err := tx.Bucket(mediaIndex(&m)).Delete(mediaIndexKey(&m, k)); err != nil {
		return err
	}
	if err := tx.Bucket(bMediaData).Delete(k); err != nil {
		return err
	}
	return b.Delete(k)
}

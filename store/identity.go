package store

import (
	"bytes"
	"context"
	"strings"

	bolt "go.etcd.io/bbolt"

	"heshen/engine"
)

// PutIdentity adds or replaces a gallery identity. The photo and embedding
// are sealed; the ID number and name stay readable for lookups.
func (db *DB) PutIdentity(ctx context.Context, id *engine.Identity) error {
	if id.IDNumber == "" {
		return invalid("身份证号码不能为空", "identity has no ID number")
	}
	if len(id.Photo) == 0 && len(id.Embedding) == 0 {
		return invalid("身份需要照片或特征", "identity needs a photo or an embedding")
	}
	if id.CreatedAt.IsZero() {
		id.CreatedAt = db.now().UTC()
	}
	meta, err := encode(id)
	if err != nil {
		return err
	}
	k := []byte(id.IDNumber)
	return db.update(ctx, func(tx *bolt.Tx) error {
		return db.putIdentity(tx, k, meta, id)
	})
}

func (db *DB) putIdentity(tx *bolt.Tx, k, meta []byte, id *engine.Identity) error {
	if err := tx.Bucket(bGallery).Put(k, meta); err != nil {
		return err
	}
	for _, p := range []struct {
		bucket []byte
		data   []byte
	}{{bGalleryPhoto, id.Photo}, {bGalleryEmb, embeddingBytes(id.Embedding)}} {
		b := tx.Bucket(p.bucket)
		if len(p.data) == 0 {
			if err := b.Delete(k); err != nil {
				return err
			}
			continue
		}
		if err := b.Put(k, db.seal(p.data, p.bucket, k)); err != nil {
			return err
		}
	}
	return nil
}

// PutIdentities adds or replaces several identities in one transaction:
// all are written or none (bulk import).
func (db *DB) PutIdentities(ctx context.Context, ids []*engine.Identity) error {
	metas := make([][]byte, len(ids))
	for i, id := range ids {
		if id.IDNumber == "" || len(id.Photo) == 0 && len(id.Embedding) == 0 {
			return invalid("身份需要身份证号码和照片", "identity %d lacks an ID number or photo", i)
		}
		if id.CreatedAt.IsZero() {
			id.CreatedAt = db.now().UTC()
		}
		var err error
		if metas[i], err = encode(id); err != nil {
			return err
		}
	}
	return db.update(ctx, func(tx *bolt.Tx) error {
		for i, id := range ids {
			if err := db.putIdentity(tx, []byte(id.IDNumber), metas[i], id); err != nil {
				return err
			}
		}
		return nil
	})
}

// FindIdentity returns a gallery identity with its photo and embedding.
func (db *DB) FindIdentity(ctx context.Context, idNumber string) (*engine.Identity, error) {
	var id engine.Identity
	k := []byte(idNumber)
	err := db.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bGallery).Get(k)
		if v == nil {
			return notFound("身份", maskID(idNumber))
		}
		if err := decode(v, &id); err != nil {
			return err
		}
		if s := tx.Bucket(bGalleryPhoto).Get(k); s != nil {
			p, err := db.open(s, bGalleryPhoto, k)
			if err != nil {
				return err
			}
			id.Photo = p
		}
		if s := tx.Bucket(bGalleryEmb).Get(k); s != nil {
			e, err := db.open(s, bGalleryEmb, k)
			if err != nil {
				return err
			}
			id.Embedding = bytesEmbedding(e)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &id, nil
}

// FindIdentities lists identities without photos or embeddings, in ID
// number order: query matches an ID number prefix or a part of the name
// ("" matches all). It returns the page and the number of matches.
func (db *DB) FindIdentities(ctx context.Context, query string, offset, limit int) ([]*engine.Identity, int, error) {
	var out []*engine.Identity
	total := 0
	q := []byte(query)
	err := db.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bGallery).ForEach(func(k, v []byte) error {
			if len(q) > 0 && !bytes.HasPrefix(k, q) {
				var id engine.Identity
				if err := decode(v, &id); err != nil {
					return err
				}
				if !strings.Contains(id.Name, query) {
					return nil
				}
			}
			total++
			if total <= offset || limit > 0 && len(out) >= limit {
				return nil
			}
			var id engine.Identity
			if err := decode(v, &id); err != nil {
				return err
			}
			out = append(out, &id)
			return nil
		})
	})
	return out, total, err
}

// HasIdentity reports whether the gallery holds an ID number, without
// decrypting anything.
func (db *DB) HasIdentity(ctx context.Context, idNumber string) (bool, error) {
	var ok bool
	err := db.view(ctx, func(tx *bolt.Tx) error {
		ok = tx.Bucket(bGallery).Get([]byte(idNumber)) != nil
		return nil
	})
	return ok, err
}

// CountIdentities is the gallery size.
func (db *DB) CountIdentities(ctx context.Context) (int, error) {
	n := 0
	err := db.view(ctx, func(tx *bolt.Tx) error {
		n = tx.Bucket(bGallery).Stats().KeyN
		return nil
	})
	return n, err
}

// DeleteIdentity removes a gallery identity with its photo and embedding.
func (db *DB) DeleteIdentity(ctx context.Context, idNumber string) error {
	return db.update(ctx, func(tx *bolt.Tx) error {
		_, err := deleteIdentity(tx, []byte(idNumber))
		return err
	})
}

func deleteIdentity(tx *bolt.Tx, k []byte) (bool, error) {
	b := tx.Bucket(bGallery)
	if b.Get(k) == nil {
		return false, notFound("身份", maskID(string(k)))
	}
	for _, name := range [][]byte{bGallery, bGalleryPhoto, bGalleryEmb} {
		if err := tx.Bucket(name).Delete(k); err != nil {
			return false, err
		}
	}
	return true, nil
}

// maskID keeps the first 4 and last 4 characters of an ID number, for
// error messages that may reach logs.
func maskID(s string) string {
	if len(s) <= 8 {
		return strings.Repeat("*", len(s))
	}
	return s[:4] + strings.Repeat("*", len(s)-8) + s[len(s)-4:]
}

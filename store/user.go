package store

import (
	"context"

	bolt "go.etcd.io/bbolt"

	"heshen/engine"
)

// storedUser keeps the password hash, which the domain type hides from JSON.
type storedUser struct {
	engine.User
	Hash string `json:"password_hash"`
}

// PutUser adds or replaces a console user.
func (db *DB) PutUser(ctx context.Context, u *engine.User) error {
	if u.Name == "" {
		return invalid("用户名不能为空", "user name is empty")
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = db.now().UTC()
	}
	v, err := encode(&storedUser{User: *u, Hash: u.PasswordHash})
	if err != nil {
		return err
	}
	return db.update(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bUsers).Put([]byte(u.Name), v)
	})
}

func decodeUser(v []byte) (*engine.User, error) {
	var su storedUser
	if err := decode(v, &su); err != nil {
		return nil, err
	}
	u := su.User
	u.PasswordHash = su.Hash
	return &u, nil
}

// FindUser returns a console user with its password hash.
func (db *DB) FindUser(ctx context.Context, name string) (*engine.User, error) {
	var u *engine.User
	err := db.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bUsers).Get([]byte(name))
		if v == nil {
			return notFound("用户", name)
		}
		var err error
		u, err = decodeUser(v)
		return err
	})
	return u, err
}

// FindUsers returns every console user by name.
func (db *DB) FindUsers(ctx context.Context) ([]*engine.User, error) {
	var out []*engine.User
	err := db.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bUsers).ForEach(func(_, v []byte) error {
			u, err := decodeUser(v)
			if err == nil {
				out = append(out, u)
			}
			return err
		})
	})
	return out, err
}

// DeleteUser removes a console user.
func (db *DB) DeleteUser(ctx context.Context, name string) error {
	return db.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bUsers)
		if b.Get([]byte(name)) == nil {
			return notFound("用户", name)
		}
		return b.Delete([]byte(name))
	})
}

package store

import (
	"context"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"heshen/engine"
)

// appIDBase makes app IDs ten digits, the shape of Tencent Cloud AppIds,
// so their string order is their creation order.
const appIDBase = 1400000000

// CreateApp stores a new app, assigning its ID when empty.
func (db *DB) CreateApp(ctx context.Context, a *engine.App) error {
	if a.Name == "" {
		return invalid("应用名称不能为空", "app name is empty")
	}
	if a.CreatedAt.IsZero() {
		a.CreatedAt = db.now().UTC()
	}
	return db.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bApps)
		if a.ID == "" {
			seq, err := b.NextSequence()
			if err != nil {
				return err
			}
			a.ID = strconv.FormatUint(appIDBase+seq, 10)
		}
		if b.Get([]byte(a.ID)) != nil {
			return conflict("应用", a.ID)
		}
		v, err := encode(a)
		if err != nil {
			return err
		}
		return b.Put([]byte(a.ID), v)
	})
}

// CreateAppWithCredential stores a new app and its first credential in one
// transaction, so an app never exists without the credential it was
// created with.
func (db *DB) CreateAppWithCredential(ctx context.Context, a *engine.App, c *engine.Credential) error {
	if a.Name == "" {
		return invalid("应用名称不能为空", "app name is empty")
	}
	now := db.now().UTC()
	if a.CreatedAt.IsZero() {
		a.CreatedAt = now
	}
	if c.SecretID == "" {
		c.SecretID = NewSecretID()
	}
	if c.SecretKey == "" {
		c.SecretKey = NewSecretKey()
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now
	}
	id := a.ID
	err := db.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bApps)
		a.ID = id
		if a.ID == "" {
			seq, err := b.NextSequence()
			if err != nil {
				return err
			}
			a.ID = strconv.FormatUint(appIDBase+seq, 10)
		}
		if b.Get([]byte(a.ID)) != nil {
			return conflict("应用", a.ID)
		}
		v, err := encode(a)
		if err != nil {
			return err
		}
		if err := b.Put([]byte(a.ID), v); err != nil {
			return err
		}
		c.AppID = a.ID
		cb := tx.Bucket(bCreds)
		if cb.Get([]byte(c.SecretID)) != nil {
			return conflict("SecretId", c.SecretID)
		}
		return db.putCredential(cb, c)
	})
	if err != nil {
		a.ID = id
	}
	return err
}

// UpdateApp replaces an existing app.
func (db *DB) UpdateApp(ctx context.Context, a *engine.App) error {
	return db.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bApps)
		if b.Get([]byte(a.ID)) == nil {
			return notFound("应用", a.ID)
		}
		v, err := encode(a)
		if err != nil {
			return err
		}
		return b.Put([]byte(a.ID), v)
	})
}

// FindAppByID returns one app.
func (db *DB) FindAppByID(ctx context.Context, id string) (*engine.App, error) {
	var a engine.App
	err := db.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bApps).Get([]byte(id))
		if v == nil {
			return notFound("应用", id)
		}
		return decode(v, &a)
	})
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// FindApps returns every app in creation order.
func (db *DB) FindApps(ctx context.Context) ([]*engine.App, error) {
	var out []*engine.App
	err := db.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bApps).ForEach(func(_, v []byte) error {
			var a engine.App
			if err := decode(v, &a); err != nil {
				return err
			}
			out = append(out, &a)
			return nil
		})
	})
	return out, err
}

// storedCredential is a credential as stored: the SecretKey sealed.
type storedCredential struct {
	engine.Credential
	SealedKey []byte `json:"sealed_key"`
}

// NewSecretID returns a SecretId in Tencent's shape: "AKID" and 32 letters and digits.
func NewSecretID() string { return "AKID" + randomString(32, alnum) }

// NewSecretKey returns a 32-character SecretKey.
func NewSecretKey() string { return randomString(32, alnum) }

// CreateCredential stores a credential of an existing app, generating the
// SecretId and SecretKey when empty.
func (db *DB) CreateCredential(ctx context.Context, c *engine.Credential) error {
	if c.SecretID == "" {
		c.SecretID = NewSecretID()
	}
	if c.SecretKey == "" {
		c.SecretKey = NewSecretKey()
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = db.now().UTC()
	}
	return db.update(ctx, func(tx *bolt.Tx) error {
		if tx.Bucket(bApps).Get([]byte(c.AppID)) == nil {
			return notFound("应用", c.AppID)
		}
		b := tx.Bucket(bCreds)
		if b.Get([]byte(c.SecretID)) != nil {
			return conflict("SecretId", c.SecretID)
		}
		return db.putCredential(b, c)
	})
}

func (db *DB) putCredential(b *bolt.Bucket, c *engine.Credential) error {
	sc := storedCredential{Credential: *c}
	sc.SecretKey = ""
	sc.SealedKey = db.seal([]byte(c.SecretKey), bCreds, []byte(c.SecretID))
	v, err := encode(&sc)
	if err != nil {
		return err
	}
	return b.Put([]byte(c.SecretID), v)
}

func (db *DB) decodeCredential(k, v []byte) (*engine.Credential, error) {
	var sc storedCredential
	if err := decode(v, &sc); err != nil {
		return nil, err
	}
	key, err := db.open(sc.SealedKey, bCreds, k)
	if err != nil {
		return nil, err
	}
	c := sc.Credential
	c.SecretKey = string(key)
	return &c, nil
}

// FindCredential returns a credential with its SecretKey (revoked ones too:
// the caller decides what a revoked credential means).
func (db *DB) FindCredential(ctx context.Context, secretID string) (*engine.Credential, error) {
	var c *engine.Credential
	err := db.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bCreds).Get([]byte(secretID))
		if v == nil {
			return notFound("SecretId", secretID)
		}
		var err error
		c, err = db.decodeCredential([]byte(secretID), v)
		return err
	})
	return c, err
}

// FindCredentials returns the credentials of an app ("" for all).
func (db *DB) FindCredentials(ctx context.Context, appID string) ([]*engine.Credential, error) {
	var out []*engine.Credential
	err := db.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bCreds).ForEach(func(k, v []byte) error {
			c, err := db.decodeCredential(k, v)
			if err != nil {
				return err
			}
			if appID == "" || c.AppID == appID {
				out = append(out, c)
			}
			return nil
		})
	})
	return out, err
}

// RevokeCredential marks a credential revoked at the given time; revoking
// twice keeps the first time.
func (db *DB) RevokeCredential(ctx context.Context, secretID string, at time.Time) error {
	return db.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bCreds)
		v := b.Get([]byte(secretID))
		if v == nil {
			return notFound("SecretId", secretID)
		}
		c, err := db.decodeCredential([]byte(secretID), v)
		if err != nil {
			return err
		}
		if c.Revoked() {
			return nil
		}
		c.RevokedAt = at.UTC()
		return db.putCredential(b, c)
	})
}

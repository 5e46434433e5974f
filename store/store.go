// Package store is Heshen's record store: apps, credentials, the gallery,
// flows, BizTokens, verification records, media and users in one bbolt
// file behind typed methods. Photos, embeddings, media and secret keys are
// sealed with AES-256-GCM; a retention sweeper deletes what is due.
package store

import (
	"bytes"
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"heshen/engine"
)

var (
	_ engine.Store        = (*DB)(nil)
	_ engine.SubjectStore = (*DB)(nil)
)

// File names inside a data directory.
const (
	DBFile  = "heshen.db" // the store
	KeyFile = "store.key" // the generated at-rest key, when none is configured
)

// Magic identifies a Heshen store in its meta bucket.
const Magic = "heshen-store"

// ErrLocked is returned by Open when another process holds the file.
var ErrLocked = errors.New("store is locked by another process")

// ErrClosed is returned by methods of a closed DB.
var ErrClosed = errors.New("store is closed")

// Options configure Open. The zero value is usable.
type Options struct {
	// Timeout is how long Open waits for another process's file lock
	// before it returns ErrLocked. Default 1 s.
	Timeout time.Duration
	// Key is the 32-byte AES-256 key sealing photos, embeddings, media and
	// secret keys (see ParseKey). Empty means KeyFile.
	Key []byte
	// KeyFile holds the key when Key is empty; it is generated (mode 0600)
	// on first use. Default "store.key" beside the database file.
	KeyFile string
	// NoSync skips fsync after each commit; for tests only.
	NoSync bool
	// Now is the clock for generated IDs and timestamps. Default time.Now.
	Now func() time.Time
}

// DB is an open store.
type DB struct {
	// mu is held for reading by every transaction and for writing only
	// while Restore swaps the file underneath.
	mu   sync.RWMutex
	bolt *bolt.DB
	path string
	opts Options
	aead cipher.AEAD
	now  func() time.Time
}

// Bucket names. Index buckets hold keys only.
var (
	bMeta         = []byte("meta")
	bApps         = []byte("apps")
	bCreds        = []byte("credentials")
	bGallery      = []byte("gallery")       // id number -> identity (no biometrics)
	bGalleryPhoto = []byte("gallery_photo") // id number -> sealed photo
	bGalleryEmb   = []byte("gallery_emb")   // id number -> sealed embedding
	bRules        = []byte("rules")         // itob(seq) -> rule
	bBizTokens    = []byte("biz_tokens")
	bBizByTime    = []byte("biz_by_time") // itob(created ns) + token
	bRecords      = []byte("records")     // time-sortable id -> record
	bRecIdent     = []byte("rec_ident")   // record id, while it holds a name or ID number
	bRecSubject   = []byte("rec_subject") // id number + 0 + record id
	bMedia        = []byte("media")       // id -> media (no data)
	bMediaData    = []byte("media_data")  // id -> sealed data
	bMediaDue     = []byte("media_due")   // itob(expires ns) + id
	bMediaAge     = []byte("media_age")   // itob(created ns) + id, media without an expiry
	bUsers        = []byte("users")
	bSweeps       = []byte("sweeps") // itob(ns) -> SweepLog
)

var (
	kMagic    = []byte("magic")
	kSchema   = []byte("schema")
	kKeyCheck = []byte("key_check")
	kCreated  = []byte("created")
)

const keyCheckText = "heshen key check"

// Open opens or creates the store at path, creating its directory (0700),
// its buckets and, without Options.Key, its key file. It waits at most
// Options.Timeout for a lock held by another process, then returns an error
// wrapping ErrLocked.
func Open(path string, opts Options) (*DB, error) {
	return open(path, opts, migrations())
}

func open(path string, opts Options, migs []migration) (*DB, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.KeyFile == "" {
		opts.KeyFile = filepath.Join(filepath.Dir(path), KeyFile)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	aead, err := storeKey(path, opts, true)
	if err != nil {
		return nil, err
	}
	db := &DB{path: path, opts: opts, aead: aead, now: opts.Now}
	if err := db.openBolt(migs); err != nil {
		return nil, err
	}
	return db, nil
}

// storeKey returns the cipher of Options.Key or of the key file. A key
// file is generated only for a store that does not exist yet (and create
// is set): an existing store whose key file is gone must get its key back,
// not a new one that opens nothing.
func storeKey(path string, opts Options, create bool) (cipher.AEAD, error) {
	key := opts.Key
	if len(key) == 0 {
		_, kerr := os.Stat(opts.KeyFile)
		fi, derr := os.Stat(path)
		if errors.Is(kerr, fs.ErrNotExist) && (!create || derr == nil && fi.Size() > 0) {
			return nil, fmt.Errorf("key file %s is missing: copy the store's original key file there or configure its key (a new key would open nothing)", opts.KeyFile)
		}
		var err error
		if key, err = loadOrCreateKey(opts.KeyFile); err != nil {
			return nil, err
		}
	}
	return newAEAD(key)
}

// openBolt opens the file and brings it to the current schema; the handle
// is closed again if that fails.
func (db *DB) openBolt(migs []migration) error {
	b, err := bolt.Open(db.path, 0o600, &bolt.Options{Timeout: db.opts.Timeout, NoSync: db.opts.NoSync})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return fmt.Errorf("open %s: %w (waited %v; is `heshen serve` running on this data directory?)", db.path, ErrLocked, db.opts.Timeout)
		}
		return fmt.Errorf("open %s: %w", db.path, err)
	}
	if err := initialize(b, db.aead, db.now(), migs); err != nil {
		b.Close()
		return fmt.Errorf("open %s: %w", db.path, err)
	}
	db.bolt = b
	return nil
}

// Path is the database file.
func (db *DB) Path() string { return db.path }

// Close closes the store; a second Close does nothing.
func (db *DB) Close() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.bolt == nil {
		return nil
	}
	err := db.bolt.Close()
	db.bolt = nil
	return err
}

// SchemaVersion is the schema version of the open store.
func (db *DB) SchemaVersion() (int, error) {
	var v int
	err := db.view(context.Background(), func(tx *bolt.Tx) error {
		v = int(btoi(tx.Bucket(bMeta).Get(kSchema)))
		return nil
	})
	return v, err
}

func (db *DB) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.bolt == nil {
		return ErrClosed
	}
	return db.bolt.View(fn)
}

func (db *DB) update(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.bolt == nil {
		return ErrClosed
	}
	return db.bolt.Update(fn)
}

// migration brings the schema from version-1 to version.
type migration struct {
	version int
	name    string
	up      func(tx *bolt.Tx) error
}

// migrations is the schema history, oldest first. Append, never edit.
func migrations() []migration {
	return []migration{
		{1, "initial buckets", func(tx *bolt.Tx) error {
			for _, b := range [][]byte{bApps, bCreds, bGallery, bGalleryPhoto, bGalleryEmb, bRules,
				bBizTokens, bBizByTime, bRecords, bRecIdent, bRecSubject, bMedia, bMediaData,
				bMediaDue, bMediaAge, bUsers, bSweeps} {
				if _, err := tx.CreateBucketIfNotExists(b); err != nil {
					return err
				}
			}
			return nil
		}},
	}
}

// SchemaLatest is the schema version this build writes.
func SchemaLatest() int { m := migrations(); return m[len(m)-1].version }

// initialize stamps a new file, or checks an existing one is a Heshen store
// sealed with this key, then runs pending migrations, each in its own
// transaction with its version bump.
func initialize(b *bolt.DB, aead cipher.AEAD, now time.Time, migs []migration) error {
	latest := migs[len(migs)-1].version
	err := b.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bMeta)
		if meta == nil {
			empty := true
			tx.ForEach(func([]byte, *bolt.Bucket) error { empty = false; return nil })
			if !empty {
				return errors.New("not a Heshen store (no meta bucket)")
			}
			meta, _ = tx.CreateBucket(bMeta)
			meta.Put(kMagic, []byte(Magic))
			meta.Put(kSchema, itob(0))
			meta.Put(kCreated, []byte(now.UTC().Format(time.RFC3339)))
			return meta.Put(kKeyCheck, sealWith(aead, []byte(keyCheckText), bMeta, kKeyCheck))
		}
		return checkMeta(meta, aead, latest)
	})
	if err != nil {
		return err
	}
	for _, m := range migs {
		err := b.Update(func(tx *bolt.Tx) error {
			meta := tx.Bucket(bMeta)
			if int(btoi(meta.Get(kSchema))) >= m.version {
				return nil
			}
			if err := m.up(tx); err != nil {
				return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
			}
			return meta.Put(kSchema, itob(uint64(m.version)))
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// checkMeta verifies magic, schema version and key.
func checkMeta(meta *bolt.Bucket, aead cipher.AEAD, latest int) error {
	if !bytes.Equal(meta.Get(kMagic), []byte(Magic)) {
		return errors.New("not a Heshen store (bad magic)")
	}
	v := int(btoi(meta.Get(kSchema)))
	if v > latest {
		return fmt.Errorf("store schema version %d is newer than this build's %d; upgrade heshen", v, latest)
	}
	plain, err := openWith(aead, meta.Get(kKeyCheck), bMeta, kKeyCheck)
	if err != nil || string(plain) != keyCheckText {
		return errors.New("the encryption key does not match this store (restore its store.key or set the configured key)")
	}
	return nil
}

// notFound is the ResourceNotFound error for a missing item.
func notFound(what, id string) error {
	return &engine.Error{Code: engine.CodeResourceNotFound, Message: what + "不存在", EN: fmt.Sprintf("%s %q not found", what, id)}
}

// CodeResourceInUse is Tencent's code for a conflicting create.
const CodeResourceInUse = "ResourceInUse"

func conflict(what, id string) error {
	return &engine.Error{Code: CodeResourceInUse, Message: what + "已存在", EN: fmt.Sprintf("%s %q already exists", what, id)}
}

func invalid(zh, format string, args ...any) error {
	return engine.Errorf(engine.CodeInvalidParameterValue, zh, format, args...)
}

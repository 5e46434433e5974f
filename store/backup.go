package store

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Backup writes a consistent copy of the live store to w (bbolt's
// Tx.WriteTo in a read transaction: writers keep going meanwhile),
// followed by a trailer with the SHA-256 of the copy so Restore can tell a
// damaged backup from a whole one; bbolt ignores bytes past its last page,
// so the file still opens as a store. Sealed values stay sealed: a restore
// needs the same key.
func (db *DB) Backup(w io.Writer) (int64, error) {
	var n int64
	h := sha256.New()
	err := db.view(context.Background(), func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(io.MultiWriter(w, h))
		return err
	})
	if err != nil {
		return n, err
	}
	m, err := io.WriteString(w, trailerMagic+hex.EncodeToString(h.Sum(nil))+"\n")
	return n + int64(m), err
}

// trailerMagic starts the checksum trailer of a backup.
const trailerMagic = "\nHESHEN-BACKUP v1 sha256 "

const trailerLen = len(trailerMagic) + 64 + 1

// checkTrailer verifies and cuts off a backup's checksum trailer. A file
// without one (a plain copy of a stopped store) is left as it is.
func checkTrailer(path string) (bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	size := fi.Size()
	if size < int64(trailerLen) {
		return false, nil
	}
	tr := make([]byte, trailerLen)
	if _, err := f.ReadAt(tr, size-int64(trailerLen)); err != nil {
		return false, err
	}
	if !bytes.HasPrefix(tr, []byte(trailerMagic)) {
		return false, nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, size-int64(trailerLen))); err != nil {
		return true, err
	}
	want := string(tr[len(trailerMagic) : trailerLen-1])
	if hex.EncodeToString(h.Sum(nil)) != want {
		return true, errors.New("the backup is damaged (its SHA-256 does not match its trailer)")
	}
	return true, f.Truncate(size - int64(trailerLen))
}

// BackupFile writes a backup to path (mode 0600) through a temporary file
// in the same directory, so path is either the old file or a whole backup.
func (db *DB) BackupFile(path string) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".heshen-backup-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return 0, err
	}
	n, err := db.Backup(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return 0, err
	}
	return n, syncDir(filepath.Dir(path))
}

// BackupInfo describes a validated backup.
type BackupInfo struct {
	Schema  int    `json:"schema"`
	Created string `json:"created"`
	Size    int64  `json:"size"`
}

// validateBackup checks that path is a whole Heshen store of a schema this
// build knows, sealed with this key, and that bbolt's consistency check passes.
func validateBackup(path string, aead cipher.AEAD, latest int) (info BackupInfo, err error) {
	// A damaged file can make bbolt panic on a bad page or fault on the
	// mapping; that is a refusal, not a crash.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("not a readable store: %v", r)
		}
	}()
	fi, err := os.Stat(path)
	if err != nil {
		return info, err
	}
	info.Size = fi.Size()
	b, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return info, fmt.Errorf("not a readable store: %w", err)
	}
	defer b.Close()
	err = b.View(func(tx *bolt.Tx) error {
		// A truncated copy maps pages past the end of the file; touching them is a SIGBUS.
		if tx.Size() > info.Size {
			return fmt.Errorf("truncated: %d bytes of %d", info.Size, tx.Size())
		}
		meta := tx.Bucket(bMeta)
		if meta == nil {
			return errors.New("not a Heshen store (no meta bucket)")
		}
		if err := checkMeta(meta, aead, latest); err != nil {
			return err
		}
		info.Schema = int(btoi(meta.Get(kSchema)))
		info.Created = string(meta.Get(kCreated))
		var first error
		for err := range tx.Check() { // drain: Check's goroutine sends every error
			if first == nil {
				first = fmt.Errorf("consistency check: %w", err)
			}
		}
		return first
	})
	return info, err
}

// Restore replaces the live store with the backup at path. The backup is
// copied beside the store and validated first; only then are the files
// swapped by rename, so the store is either the old one or the whole
// backup, never a mix. If the restored file fails to open, the old one is
// put back. Transactions wait while the swap runs.
func (db *DB) Restore(path string) (BackupInfo, error) {
	dir := filepath.Dir(db.path)
	tmp, err := copyToTemp(path, dir)
	if err != nil {
		return BackupInfo{}, fmt.Errorf("restore: %w", err)
	}
	defer os.Remove(tmp)
	_, err = checkTrailer(tmp)
	var info BackupInfo
	if err == nil {
		info, err = validateBackup(tmp, db.aead, SchemaLatest())
	}
	if err != nil {
		return info, fmt.Errorf("restore refused, the store is unchanged: %w", err)
	}
	if fi, err := os.Stat(path); err == nil {
		info.Size = fi.Size()
	}

	db.mu.Lock()
	defer db.mu.Unlock()
	if db.bolt == nil {
		return info, ErrClosed
	}
	if err := db.bolt.Close(); err != nil {
		return info, err
	}
	db.bolt = nil
	prev := db.path + ".prev"
	if err := os.Rename(db.path, prev); err != nil {
		return info, db.reopenAfter(fmt.Errorf("restore: set the old store aside: %w", err))
	}
	if err := os.Rename(tmp, db.path); err != nil {
		os.Rename(prev, db.path)
		return info, db.reopenAfter(fmt.Errorf("restore: %w", err))
	}
	syncDir(dir)
	if err := db.openBolt(migrations()); err != nil {
		os.Rename(prev, db.path)
		syncDir(dir)
		return info, db.reopenAfter(fmt.Errorf("restore: the restored store did not open, the old one is back: %w", err))
	}
	os.Remove(prev)
	return info, nil
}

// RestoreInto puts the backup at backup in place as the store at path,
// where no store exists yet (disaster recovery on a new machine). The key
// must be given in Options or be in the key file already: it is never
// generated here.
func RestoreInto(path, backup string, opts Options) (BackupInfo, error) {
	if opts.KeyFile == "" {
		opts.KeyFile = filepath.Join(filepath.Dir(path), KeyFile)
	}
	if _, err := os.Stat(path); err == nil {
		return BackupInfo{}, fmt.Errorf("restore: %s exists; restore into it through Open and DB.Restore", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return BackupInfo{}, err
	}
	aead, err := storeKey(path, opts, false)
	if err != nil {
		return BackupInfo{}, fmt.Errorf("restore: %w", err)
	}
	tmp, err := copyToTemp(backup, filepath.Dir(path))
	if err != nil {
		return BackupInfo{}, fmt.Errorf("restore: %w", err)
	}
	defer os.Remove(tmp)
	_, err = checkTrailer(tmp)
	var info BackupInfo
	if err == nil {
		info, err = validateBackup(tmp, aead, SchemaLatest())
	}
	if err != nil {
		return info, fmt.Errorf("restore refused: %w", err)
	}
	if fi, err := os.Stat(backup); err == nil {
		info.Size = fi.Size()
	}
	// Link, not rename: a store created meanwhile is never overwritten.
	if err := os.Link(tmp, path); err != nil {
		return info, fmt.Errorf("restore: %w", err)
	}
	return info, syncDir(filepath.Dir(path))
}

// reopenAfter reopens the current file after a failed swap and returns cause.
func (db *DB) reopenAfter(cause error) error {
	if err := db.openBolt(migrations()); err != nil {
		return errors.Join(cause, fmt.Errorf("reopen: %w", err))
	}
	return cause
}

func copyToTemp(src, dir string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.CreateTemp(dir, ".heshen-restore-*")
	if err != nil {
		return "", err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Chmod(0o600)
	}
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out.Name())
		return "", err
	}
	return out.Name(), nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

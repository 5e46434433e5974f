package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"heshen/engine"
)

var ctx = context.Background()

// mustOpenDB opens a store in a temp dir, closed at cleanup.
func mustOpenDB(tb testing.TB, opts Options) *DB {
	tb.Helper()
	opts.NoSync = true
	db, err := Open(filepath.Join(tb.TempDir(), "heshen.db"), opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := engine.ErrorCode(err); got != code {
		t.Fatalf("error = %v (code %q), want code %q", err, got, code)
	}
}

func TestOpenCreatesBucketsKeyAndSchema(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "data", "heshen.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	v, err := db.SchemaVersion()
	if err != nil || v != SchemaLatest() {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, SchemaLatest())
	}
	fi, err := os.Stat(filepath.Join(dir, "data", "store.key"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	di, _ := os.Stat(filepath.Join(dir, "data"))
	if di.Mode().Perm() != 0o700 {
		t.Fatalf("data dir mode %v, want 0700", di.Mode().Perm())
	}
	err = db.view(ctx, func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bMeta, bApps, bCreds, bGallery, bGalleryPhoto, bGalleryEmb, bRules, bBizTokens,
			bBizByTime, bRecords, bRecIdent, bRecSubject, bMedia, bMediaData, bMediaDue, bMediaAge, bUsers, bSweeps} {
			if tx.Bucket(b) == nil {
				t.Errorf("bucket %s missing", b)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if _, err := db.FindApps(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("FindApps on closed DB = %v, want ErrClosed", err)
	}
}

func TestOpenLockTimeout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "heshen.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	start := time.Now()
	_, err = Open(path, Options{Timeout: 150 * time.Millisecond})
	took := time.Since(start)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), "heshen serve") {
		t.Fatalf("lock error %q does not say what holds the file", err)
	}
	if took > time.Second {
		t.Fatalf("second Open took %v, want about the 150ms timeout", took)
	}
	db.Close()
	db2, err := Open(path, Options{Timeout: 150 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open after Close = %v", err)
	}
	db2.Close()
}

func TestKeyHandling(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "heshen.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	wrong := bytes.Repeat([]byte{7}, KeySize)
	if _, err := Open(path, Options{Key: wrong}); err == nil || !strings.Contains(err.Error(), "key does not match") {
		t.Fatalf("Open with the wrong key = %v, want a key mismatch", err)
	}
	if _, err := Open(path, Options{Key: []byte("short")}); err == nil {
		t.Fatal("Open with a short key succeeded")
	}
	keyFile := filepath.Join(dir, "store.key")
	os.Chmod(keyFile, 0o644)
	if _, err := Open(path, Options{}); err == nil || !strings.Contains(err.Error(), "readable by others") {
		t.Fatalf("Open with a world-readable key file = %v", err)
	}
	os.Chmod(keyFile, 0o600)
	raw, _ := os.ReadFile(keyFile)
	k, err := ParseKey(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	db, err = Open(path, Options{Key: k})
	if err != nil {
		t.Fatalf("Open with the key file's key as Options.Key = %v", err)
	}
	db.Close()

	for _, s := range []string{strings.Repeat("ab", 32), "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq8A=", "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq8A"} {
		if k, err := ParseKey(s); err != nil || len(k) != KeySize {
			t.Errorf("ParseKey(%q) = %d bytes, %v", s, len(k), err)
		}
	}
	for _, s := range []string{"", "abc", strings.Repeat("zz", 32), "q83vEjRWeJq83vEjRWeJ"} {
		if _, err := ParseKey(s); err == nil {
			t.Errorf("ParseKey(%q) succeeded", s)
		}
	}
}

func TestMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "heshen.db")
	key := bytes.Repeat([]byte{1}, KeySize)
	v1 := migrations()
	db, err := open(path, Options{Key: key}, v1)
	if err != nil {
		t.Fatal(err)
	}
	a := &engine.App{Name: "old"}
	if err := db.CreateApp(ctx, a); err != nil {
		t.Fatal(err)
	}
	db.Close()

	// A later schema that renames every app: it must run once, over existing data.
	ran := 0
	v2 := append(v1, migration{len(v1) + 1, "upper-case app names", func(tx *bolt.Tx) error {
		ran++
		b := tx.Bucket(bApps)
		return b.ForEach(func(k, v []byte) error {
			var a engine.App
			decode(v, &a)
			a.Name = strings.ToUpper(a.Name)
			nv, _ := encode(&a)
			return b.Put(k, nv)
		})
	}})
	for i := 0; i < 2; i++ {
		db, err = open(path, Options{Key: key}, v2)
		if err != nil {
			t.Fatal(err)
		}
		got, err := db.FindAppByID(ctx, a.ID)
		if err != nil || got.Name != "OLD" {
			t.Fatalf("after migration app = %+v, %v", got, err)
		}
		if v, _ := db.SchemaVersion(); v != len(v2) {
			t.Fatalf("schema = %d, want %d", v, len(v2))
		}
		db.Close()
	}
	if ran != 1 {
		t.Fatalf("migration ran %d times, want 1", ran)
	}

	// This build must refuse the newer file rather than misread it.
	if _, err := open(path, Options{Key: key}, v1); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("old build opening a newer store = %v", err)
	}

	// A failing migration leaves the version where it was.
	bad := append(v2, migration{len(v2) + 1, "fails", func(*bolt.Tx) error { return errors.New("boom") }})
	if _, err := open(path, Options{Key: key}, bad); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("failing migration = %v", err)
	}
	db, err = open(path, Options{Key: key}, v2)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := db.SchemaVersion(); v != len(v2) {
		t.Fatalf("schema after failed migration = %d, want %d", v, len(v2))
	}
	db.Close()
}

func TestOpenRefusesForeignFiles(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(dir, "other.db")
	b, err := bolt.Open(other, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	b.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("widgets")); return err })
	b.Close()
	key := bytes.Repeat([]byte{1}, KeySize)
	if _, err := Open(other, Options{Key: key}); err == nil || !strings.Contains(err.Error(), "not a Heshen store") {
		t.Fatalf("Open(foreign bbolt file) = %v", err)
	}
	junk := filepath.Join(dir, "junk.db")
	os.WriteFile(junk, bytes.Repeat([]byte("not a database "), 1000), 0o600)
	if _, err := Open(junk, Options{Key: key}); err == nil {
		t.Fatal("Open(junk) succeeded")
	}
}

func TestIDsSort(t *testing.T) {
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var ids []string
	for i := 0; i < 200; i++ {
		ids = append(ids, NewID(base.Add(time.Duration(i)*time.Millisecond)))
	}
	if !sort.StringsAreSorted(ids) {
		t.Fatal("IDs of increasing times do not sort")
	}
	for i, id := range ids {
		got, err := IDTime(id)
		if want := base.Add(time.Duration(i) * time.Millisecond); err != nil || !got.Equal(want) {
			t.Fatalf("IDTime(%s) = %v, %v; want %v", id, got, err, want)
		}
		if id < minID(base.Add(time.Duration(i)*time.Millisecond)) || (i+1 < len(ids) && id >= minID(base.Add(time.Duration(i+1)*time.Millisecond))) {
			t.Fatalf("minID bounds wrong around %s", id)
		}
	}
	for _, bad := range []string{"", "short", strings.Repeat("Z", 26), strings.Repeat("0", 25) + "U"} {
		if _, err := IDTime(bad); err == nil {
			t.Errorf("IDTime(%q) accepted", bad)
		}
	}
	if a, b := NewID(base), NewID(base); a == b {
		t.Fatal("two IDs of one millisecond are equal")
	}
	if u := newUUID(); len(u) != 36 || strings.ToUpper(u) != u || u[14] != '4' {
		t.Fatalf("newUUID = %q", u)
	}
}

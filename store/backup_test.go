package store

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"heshen/engine"
)

func TestBackupRestoreRoundTrip(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(filepath.Join(dir, "heshen.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a := &engine.App{Name: "before"}
	db.CreateApp(ctx, a)
	photo := []byte("reference photo")
	db.PutIdentity(ctx, &engine.Identity{IDNumber: "11010519491231002X", Name: "张三", Photo: photo, Embedding: testEmbedding(3)})
	c := &engine.Credential{AppID: a.ID}
	db.CreateCredential(ctx, c)

	// A hot backup while writers keep writing.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
				db.CreateRecord(ctx, &engine.Record{Action: "A"})
			}
		}
	}()
	backup := filepath.Join(dir, "backup.db")
	n, err := db.BackupFile(backup)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(backup)
	if fi.Size() != n || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file size %d (wrote %d), mode %v", fi.Size(), n, fi.Mode().Perm())
	}
	var buf bytes.Buffer
	if m, err := db.Backup(&buf); err != nil || m != int64(buf.Len()) {
		t.Fatalf("Backup to a writer = %d, %v", m, err)
	}

	// Change everything after the backup, then restore.
	db.DeleteIdentity(ctx, "11010519491231002X")
	db.CreateApp(ctx, &engine.App{Name: "after"})
	db.RevokeCredential(ctx, c.SecretID, time.Now())
	info, err := db.Restore(backup)
	if err != nil {
		t.Fatal(err)
	}
	if info.Schema != SchemaLatest() || info.Size != n {
		t.Fatalf("restore info = %+v", info)
	}
	apps, _ := db.FindApps(ctx)
	if len(apps) != 1 || apps[0].Name != "before" {
		t.Fatalf("apps after restore = %v", apps)
	}
	id, err := db.FindIdentity(ctx, "11010519491231002X")
	if err != nil || !bytes.Equal(id.Photo, photo) {
		t.Fatalf("identity after restore = %v, %v", id, err)
	}
	if got, _ := db.FindCredential(ctx, c.SecretID); got.Revoked() || got.SecretKey != c.SecretKey {
		t.Fatalf("credential after restore = %+v", got)
	}
	// The store keeps working, and nothing is left beside it.
	if err := db.CreateApp(ctx, &engine.App{Name: "later"}); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".heshen") || strings.HasSuffix(e.Name(), ".prev") {
			t.Fatalf("restore left %s behind", e.Name())
		}
	}
}

func TestRestoreRefusesBadBackups(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(filepath.Join(dir, "heshen.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.CreateApp(ctx, &engine.App{Name: "live"})
	good := filepath.Join(dir, "good.db")
	if _, err := db.BackupFile(good); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(good)

	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o600)
		return p
	}
	// Flip bytes in the middle: page corruption bbolt's check must catch.
	corrupt := bytes.Clone(raw)
	for i := 4096 * 2; i < len(corrupt) && i < 4096*2+200; i++ {
		corrupt[i] ^= 0xA5
	}
	badTrailer := bytes.Clone(raw)
	badTrailer[len(raw)-2] ^= 1 // one hex digit of the checksum
	// Same format, other key.
	otherDir := t.TempDir()
	other, err := Open(filepath.Join(otherDir, "heshen.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	otherKey := filepath.Join(dir, "otherkey.db")
	other.BackupFile(otherKey)
	other.Close()
	// A store from a newer build.
	newer := filepath.Join(dir, "newer.db")
	os.WriteFile(newer, raw[:len(raw)-trailerLen], 0o600) // a plain copy, no checksum trailer
	b, _ := bolt.Open(newer, 0o600, nil)
	b.Update(func(tx *bolt.Tx) error { return tx.Bucket(bMeta).Put(kSchema, itob(uint64(SchemaLatest()+1))) })
	b.Close()
	// A bbolt file of another program.
	foreign := filepath.Join(dir, "foreign.db")
	b, _ = bolt.Open(foreign, 0o600, nil)
	b.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("x")); return err })
	b.Close()

	tests := []struct{ name, path, want string }{
		{"missing", filepath.Join(dir, "nope.db"), "no such file"},
		{"empty", write("empty.db", nil), "not a readable store"},
		{"truncated", write("trunc.db", raw[:len(raw)/2]), ""},
		{"text", write("text.db", bytes.Repeat([]byte("hello "), 5000)), "not a readable store"},
		{"corrupt pages", write("corrupt.db", corrupt), "damaged"},
		{"corrupt trailer", write("trailer.db", badTrailer), "damaged"},
		{"other key", otherKey, "key does not match"},
		{"newer schema", newer, "newer"},
		{"foreign bbolt", foreign, "not a Heshen store"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := db.Restore(tt.path)
			if err == nil {
				t.Fatal("Restore accepted it")
			}
			if tt.want != "" && !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Restore = %v, want it to mention %q", err, tt.want)
			}
			// The live store is untouched and usable.
			apps, err := db.FindApps(ctx)
			if err != nil || len(apps) != 1 || apps[0].Name != "live" {
				t.Fatalf("live store after refused restore = %v, %v", apps, err)
			}
		})
	}
	if _, err := db.Restore(good); err != nil {
		t.Fatalf("the good backup was refused: %v", err)
	}
	// A plain copy of a stopped store (no trailer) is checked by structure alone.
	plain := write("plain.db", raw[:len(raw)-trailerLen])
	if _, err := db.Restore(plain); err != nil {
		t.Fatalf("a plain store copy was refused: %v", err)
	}
}

func TestSubjectExportErase(t *testing.T) {
	db := mustOpenDB(t, Options{})
	const who, other = "11010519491231002X", "440304199003071248"
	photo := []byte("photo")
	db.PutIdentity(ctx, &engine.Identity{IDNumber: who, Name: "张三", Photo: photo, Embedding: testEmbedding(1)})
	db.PutIdentity(ctx, &engine.Identity{IDNumber: other, Name: "李四", Photo: photo})
	m := &engine.Media{Kind: "best_frame", Data: []byte("f")}
	pm := &engine.Media{Kind: "photo", Data: []byte("p")}
	db.PutMedia(ctx, m)
	db.PutMedia(ctx, pm)
	db.PutBizToken(ctx, &engine.BizToken{IDNumber: who, Name: "张三", PhotoMedia: pm.ID})
	db.PutBizToken(ctx, &engine.BizToken{IDNumber: other, Name: "李四"})
	r1 := &engine.Record{Action: "DetectAuth", IDNumber: who, Name: "张三", Media: []string{m.ID}, Sim: 88}
	r2 := &engine.Record{Action: "IdCardVerification", IDNumber: who, Name: "张三"}
	r3 := &engine.Record{Action: "IdCardVerification", IDNumber: other, Name: "李四"}
	for _, r := range []*engine.Record{r1, r2, r3} {
		db.CreateRecord(ctx, r)
	}

	ex, err := db.ExportSubject(ctx, who)
	if err != nil {
		t.Fatal(err)
	}
	if ex.Identity == nil || ex.Identity.Name != "张三" || !bytes.Equal(ex.Photo, photo) || len(ex.Embedding) != engine.EmbeddingSize ||
		len(ex.Records) != 2 || len(ex.BizTokens) != 1 || len(ex.Media) != 2 {
		t.Fatalf("export = identity %v, %d records, %d tokens, %d media", ex.Identity, len(ex.Records), len(ex.BizTokens), len(ex.Media))
	}

	e, err := db.EraseSubject(ctx, who)
	if err != nil {
		t.Fatal(err)
	}
	if e != (engine.SubjectErasure{Identity: true, Records: 2, BizTokens: 1, Media: 2}) {
		t.Fatalf("erasure = %+v", e)
	}
	ex, _ = db.ExportSubject(ctx, who)
	if ex.Identity != nil || len(ex.Records)+len(ex.BizTokens)+len(ex.Media) != 0 {
		t.Fatalf("after erasure the export still finds %+v", ex)
	}
	if r, _ := db.FindRecord(ctx, r1.ID); r.Name != "" || r.IDNumber != "" || r.Media != nil || r.Sim != 88 {
		t.Fatalf("erased record = %+v", r)
	}
	// The other person is untouched.
	if ex, _ := db.ExportSubject(ctx, other); ex.Identity == nil || len(ex.Records) != 1 || len(ex.BizTokens) != 1 {
		t.Fatalf("other person after erasure: %+v", ex)
	}
	if e, _ := db.EraseSubject(ctx, who); e != (engine.SubjectErasure{}) {
		t.Fatalf("second erasure = %+v", e)
	}
	if _, err := db.EraseSubject(ctx, ""); engine.ErrorCode(err) != engine.CodeInvalidParameterValue {
		t.Fatalf("EraseSubject(\"\") = %v", err)
	}
}

func TestRestoreIntoNewDirectory(t *testing.T) {
	src := t.TempDir()
	db, err := Open(filepath.Join(src, DBFile), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	db.CreateApp(ctx, &engine.App{Name: "saved"})
	backup := filepath.Join(t.TempDir(), "b.db")
	if _, err := db.BackupFile(backup); err != nil {
		t.Fatal(err)
	}
	db.Close()

	// Without the original key nothing is restored and no key is invented.
	dst := t.TempDir()
	if _, err := RestoreInto(filepath.Join(dst, DBFile), backup, Options{}); err == nil || !strings.Contains(err.Error(), "key file") {
		t.Fatalf("RestoreInto without a key = %v", err)
	}
	if entries, _ := os.ReadDir(dst); len(entries) != 0 {
		t.Fatalf("RestoreInto without a key left %v", entries)
	}
	// With the key file copied over it works, and the store opens.
	key, _ := os.ReadFile(filepath.Join(src, KeyFile))
	os.WriteFile(filepath.Join(dst, KeyFile), key, 0o600)
	if _, err := RestoreInto(filepath.Join(dst, DBFile), backup, Options{}); err != nil {
		t.Fatal(err)
	}
	db, err = Open(filepath.Join(dst, DBFile), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if apps, _ := db.FindApps(ctx); len(apps) != 1 || apps[0].Name != "saved" {
		t.Fatalf("restored apps = %v", apps)
	}
	if _, err := RestoreInto(filepath.Join(dst, DBFile), backup, Options{}); err == nil {
		t.Fatal("RestoreInto overwrote an existing store")
	}
}

func TestOpenRefusesToInventAKeyForAnExistingStore(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(filepath.Join(dir, DBFile), Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	os.Remove(filepath.Join(dir, KeyFile))
	if _, err := Open(filepath.Join(dir, DBFile), Options{}); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("Open with the key file gone = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, KeyFile)); !os.IsNotExist(err) {
		t.Fatal("Open generated a new key for an existing store")
	}
}

// TestRestoreUnderLoad restores while readers and writers run: none may
// see an error other than a clean result, and the store must end as the backup.
func TestRestoreUnderLoad(t *testing.T) {
	db := mustOpenDB(t, Options{})
	db.CreateApp(ctx, &engine.App{Name: "kept"})
	backup := filepath.Join(t.TempDir(), "b.db")
	if _, err := db.BackupFile(backup); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				var err error
				if w%2 == 0 {
					_, err = db.FindApps(ctx)
				} else {
					err = db.CreateRecord(ctx, &engine.Record{Action: "A"})
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	for i := 0; i < 5; i++ {
		if _, err := db.Restore(backup); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("a transaction during restore failed: %v", err)
	}
	if apps, _ := db.FindApps(ctx); len(apps) != 1 || apps[0].Name != "kept" {
		t.Fatalf("apps after restores = %v", apps)
	}
}

package store

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"heshen/engine"
)

func TestApps(t *testing.T) {
	db := mustOpenDB(t, Options{})
	a1, a2 := &engine.App{Name: "hospital"}, &engine.App{Name: "office", Entity: engine.Entity{Name: "某市政务服务中心", Type: "government"}, Categories: []string{"政务"}}
	for _, a := range []*engine.App{a1, a2} {
		if err := db.CreateApp(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if len(a1.ID) != 10 || a1.ID >= a2.ID || a1.CreatedAt.IsZero() {
		t.Fatalf("app IDs %q, %q: want 10 digits in creation order", a1.ID, a2.ID)
	}
	got, err := db.FindAppByID(ctx, a2.ID)
	if err != nil || got.Name != "office" || got.Entity.Name != "某市政务服务中心" || len(got.Categories) != 1 {
		t.Fatalf("FindAppByID = %+v, %v", got, err)
	}
	all, err := db.FindApps(ctx)
	if err != nil || len(all) != 2 || all[0].ID != a1.ID {
		t.Fatalf("FindApps = %v, %v", all, err)
	}
	got.Disabled = true
	if err := db.UpdateApp(ctx, got); err != nil {
		t.Fatal(err)
	}
	if g, _ := db.FindAppByID(ctx, a2.ID); !g.Disabled {
		t.Fatal("UpdateApp did not persist")
	}
	_, err = db.FindAppByID(ctx, "1")
	wantCode(t, err, engine.CodeResourceNotFound)
	wantCode(t, db.UpdateApp(ctx, &engine.App{ID: "9", Name: "x"}), engine.CodeResourceNotFound)
	wantCode(t, db.CreateApp(ctx, &engine.App{}), engine.CodeInvalidParameterValue)
	wantCode(t, db.CreateApp(ctx, &engine.App{ID: a1.ID, Name: "dup"}), CodeResourceInUse)
}

func TestCreateAppWithCredential(t *testing.T) {
	db := mustOpenDB(t, Options{})
	a, c := &engine.App{Name: "a"}, &engine.Credential{}
	if err := db.CreateAppWithCredential(ctx, a, c); err != nil {
		t.Fatal(err)
	}
	got, err := db.FindCredential(ctx, c.SecretID)
	if err != nil || got.AppID != a.ID || got.SecretKey != c.SecretKey {
		t.Fatalf("credential = %+v, %v", got, err)
	}
	// A clashing SecretId fails the whole create: no app without its credential.
	b := &engine.App{Name: "b"}
	wantCode(t, db.CreateAppWithCredential(ctx, b, &engine.Credential{SecretID: c.SecretID}), CodeResourceInUse)
	if apps, _ := db.FindApps(ctx); len(apps) != 1 {
		t.Fatalf("apps after a failed create = %d, want 1", len(apps))
	}
	if b.ID != "" {
		t.Fatalf("failed create left ID %q on the app", b.ID)
	}
	wantCode(t, db.CreateAppWithCredential(ctx, &engine.App{}, &engine.Credential{}), engine.CodeInvalidParameterValue)
}

func TestCredentials(t *testing.T) {
	db := mustOpenDB(t, Options{})
	a := &engine.App{Name: "a"}
	db.CreateApp(ctx, a)
	c1 := &engine.Credential{AppID: a.ID}
	c2 := &engine.Credential{AppID: a.ID, Actions: []string{"IdCardVerification"}}
	for _, c := range []*engine.Credential{c1, c2} {
		if err := db.CreateCredential(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.HasPrefix(c1.SecretID, "AKID") || len(c1.SecretID) != 36 || len(c1.SecretKey) != 32 || c1.SecretID == c2.SecretID {
		t.Fatalf("credential shape: %q %q", c1.SecretID, c1.SecretKey)
	}
	got, err := db.FindCredential(ctx, c1.SecretID)
	if err != nil || got.SecretKey != c1.SecretKey || got.AppID != a.ID || got.Revoked() {
		t.Fatalf("FindCredential = %+v, %v", got, err)
	}
	list, err := db.FindCredentials(ctx, a.ID)
	if err != nil || len(list) != 2 {
		t.Fatalf("FindCredentials = %d, %v", len(list), err)
	}
	if list, _ := db.FindCredentials(ctx, "other"); len(list) != 0 {
		t.Fatalf("FindCredentials(other) = %d", len(list))
	}
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	if err := db.RevokeCredential(ctx, c1.SecretID, at); err != nil {
		t.Fatal(err)
	}
	db.RevokeCredential(ctx, c1.SecretID, at.Add(time.Hour))
	got, _ = db.FindCredential(ctx, c1.SecretID)
	if !got.Revoked() || !got.RevokedAt.Equal(at) || got.SecretKey != c1.SecretKey {
		t.Fatalf("after revoke: %+v", got)
	}
	_, err = db.FindCredential(ctx, "AKIDnope")
	wantCode(t, err, engine.CodeResourceNotFound)
	wantCode(t, db.RevokeCredential(ctx, "AKIDnope", at), engine.CodeResourceNotFound)
	wantCode(t, db.CreateCredential(ctx, &engine.Credential{AppID: "0"}), engine.CodeResourceNotFound)
	wantCode(t, db.CreateCredential(ctx, &engine.Credential{AppID: a.ID, SecretID: c1.SecretID}), CodeResourceInUse)
}

func testEmbedding(seed float32) []float32 {
	v := make([]float32, engine.EmbeddingSize)
	for i := range v {
		v[i] = seed + float32(i)/1000
	}
	return v
}

func TestIdentities(t *testing.T) {
	db := mustOpenDB(t, Options{})
	p := []byte("\xff\xd8 photo bytes")
	ids := []*engine.Identity{
		{IDNumber: "11010519491231002X", Name: "张三", Photo: p, Embedding: testEmbedding(1)},
		{IDNumber: "44030419900307124" + "8", Name: "李四", Photo: p},
		{IDNumber: "310115200002290013", Name: "王五", Embedding: testEmbedding(2)},
	}
	for _, id := range ids {
		if err := db.PutIdentity(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.FindIdentity(ctx, ids[0].IDNumber)
	if err != nil || got.Name != "张三" || !bytes.Equal(got.Photo, p) || len(got.Embedding) != engine.EmbeddingSize || got.Embedding[7] != ids[0].Embedding[7] {
		t.Fatalf("FindIdentity = %+v, %v", got, err)
	}
	if got, _ := db.FindIdentity(ctx, ids[1].IDNumber); got.Embedding != nil {
		t.Fatal("identity without embedding came back with one")
	}
	// Replacing drops a photo no longer given.
	ids[0].Photo = nil
	if err := db.PutIdentity(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.FindIdentity(ctx, ids[0].IDNumber); got.Photo != nil {
		t.Fatal("replaced identity kept its old photo")
	}

	page, total, err := db.FindIdentities(ctx, "", 1, 1)
	if err != nil || total != 3 || len(page) != 1 || page[0].IDNumber != ids[2].IDNumber || page[0].Photo != nil {
		t.Fatalf("FindIdentities page = %v, %d, %v", page, total, err)
	}
	if page, total, _ := db.FindIdentities(ctx, "李", 0, 10); total != 1 || page[0].Name != "李四" {
		t.Fatalf("FindIdentities by name = %v, %d", page, total)
	}
	if _, total, _ := db.FindIdentities(ctx, "4403", 0, 10); total != 1 {
		t.Fatalf("FindIdentities by prefix total = %d", total)
	}
	if n, _ := db.CountIdentities(ctx); n != 3 {
		t.Fatalf("CountIdentities = %d", n)
	}
	if err := db.DeleteIdentity(ctx, ids[1].IDNumber); err != nil {
		t.Fatal(err)
	}
	_, err = db.FindIdentity(ctx, ids[1].IDNumber)
	wantCode(t, err, engine.CodeResourceNotFound)
	if strings.Contains(err.Error(), ids[1].IDNumber) {
		t.Fatalf("not-found error leaks the ID number: %v", err)
	}
	wantCode(t, db.DeleteIdentity(ctx, ids[1].IDNumber), engine.CodeResourceNotFound)
	wantCode(t, db.PutIdentity(ctx, &engine.Identity{IDNumber: "x"}), engine.CodeInvalidParameterValue)

	// Bulk: one bad identity writes none.
	bulk := []*engine.Identity{{IDNumber: "510104199001011234", Name: "a", Photo: p}, {IDNumber: "", Name: "b", Photo: p}}
	wantCode(t, db.PutIdentities(ctx, bulk), engine.CodeInvalidParameterValue)
	if _, err := db.FindIdentity(ctx, bulk[0].IDNumber); err == nil {
		t.Fatal("PutIdentities wrote part of a bad batch")
	}
	if err := db.PutIdentities(ctx, bulk[:1]); err != nil {
		t.Fatal(err)
	}
}

func TestRules(t *testing.T) {
	db := mustOpenDB(t, Options{})
	a := &engine.App{Name: "a"}
	db.CreateApp(ctx, a)
	r1 := &engine.Rule{AppID: a.ID, LivenessMode: engine.LivenessSilent, CompareSource: engine.CompareGallery, SimThreshold: 70}
	r2 := &engine.Rule{AppID: a.ID, LivenessMode: engine.LivenessAction, CompareSource: engine.ComparePhoto, RedirectURL: "https://example.org/done"}
	for _, r := range []*engine.Rule{r1, r2} {
		if err := db.CreateRule(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if r1.ID != "1" || r2.ID != "2" {
		t.Fatalf("rule IDs %q %q, want 1 and 2", r1.ID, r2.ID)
	}
	got, err := db.FindRule(ctx, "2")
	if err != nil || got.RedirectURL != r2.RedirectURL || got.LivenessMode != engine.LivenessAction {
		t.Fatalf("FindRule = %+v, %v", got, err)
	}
	got.MaxRetries = 3
	if err := db.UpdateRule(ctx, got); err != nil {
		t.Fatal(err)
	}
	if g, _ := db.FindRule(ctx, "2"); g.MaxRetries != 3 {
		t.Fatal("UpdateRule did not persist")
	}
	if list, err := db.FindRules(ctx, a.ID); err != nil || len(list) != 2 || list[0].ID != "1" {
		t.Fatalf("FindRules = %v, %v", list, err)
	}
	for _, id := range []string{"0", "3", "01", "x", "", "-1"} {
		_, err := db.FindRule(ctx, id)
		wantCode(t, err, engine.CodeResourceNotFound)
	}
	wantCode(t, db.UpdateRule(ctx, &engine.Rule{ID: "9"}), engine.CodeResourceNotFound)
	wantCode(t, db.CreateRule(ctx, &engine.Rule{AppID: "nope"}), engine.CodeResourceNotFound)
	wantCode(t, db.CreateRule(ctx, &engine.Rule{ID: "5", AppID: a.ID}), engine.CodeInvalidParameterValue)
}

func TestBizTokensRecordsMediaUsers(t *testing.T) {
	db := mustOpenDB(t, Options{})
	tok := &engine.BizToken{RuleID: "1", AppID: "1400000001", IDNumber: "11010519491231002X", Name: "张三"}
	if err := db.PutBizToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if len(tok.Token) != 36 {
		t.Fatalf("BizToken %q", tok.Token)
	}
	tok.CompletedAt = time.Now().UTC()
	tok.Attempts = []engine.Attempt{{Seq: 1, Sim: 88.5}}
	if err := db.PutBizToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	got, err := db.FindBizToken(ctx, tok.Token)
	if err != nil || got.CompletedAt.IsZero() || len(got.Attempts) != 1 || got.Attempts[0].Sim != 88.5 {
		t.Fatalf("FindBizToken = %+v, %v", got, err)
	}
	_, err = db.FindBizToken(ctx, "nope")
	wantCode(t, err, engine.CodeResourceNotFound)

	// Records: newest first, filters, time range by key order.
	base := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	code := 0
	for i := 0; i < 10; i++ {
		r := &engine.Record{AppID: "A", Action: "ImageRecognition", Result: "Success", CreatedAt: base.Add(time.Duration(i) * time.Minute)}
		if i%3 == 0 {
			r.Action, r.Result, r.ErrCode = "IdCardVerification", "-1", 1
		}
		if err := db.CreateRecord(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	recs, total, err := db.FindRecords(ctx, engine.RecordFilter{Limit: 3})
	if err != nil || total != 10 || len(recs) != 3 || !recs[0].CreatedAt.Equal(base.Add(9*time.Minute)) {
		t.Fatalf("FindRecords newest = %d/%d, %v", len(recs), total, err)
	}
	recs, total, _ = db.FindRecords(ctx, engine.RecordFilter{From: base.Add(2 * time.Minute), To: base.Add(5 * time.Minute)})
	if total != 3 || !recs[0].CreatedAt.Equal(base.Add(4*time.Minute)) || !recs[2].CreatedAt.Equal(base.Add(2*time.Minute)) {
		t.Fatalf("FindRecords range = %d: %v", total, recs)
	}
	if _, total, _ = db.FindRecords(ctx, engine.RecordFilter{Action: "IdCardVerification", ErrCode: &code}); total != 0 {
		t.Fatalf("ErrCode filter total %d, want 0", total)
	}
	recs, total, _ = db.FindRecords(ctx, engine.RecordFilter{Action: "IdCardVerification", Offset: 1, Limit: 1})
	if total != 4 || len(recs) != 1 || !recs[0].CreatedAt.Equal(base.Add(6*time.Minute)) {
		t.Fatalf("FindRecords action page = %d %v", total, recs)
	}
	r := recs[0]
	r.Review = &engine.Review{Approved: true, Reason: "ok", By: "admin"}
	if err := db.UpdateRecord(ctx, r); err != nil {
		t.Fatal(err)
	}
	if g, err := db.FindRecord(ctx, r.ID); err != nil || g.Review == nil || !g.Review.Approved {
		t.Fatalf("FindRecord after update = %+v, %v", g, err)
	}
	_, err = db.FindRecord(ctx, "nope")
	wantCode(t, err, engine.CodeResourceNotFound)
	wantCode(t, db.UpdateRecord(ctx, &engine.Record{ID: NewID(base)}), engine.CodeResourceNotFound)
	wantCode(t, db.CreateRecord(ctx, &engine.Record{ID: "request-1"}), engine.CodeInvalidParameterValue)
	wantCode(t, db.CreateRecord(ctx, &engine.Record{ID: r.ID}), CodeResourceInUse)

	// Media.
	m := &engine.Media{Kind: "best_frame", MIME: "image/jpeg", Data: []byte("frame")}
	if err := db.PutMedia(ctx, m); err != nil {
		t.Fatal(err)
	}
	gm, err := db.FindMedia(ctx, m.ID)
	if err != nil || string(gm.Data) != "frame" || gm.Kind != "best_frame" {
		t.Fatalf("FindMedia = %+v, %v", gm, err)
	}
	if err := db.DeleteMedia(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	_, err = db.FindMedia(ctx, m.ID)
	wantCode(t, err, engine.CodeResourceNotFound)
	wantCode(t, db.PutMedia(ctx, &engine.Media{}), engine.CodeInvalidParameterValue)

	// Users keep their password hash.
	u := &engine.User{Name: "admin", PasswordHash: "$argon2id$v=19$x", Role: "FullAccess"}
	if err := db.PutUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	db.PutUser(ctx, &engine.User{Name: "viewer", Role: "ReadOnly"})
	gu, err := db.FindUser(ctx, "admin")
	if err != nil || gu.PasswordHash != u.PasswordHash || gu.Role != "FullAccess" {
		t.Fatalf("FindUser = %+v, %v", gu, err)
	}
	if us, _ := db.FindUsers(ctx); len(us) != 2 || us[0].Name != "admin" {
		t.Fatalf("FindUsers = %v", us)
	}
	if err := db.DeleteUser(ctx, "viewer"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, db.DeleteUser(ctx, "viewer"), engine.CodeResourceNotFound)
	_, err = db.FindUser(ctx, "viewer")
	wantCode(t, err, engine.CodeResourceNotFound)
	wantCode(t, db.PutUser(ctx, &engine.User{}), engine.CodeInvalidParameterValue)
}

// TestEncryptionAtRest writes a real photo, an embedding, a media blob and
// a secret key, then reads the raw file: none may appear in plain text.
func TestEncryptionAtRest(t *testing.T) {
	td := os.Getenv("HESHEN_TESTDATA")
	if td == "" {
		td = "/work/shared/testdata"
	}
	photo, err := os.ReadFile(filepath.Join(td, "faces", "face_recognition", "examples", "obama.jpg"))
	if err != nil {
		t.Logf("no test photo (%v), using synthetic bytes", err)
		photo = bytes.Repeat([]byte("\xff\xd8\xff\xe0 JFIF synthetic photo "), 2000)
	}
	path := filepath.Join(t.TempDir(), "heshen.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	emb := testEmbedding(0.25)
	if err := db.PutIdentity(ctx, &engine.Identity{IDNumber: "11010519491231002X", Name: "张三", Photo: photo, Embedding: emb}); err != nil {
		t.Fatal(err)
	}
	video := bytes.Repeat([]byte("VIDEO-FRAME-PAYLOAD-"), 500)
	if err := db.PutMedia(ctx, &engine.Media{Kind: "video", Data: video}); err != nil {
		t.Fatal(err)
	}
	a := &engine.App{Name: "a"}
	db.CreateApp(ctx, a)
	c := &engine.Credential{AppID: a.ID}
	db.CreateCredential(ctx, c)
	db.Close()

	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Any 32-byte window of the secrets would be a leak.
	for name, secret := range map[string][]byte{"photo": photo, "embedding": embeddingBytes(emb), "video": video, "secret key": []byte(c.SecretKey)} {
		for off := 0; off+32 <= len(secret); off += 509 {
			if bytes.Contains(raw, secret[off:off+32]) {
				t.Fatalf("raw store contains plaintext %s bytes at offset %d", name, off)
			}
		}
	}
	if !bytes.Contains(raw, []byte("11010519491231002X")) {
		t.Fatal("sanity: the ID number key should be in the file; the scan is not reading it")
	}
	// And with the key it all comes back.
	db, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.FindIdentity(ctx, "11010519491231002X")
	if err != nil || !bytes.Equal(got.Photo, photo) || got.Embedding[100] != emb[100] {
		t.Fatalf("decrypted identity differs: %v", err)
	}
}

// TestSealedValuesBoundToTheirKey moves one identity's sealed photo onto
// another: it must not decrypt.
func TestSealedValuesBoundToTheirKey(t *testing.T) {
	db := mustOpenDB(t, Options{})
	db.PutIdentity(ctx, &engine.Identity{IDNumber: "A", Name: "a", Photo: []byte("photo of a")})
	db.PutIdentity(ctx, &engine.Identity{IDNumber: "B", Name: "b", Photo: []byte("photo of b")})
	db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bGalleryPhoto)
		return b.Put([]byte("B"), clone(b.Get([]byte("A"))))
	})
	if _, err := db.FindIdentity(ctx, "B"); err == nil {
		t.Fatal("a sealed value moved to another key decrypted")
	}
}

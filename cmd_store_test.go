package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"heshen/engine"
	"heshen/engine/vision"
	"heshen/store"
)

// fakeFaces analyses "photos" that are text: NOFACE and TWOFACES fail the
// gates, anything else is one face whose embedding is derived from the bytes.
type fakeFaces struct{}

func (fakeFaces) Analyze(_ context.Context, img []byte, _ engine.AnalyzeOptions) (*engine.Analysis, error) {
	switch {
	case bytes.Contains(img, []byte("NOFACE")):
		return nil, &engine.Error{Code: engine.CodeNoFaces, Reason: engine.ReasonNoFace, Message: "未检测到人脸", EN: "no face"}
	case bytes.Contains(img, []byte("TWOFACES")):
		return nil, &engine.Error{Code: engine.CodeSeveralFaces, Reason: engine.ReasonSeveralFaces, Message: "多张人脸", EN: "several faces"}
	}
	h := sha256.Sum256(img)
	emb := make([]float32, engine.EmbeddingSize)
	for i := range emb {
		emb[i] = float32(h[i%32]) - 128
	}
	engine.Normalize(emb)
	return &engine.Analysis{Width: 100, Height: 100, Faces: []engine.Face{{Box: engine.Rect{X1: 10, Y1: 10, X2: 60, Y2: 70}, Embedding: emb}}, Chosen: 0}, nil
}

func (fakeFaces) AnalyzeFrame(context.Context, engine.Frame, engine.AnalyzeOptions) (*engine.Analysis, error) {
	return nil, fmt.Errorf("not used")
}

func (fakeFaces) EncodeJPEG(engine.Frame, int) ([]byte, error) { return nil, fmt.Errorf("not used") }

func fakeDeps() storeDeps {
	return storeDeps{lockTimeout: 100 * time.Millisecond, openFace: func() (engine.FaceEngine, io.Closer, error) {
		return fakeFaces{}, io.NopCloser(nil), nil
	}}
}

// storeRun runs one management command and decodes its JSON output.
func storeRun(t *testing.T, deps storeDeps, family string, args ...string) (int, map[string]any, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runStoreCmd(&env{args: args, stdin: strings.NewReader(""), stdout: &out, stderr: &errb}, family, deps)
	var m map[string]any
	if out.Len() > 0 {
		if err := json.Unmarshal(out.Bytes(), &m); err != nil {
			t.Fatalf("heshen %s %v printed non-JSON %q: %v", family, args, out.String(), err)
		}
	}
	return code, m, errb.String()
}

func errCode(m map[string]any) string {
	if e, ok := m["error"].(map[string]any); ok {
		s, _ := e["code"].(string)
		if r, _ := e["reason"].(string); r != "" {
			s += "/" + r
		}
		return s
	}
	return ""
}

// validID makes a valid ID number from 17 digits.
func validID(d17 string) string {
	w := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	s := 0
	for i := range 17 {
		s += int(d17[i]-'0') * w[i]
	}
	return d17 + string("10X98765432"[s%11])
}

func openStore(t *testing.T, dir string) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(dir, store.DBFile), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestStoreCLIAppsAndRules(t *testing.T) {
	dir := t.TempDir()
	d := fakeDeps()
	code, m, stderr := storeRun(t, d, "app", "create", "--name", "某医院", "--data", dir)
	if code != 0 {
		t.Fatalf("app create = %d %v %s", code, m, stderr)
	}
	appID, sid, skey := m["app_id"].(string), m["secret_id"].(string), m["secret_key"].(string)
	if len(appID) != 10 || !strings.HasPrefix(sid, "AKID") || len(skey) != 32 {
		t.Fatalf("app create printed %v", m)
	}
	code, m, _ = storeRun(t, d, "app", "credential", "add", "--app", appID, "--data", dir)
	sid2, _ := m["secret_id"].(string)
	if code != 0 || sid2 == "" || sid2 == sid {
		t.Fatalf("credential add = %d %v", code, m)
	}
	if code, m, _ = storeRun(t, d, "app", "credential", "add", "--app", "1", "--data", dir); code != 1 || errCode(m) != engine.CodeResourceNotFound {
		t.Fatalf("credential add to a missing app = %d %v", code, m)
	}
	if code, m, _ = storeRun(t, d, "app", "credential", "revoke", "--secret-id", sid2, "--data", dir); code != 0 || m["revoked_at"] == nil {
		t.Fatalf("credential revoke = %d %v", code, m)
	}
	if code, m, _ = storeRun(t, d, "app", "credential", "revoke", "--secret-id", "AKIDnope", "--data", dir); code != 1 || errCode(m) != engine.CodeResourceNotFound {
		t.Fatalf("revoke unknown = %d %v", code, m)
	}
	code, m, _ = storeRun(t, d, "app", "credential", "list", "--app", appID, "--data", dir)
	if cs := m["credentials"].([]any); code != 0 || len(cs) != 2 || strings.Contains(fmt.Sprint(m), skey) {
		t.Fatalf("credential list = %d %v (must not show keys)", code, m)
	}
	if code, m, _ = storeRun(t, d, "app", "list", "--data", dir); code != 0 || len(m["apps"].([]any)) != 1 {
		t.Fatalf("app list = %d %v", code, m)
	}

	code, m, _ = storeRun(t, d, "rule", "create", "--app", appID, "--liveness", "silent", "--compare", "gallery", "--data", dir)
	if code != 0 || m["rule_id"] != "1" || m["liveness_mode"] != float64(engine.LivenessSilent) {
		t.Fatalf("rule create = %d %v", code, m)
	}
	code, m, _ = storeRun(t, d, "rule", "create", "--app", appID, "--liveness", "reflection", "--compare", "photo", "--redirect", "https://example.org/back?x=1", "--data", dir)
	if code != 0 || m["rule_id"] != "2" || m["redirect_url"] != "https://example.org/back?x=1" {
		t.Fatalf("rule create with redirect = %d %v", code, m)
	}
	bad := [][]string{
		{"--app", appID, "--liveness", "digit", "--compare", "gallery"},
		{"--app", appID, "--liveness", "action", "--compare", "none"},
		{"--app", appID, "--liveness", "action", "--compare", "photo", "--redirect", "javascript:alert(1)"},
		{"--app", appID, "--liveness", "action", "--compare", "photo", "--threshold", "101"},
	}
	for _, args := range bad {
		if code, m, _ := storeRun(t, d, "rule", append(append([]string{"create"}, args...), "--data", dir)...); code != 1 || errCode(m) != engine.CodeInvalidParameterValue {
			t.Fatalf("rule create %v = %d %v", args, code, m)
		}
	}
	if code, m, _ := storeRun(t, d, "rule", "create", "--app", "1499999999", "--liveness", "action", "--compare", "photo", "--data", dir); code != 1 || errCode(m) != engine.CodeResourceNotFound {
		t.Fatalf("rule for a missing app = %d %v", code, m)
	}

	// Usage errors exit 2 with text on stderr and nothing on stdout.
	for _, c := range []struct {
		family string
		args   []string
	}{{"app", nil}, {"app", []string{"create"}}, {"app", []string{"frobnicate"}}, {"rule", []string{"create", "--app", appID}},
		{"gallery", []string{"add", "--id", "x"}}, {"backup", nil}, {"restore", []string{"a", "b"}}, {"app", []string{"create", "--name", "x", "--bogus"}}} {
		if code, m, stderr := storeRun(t, d, c.family, c.args...); code != 2 || m != nil || stderr == "" {
			t.Fatalf("heshen %s %v = %d %v %q, want usage error", c.family, c.args, code, m, stderr)
		}
	}

	// A mistyped --data is an error, not a new empty store.
	typo := filepath.Join(t.TempDir(), "typo")
	if code, _, stderr := storeRun(t, d, "app", "list", "--data", typo); code != 1 || !strings.Contains(stderr, "no store") {
		t.Fatalf("app list in an empty dir = %d %s", code, stderr)
	}
	if _, err := os.Stat(typo); !os.IsNotExist(err) {
		t.Fatal("app list created a data directory")
	}

	// Everything landed in the store.
	db := openStore(t, dir)
	defer db.Close()
	c, err := db.FindCredential(context.Background(), sid)
	if err != nil || c.SecretKey != skey || c.AppID != appID {
		t.Fatalf("stored credential = %+v, %v", c, err)
	}
	if c, _ := db.FindCredential(context.Background(), sid2); !c.Revoked() {
		t.Fatal("revoked credential is not revoked in the store")
	}
	if r, _ := db.FindRule(context.Background(), "2"); r.LivenessMode != engine.LivenessReflection || r.CompareSource != engine.ComparePhoto {
		t.Fatalf("stored rule = %+v", r)
	}
}

func TestStoreCLIGalleryAddRemove(t *testing.T) {
	dir := t.TempDir()
	d := fakeDeps()
	photo := filepath.Join(dir, "p.jpg")
	os.WriteFile(photo, []byte("a face"), 0o600)
	id := "11010519491231002X"
	code, m, stderr := storeRun(t, d, "gallery", "add", "--id", id, "--name", "张三", "--photo", photo, "--data", dir)
	if code != 0 || m["replaced"] != false || m["id_number"] != engine.MaskIDNumber(id) {
		t.Fatalf("gallery add = %d %v %s", code, m, stderr)
	}
	if strings.Contains(fmt.Sprint(m), id) {
		t.Fatalf("gallery add printed the whole ID number: %v", m)
	}
	if code, m, _ = storeRun(t, d, "gallery", "add", "--id", id, "--name", "张三", "--photo", photo, "--data", dir); code != 1 || errCode(m) != store.CodeResourceInUse {
		t.Fatalf("second add = %d %v", code, m)
	}
	if code, m, _ = storeRun(t, d, "gallery", "add", "--id", id, "--name", "张三", "--photo", photo, "--replace", "--data", dir); code != 0 || m["replaced"] != true {
		t.Fatalf("add --replace = %d %v", code, m)
	}
	noface := filepath.Join(dir, "noface.jpg")
	os.WriteFile(noface, []byte("NOFACE"), 0o600)
	two := filepath.Join(dir, "two.jpg")
	os.WriteFile(two, []byte("TWOFACES"), 0o600)
	other := validID("44030419900307124")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--id", "11010519491231002x", "--name", "张三", "--photo", photo}, "InvalidParameterValue/" + engine.ReasonIDLowerX},
		{[]string{"--id", "110105194912310021", "--name", "张三", "--photo", photo}, "InvalidParameterValue/" + engine.ReasonIDChecksum},
		{[]string{"--id", other, "--name", "张三3", "--photo", photo}, "InvalidParameterValue/" + engine.ReasonName},
		{[]string{"--id", other, "--name", "李四", "--photo", filepath.Join(dir, "missing.jpg")}, "InvalidParameterValue"},
		{[]string{"--id", other, "--name", "李四", "--photo", noface}, engine.CodeNoFaces + "/" + engine.ReasonNoFace},
		{[]string{"--id", other, "--name", "李四", "--photo", two}, engine.CodeSeveralFaces + "/" + engine.ReasonSeveralFaces},
	} {
		code, m, _ := storeRun(t, d, "gallery", append(append([]string{"add"}, c.args...), "--data", dir)...)
		if code != 1 || errCode(m) != c.want {
			t.Fatalf("gallery add %v = %d %v, want %s", c.args, code, m, c.want)
		}
	}
	if code, m, _ = storeRun(t, d, "gallery", "list", "--data", dir); code != 0 || m["total"] != 1.0 {
		t.Fatalf("gallery list = %d %v", code, m)
	}
	if code, m, _ = storeRun(t, d, "gallery", "remove", "--id", id, "--data", dir); code != 0 || m["removed"] != true {
		t.Fatalf("gallery remove = %d %v", code, m)
	}
	if code, m, _ = storeRun(t, d, "gallery", "remove", "--id", id, "--data", dir); code != 1 || errCode(m) != engine.CodeResourceNotFound {
		t.Fatalf("second remove = %d %v", code, m)
	}
}

func TestStoreCLIGalleryImportBadRows(t *testing.T) {
	dir := t.TempDir()
	d := fakeDeps()
	photos := filepath.Join(dir, "photos")
	os.MkdirAll(photos, 0o700)
	for name, body := range map[string]string{"a.jpg": "face a", "b.jpg": "face b", "c.jpg": "face c", "none.jpg": "NOFACE", "two.jpg": "TWOFACES"} {
		os.WriteFile(filepath.Join(photos, name), []byte(body), 0o600)
	}
	idA, idB, idC := validID("11010519800101001"), validID("31011519850615002"), validID("44030419900307123")
	idD, idE := validID("51010419920202004"), validID("61010319950505005")
	csvText := "\ufeffid_number,name,photo\n" +
		idA + ",张三,photos/a.jpg\n" + // 2 ok
		"11010519800101001x,李四,photos/b.jpg\n" + // 3 lower-case x
		idB + ",李四,photos/missing.jpg\n" + // 4 no such photo
		idC + ",王五,photos/none.jpg\n" + // 5 no face
		idD + ",赵六,photos/two.jpg\n" + // 6 two faces
		idA + ",张三,photos/a.jpg\n" + // 7 repeats row 2
		idE + ",钱7,photos/c.jpg\n" + // 8 bad name
		idE + ",\"钱\"七\",photos/c.jpg\n" + // 9 CSV syntax error
		idE + ",钱七\n" + // 10 no photo column
		idB + ",李四,photos/b.jpg\n" // 11 ok
	csvPath := filepath.Join(dir, "gallery.csv")
	os.WriteFile(csvPath, []byte(csvText), 0o600)

	code, m, stderr := storeRun(t, d, "gallery", "import", "--csv", csvPath, "--data", dir)
	if code != 1 {
		t.Fatalf("import with bad rows exit = %d, want 1 (%s)", code, stderr)
	}
	if m["total"] != 10.0 || m["added"] != 2.0 || m["failed"] != 8.0 {
		t.Fatalf("import counts = total %v added %v failed %v", m["total"], m["added"], m["failed"])
	}
	want := map[float64]string{
		2: "added", 3: engine.ReasonIDLowerX, 4: engine.CodeInvalidParameterValue, 5: engine.ReasonNoFace, 6: engine.ReasonSeveralFaces,
		7: store.CodeResourceInUse, 8: engine.ReasonName, 9: engine.CodeInvalidParameterValue, 10: engine.CodeMissingParameter, 11: "added",
	}
	rows := m["rows"].([]any)
	for i, r := range rows {
		row := r.(map[string]any)
		ln := row["row"].(float64)
		got := row["status"].(string)
		if got == "failed" {
			code, _ := row["code"].(string)
			reason, _ := row["reason"].(string)
			if got = code + "/" + reason; want[ln] == code || want[ln] == reason {
				got = want[ln]
			}
		}
		if got != want[ln] {
			t.Errorf("row %v = %v, want %s", ln, row, want[ln])
		}
		if i > 0 && ln <= rows[i-1].(map[string]any)["row"].(float64) {
			t.Errorf("rows out of order at %v", ln)
		}
	}

	// Exactly the good rows are in the store, each whole.
	db := openStore(t, dir)
	ids, total, _ := db.FindIdentities(context.Background(), "", 0, 0)
	if total != 2 {
		t.Fatalf("gallery holds %d identities, want 2: %v", total, ids)
	}
	for _, id := range []string{idA, idB} {
		got, err := db.FindIdentity(context.Background(), id)
		if err != nil || len(got.Photo) == 0 || len(got.Embedding) != engine.EmbeddingSize {
			t.Fatalf("imported identity %s = %v, %v", id, got, err)
		}
	}
	db.Close()

	// Again: every row is now a duplicate unless --replace.
	code, m, _ = storeRun(t, d, "gallery", "import", "--csv", csvPath, "--data", dir)
	if code != 1 || m["added"] != 0.0 {
		t.Fatalf("re-import = %d added %v", code, m["added"])
	}
	code, m, _ = storeRun(t, d, "gallery", "import", "--csv", csvPath, "--replace", "--data", dir)
	if m["replaced"] != 2.0 {
		t.Fatalf("re-import --replace replaced %v", m["replaced"])
	}
	// A CSV without the needed columns is refused as a whole.
	os.WriteFile(csvPath, []byte("id,name\n1,2\n"), 0o600)
	if code, m, _ = storeRun(t, d, "gallery", "import", "--csv", csvPath, "--data", dir); code != 1 || errCode(m) != engine.CodeInvalidParameterValue {
		t.Fatalf("import without columns = %d %v", code, m)
	}
}

func TestStoreCLIBackupRestore(t *testing.T) {
	dir := t.TempDir()
	d := fakeDeps()
	storeRun(t, d, "app", "create", "--name", "before", "--data", dir)
	backup := filepath.Join(t.TempDir(), "b.db")
	code, m, stderr := storeRun(t, d, "backup", backup, "--data", dir)
	if code != 0 || m["bytes"].(float64) <= 0 {
		t.Fatalf("backup = %d %v %s", code, m, stderr)
	}
	storeRun(t, d, "app", "create", "--name", "after", "--data", dir)
	if code, m, _ = storeRun(t, d, "restore", "--data", dir, backup); code != 0 || m["schema"] != float64(store.SchemaLatest()) {
		t.Fatalf("restore = %d %v", code, m)
	}
	if _, m, _ = storeRun(t, d, "app", "list", "--data", dir); len(m["apps"].([]any)) != 1 {
		t.Fatalf("apps after restore = %v", m)
	}
	// A new machine: restore needs the original key file, then brings the store back.
	fresh := t.TempDir()
	if code, _, stderr := storeRun(t, d, "restore", backup, "--data", fresh); code != 1 || !strings.Contains(stderr, "key file") {
		t.Fatalf("restore into a new dir without the key = %d %s", code, stderr)
	}
	key, _ := os.ReadFile(filepath.Join(dir, store.KeyFile))
	os.WriteFile(filepath.Join(fresh, store.KeyFile), key, 0o600)
	if code, m, _ = storeRun(t, d, "restore", backup, "--data", fresh); code != 0 {
		t.Fatalf("restore into a new dir = %d %v", code, m)
	}
	if _, m, _ = storeRun(t, d, "app", "list", "--data", fresh); len(m["apps"].([]any)) != 1 {
		t.Fatalf("apps in the new dir = %v", m)
	}
	junk := filepath.Join(t.TempDir(), "junk.db")
	os.WriteFile(junk, []byte(strings.Repeat("junk", 4096)), 0o600)
	if code, m, _ = storeRun(t, d, "restore", junk, "--data", dir); code != 1 || !strings.Contains(fmt.Sprint(m), "refused") {
		t.Fatalf("restore junk = %d %v", code, m)
	}
	if code, _, _ = storeRun(t, d, "restore", filepath.Join(dir, "nope.db"), "--data", dir); code != 1 {
		t.Fatalf("restore of a missing file = %d", code)
	}
}

// TestStoreCLIThroughAdminSocket holds the store open as `heshen serve`
// does, serves the admin socket, and runs every command through it.
func TestStoreCLIThroughAdminSocket(t *testing.T) {
	dir := t.TempDir()
	db := openStore(t, dir)
	defer db.Close()
	srv, err := startAdminSocket(dir, db, fakeFaces{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	fi, err := os.Stat(filepath.Join(dir, adminSocketName))
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("admin socket = %v, %v; want a 0600 socket", fi, err)
	}
	if _, err := startAdminSocket(dir, db, fakeFaces{}); err == nil {
		t.Fatal("a second server took over a live admin socket")
	}

	d := fakeDeps()
	d.openFace = func() (engine.FaceEngine, io.Closer, error) {
		t.Error("the CLI opened its own face engine while a server holds the store")
		return nil, nil, fmt.Errorf("no")
	}
	start := time.Now()
	code, m, stderr := storeRun(t, d, "app", "create", "--name", "via socket", "--data", dir)
	if code != 0 {
		t.Fatalf("app create via socket = %d %v %s", code, m, stderr)
	}
	took := time.Since(start)
	t.Logf("app create through the admin socket: %v (lock timeout %v)", took, d.lockTimeout)
	if took > 3*time.Second {
		t.Fatalf("app create via socket took %v", took)
	}
	appID := m["app_id"].(string)
	if a, err := db.FindAppByID(context.Background(), appID); err != nil || a.Name != "via socket" {
		t.Fatalf("the server's store has %v, %v", a, err)
	}
	if code, m, _ = storeRun(t, d, "rule", "create", "--app", appID, "--liveness", "action", "--compare", "gallery", "--data", dir); code != 0 || m["rule_id"] != "1" {
		t.Fatalf("rule create via socket = %d %v", code, m)
	}
	// Domain errors keep their codes across the socket.
	if code, m, _ = storeRun(t, d, "app", "credential", "revoke", "--secret-id", "AKIDnope", "--data", dir); code != 1 || errCode(m) != engine.CodeResourceNotFound {
		t.Fatalf("revoke unknown via socket = %d %v", code, m)
	}
	photo := filepath.Join(dir, "p.jpg")
	os.WriteFile(photo, []byte("face"), 0o600)
	id := validID("11010519800101001")
	if code, m, _ = storeRun(t, d, "gallery", "add", "--id", id, "--name", "张三", "--photo", photo, "--data", dir); code != 0 {
		t.Fatalf("gallery add via socket = %d %v", code, m)
	}
	csvPath := filepath.Join(dir, "g.csv")
	os.WriteFile(csvPath, []byte("id_number,name,photo\n"+validID("31011519850615002")+",李四,p.jpg\nbad,x,p.jpg\n"), 0o600)
	if code, m, _ = storeRun(t, d, "gallery", "import", "--csv", csvPath, "--data", dir); code != 1 || m["added"] != 1.0 || m["failed"] != 1.0 {
		t.Fatalf("gallery import via socket = %d %v", code, m)
	}
	if n, _ := db.CountIdentities(context.Background()); n != 2 {
		t.Fatalf("server's gallery holds %d, want 2", n)
	}
	backup := filepath.Join(t.TempDir(), "b.db")
	if code, m, _ = storeRun(t, d, "backup", backup, "--data", dir); code != 0 {
		t.Fatalf("backup via socket = %d %v", code, m)
	}
	if code, m, _ = storeRun(t, d, "gallery", "remove", "--id", id, "--data", dir); code != 0 {
		t.Fatalf("remove via socket = %d %v", code, m)
	}
	// Restore under the running server: it swaps the file and keeps serving.
	if code, m, _ = storeRun(t, d, "restore", backup, "--data", dir); code != 0 {
		t.Fatalf("restore via socket = %d %v", code, m)
	}
	if _, err := db.FindIdentity(context.Background(), id); err != nil {
		t.Fatalf("after restore via socket the server's store lacks the identity: %v", err)
	}

	// Once the server stops, the socket goes and the CLI opens the store itself.
	srv.Close()
	if _, err := os.Stat(filepath.Join(dir, adminSocketName)); !os.IsNotExist(err) {
		t.Fatalf("socket left after Close: %v", err)
	}
	if code, _, stderr = storeRun(t, d, "app", "list", "--data", dir); code != 1 || !strings.Contains(stderr, "locked") {
		t.Fatalf("store locked with no socket = %d %s", code, stderr)
	}
	db.Close()
	if code, m, _ = storeRun(t, d, "app", "list", "--data", dir); code != 0 || len(m["apps"].([]any)) != 1 {
		t.Fatalf("app list after the server stopped = %d %v", code, m)
	}
}

func TestAdminSocketRefusesMalformedRequests(t *testing.T) {
	dir := t.TempDir()
	db := openStore(t, dir)
	defer db.Close()
	srv, err := startAdminSocket(dir, db, fakeFaces{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	res, err := adminCall(context.Background(), dir, adminRequest{Op: "drop.everything"})
	if err == nil || engine.ErrorCode(err) != engine.CodeInvalidParameterValue {
		t.Fatalf("unknown op = %v, %v", res, err)
	}
	// A stale socket file (no server) is replaced.
	srv.Close()
	os.WriteFile(filepath.Join(dir, adminSocketName), nil, 0o600)
	srv2, err := startAdminSocket(dir, db, nil)
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	defer srv2.Close()
	photo := filepath.Join(dir, "p.jpg")
	os.WriteFile(photo, []byte("face"), 0o600)
	_, err = adminCall(context.Background(), dir, adminRequest{Op: "gallery.add", IDNumber: validID("11010519800101001"), Name: "张三", Photo: photo})
	if engine.ErrorCode(err) != engine.CodeDetectEngine {
		t.Fatalf("gallery add on a server without a face engine = %v", err)
	}
}

// liveFaces opens the real face engine once for the tests that need it.
var liveFaces = sync.OnceValues(func() (*vision.Engine, error) { return vision.Open(vision.Options{Workers: 2}) })

func storeTestdata(t testing.TB) string {
	t.Helper()
	d := os.Getenv("HESHEN_TESTDATA")
	if d == "" {
		d = "/work/shared/testdata"
	}
	if _, err := os.Stat(filepath.Join(d, "faces")); err != nil {
		t.Skipf("test data not found at %s (set HESHEN_TESTDATA): %v", d, err)
	}
	return d
}

// TestGalleryImportRealFaces imports real photos with the real engine: a
// one-face photo enrols with an embedding that matches another photo of
// the same person; several faces, a corrupt file and a non-image are
// refused with their codes. HESHEN_IMPORT_N=N imports N LFW photos and
// reports the rate.
func TestGalleryImportRealFaces(t *testing.T) {
	td := storeTestdata(t)
	fe, err := liveFaces()
	if err != nil {
		t.Fatal(err)
	}
	d := storeDeps{lockTimeout: 100 * time.Millisecond, openFace: func() (engine.FaceEngine, io.Closer, error) { return fe, io.NopCloser(nil), nil }}
	dir := t.TempDir()
	fr := filepath.Join(td, "faces", "face_recognition", "examples")
	corrupt := filepath.Join(dir, "corrupt.jpg")
	raw, _ := os.ReadFile(filepath.Join(fr, "obama.jpg"))
	os.WriteFile(corrupt, raw[:len(raw)/3], 0o600)
	notImage := filepath.Join(dir, "notes.jpg")
	os.WriteFile(notImage, []byte("this is not an image"), 0o600)
	idObama, idBiden := validID("11010519610804001"), validID("11010519421120002")
	csvText := "id_number,name,photo\n" +
		idObama + ",Barack Obama," + filepath.Join(fr, "obama.jpg") + "\n" +
		idBiden + ",Joe Biden," + filepath.Join(fr, "biden.jpg") + "\n" +
		validID("11010519800101003") + ",Two People," + filepath.Join(fr, "two_people.jpg") + "\n" +
		validID("11010519800101004") + ",Corrupt," + corrupt + "\n" +
		validID("11010519800101005") + ",Not Image," + notImage + "\n"
	csvPath := filepath.Join(dir, "g.csv")
	os.WriteFile(csvPath, []byte(csvText), 0o600)
	code, m, stderr := storeRun(t, d, "gallery", "import", "--csv", csvPath, "--data", dir)
	if code != 1 || m["added"] != 2.0 || m["failed"] != 3.0 {
		t.Fatalf("real import = %d %v %s", code, m, stderr)
	}
	rows := m["rows"].([]any)
	if c := rows[2].(map[string]any)["code"]; c != engine.CodeSeveralFaces {
		t.Errorf("two_people.jpg row = %v, want %s", rows[2], engine.CodeSeveralFaces)
	}
	for _, i := range []int{3, 4} {
		if c, _ := rows[i].(map[string]any)["code"].(string); !strings.HasPrefix(c, "FailedOperation.Image") && c != engine.CodeEmptyImage {
			t.Errorf("row %d = %v, want an image decode code", i+2, rows[i])
		}
	}
	db := openStore(t, dir)
	defer db.Close()
	obama, err := db.FindIdentity(context.Background(), idObama)
	if err != nil {
		t.Fatal(err)
	}
	biden, _ := db.FindIdentity(context.Background(), idBiden)
	other, _ := os.ReadFile(filepath.Join(fr, "obama2.jpg"))
	a, err := fe.Analyze(context.Background(), other, engine.AnalyzeOptions{Policy: engine.PickLargest})
	if err != nil || a.Face() == nil {
		t.Fatalf("analyse obama2.jpg: %v", err)
	}
	same, diff := engine.Sim(obama.Embedding, a.Face().Embedding), engine.Sim(biden.Embedding, a.Face().Embedding)
	t.Logf("stored Obama vs obama2.jpg Sim %.1f; stored Biden vs obama2.jpg Sim %.1f", same, diff)
	if same < engine.SimPass || diff >= engine.SimPass {
		t.Fatalf("stored embeddings: same person Sim %.1f, different person Sim %.1f", same, diff)
	}
	db.Close()

	n := 0
	fmt.Sscan(os.Getenv("HESHEN_IMPORT_N"), &n)
	if n == 0 {
		return
	}
	lfw := filepath.Join(td, "faces", "lfw-ac", "lfw")
	people, _ := os.ReadDir(lfw)
	var sb strings.Builder
	sb.WriteString("id_number,name,photo\n")
	rows2 := 0
	for i, p := range people {
		if rows2 == n {
			break
		}
		files, _ := filepath.Glob(filepath.Join(lfw, p.Name(), "*.jpg"))
		if len(files) == 0 {
			continue
		}
		fmt.Fprintf(&sb, "%s,%s,%s\n", validID(fmt.Sprintf("110105198001%02d%03d", 1+i/1000%28, i%1000)), strings.ReplaceAll(p.Name(), "_", " "), files[0])
		rows2++
	}
	big := filepath.Join(dir, "lfw.csv")
	os.WriteFile(big, []byte(sb.String()), 0o600)
	bigDir := t.TempDir()
	start := time.Now()
	_, m, _ = storeRun(t, d, "gallery", "import", "--csv", big, "--data", bigDir)
	took := time.Since(start)
	fi, _ := os.Stat(filepath.Join(bigDir, store.DBFile))
	t.Logf("imported %v of %d LFW photos in %v: %.1f rows/s; failed %v; store %d bytes", m["added"], rows2, took.Round(time.Millisecond), m["added"].(float64)/took.Seconds(), m["failed"], fi.Size())
	reasons := map[string]int{}
	for _, r := range m["rows"].([]any) {
		row := r.(map[string]any)
		if row["status"] == "failed" {
			reasons[fmt.Sprint(row["code"], "/", row["reason"])]++
		}
	}
	t.Logf("failures: %v", reasons)
	db = openStore(t, bigDir)
	defer db.Close()
	var buf bytes.Buffer
	start = time.Now()
	bn, err := db.Backup(&buf)
	t.Logf("backup of %d identities: %d bytes in %v", int(m["added"].(float64)), bn, time.Since(start).Round(time.Microsecond))
}

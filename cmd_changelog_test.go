package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"heshen/engine"
	"heshen/store/oplog"
)

// TestCLIChangesAreLogged: a change made by the CLI on its own lands in the
// data directory's operation log, without the secret key; listings do not.
func TestCLIChangesAreLogged(t *testing.T) {
	dir := t.TempDir()
	d := fakeDeps()
	code, m, stderr := storeRun(t, d, "app", "create", "--name", "窗口一", "--data", dir)
	if code != 0 {
		t.Fatalf("app create = %d %s", code, stderr)
	}
	secret := m["secret_key"].(string)
	if code, _, _ = storeRun(t, d, "app", "list", "--data", dir); code != 0 {
		t.Fatal("app list failed")
	}
	ol, err := oplog.Open(dir, oplog.Options{SweepEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := ol.WaitIndexed(context.Background()); err != nil {
		t.Fatal(err)
	}
	res, err := ol.Search(context.Background(), engine.OpQuery{Kind: engine.OpKindCLI})
	ol.Close()
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 1 || res.Entries[0].Action != "heshen:app.create" || res.Entries[0].AppID != m["app_id"] || res.Entries[0].Code != "Success" {
		t.Fatalf("logged %d entries: %+v", res.Total, res.Entries)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "oplog.db"))
	if len(raw) == 0 || bytes.Contains(raw, []byte(secret)) {
		t.Fatal("the operation log is missing or holds the secret key")
	}
}

type recordingLog struct {
	mu sync.Mutex
	e  []*engine.OpEntry
}

func (r *recordingLog) Append(e *engine.OpEntry) {
	r.mu.Lock()
	r.e = append(r.e, e)
	r.mu.Unlock()
}

// TestAdminSocketChangesAreLogged: with a server holding the store, the
// change goes through the socket and the server logs it.
func TestAdminSocketChangesAreLogged(t *testing.T) {
	dir := t.TempDir()
	db := openStore(t, dir)
	defer db.Close()
	rec := &recordingLog{}
	srv, err := startAdminSocket(dir, db, fakeFaces{}, rec)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if code, _, stderr := storeRun(t, fakeDeps(), "app", "create", "--name", "x", "--data", dir); code != 0 {
		t.Fatalf("app create = %d %s", code, stderr)
	}
	storeRun(t, fakeDeps(), "gallery", "remove", "--id", "11010519491231002X", "--data", dir)
	storeRun(t, fakeDeps(), "app", "list", "--data", dir)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.e) != 2 || rec.e[0].Action != "heshen:app.create" || rec.e[1].Code == "Success" || rec.e[1].Code == "" {
		t.Fatalf("logged: %+v", rec.e)
	}
	if bytes.Contains(rec.e[0].Response, []byte("secret_key")) {
		t.Fatal("secret key logged")
	}
}

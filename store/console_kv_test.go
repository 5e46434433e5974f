package store

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
	"time"

	"heshen/engine"
)

func TestConsoleKV(t *testing.T) {
	db := mustOpenDB(t, Options{})
	type doc struct{ Name, Password string }
	var got doc
	if err := db.ConsoleGet(ctx, "channel", "x", &got); engine.ErrorCode(err) != engine.CodeResourceNotFound {
		t.Fatalf("missing: %v", err)
	}
	for _, id := range []string{"b", "a", "c"} {
		if err := db.ConsolePut(ctx, "channel", id, doc{Name: id, Password: "smtp-secret"}); err != nil {
			t.Fatal(err)
		}
	}
	db.ConsolePut(ctx, "channelz", "a", doc{Name: "other kind"})
	db.ConsolePut(ctx, "chann", "a", doc{Name: "prefix kind"})
	if err := db.ConsoleGet(ctx, "channel", "b", &got); err != nil || got.Name != "b" {
		t.Fatalf("get: %+v %v", got, err)
	}
	var ids []string
	db.ConsoleList(ctx, "channel", false, func(id string, v []byte) bool {
		var d doc
		if json.Unmarshal(v, &d) != nil || d.Name != id {
			t.Errorf("bad value for %s", id)
		}
		ids = append(ids, id)
		return true
	})
	if len(ids) != 3 || ids[0] != "a" || ids[2] != "c" {
		t.Errorf("list %v", ids)
	}
	ids = nil
	db.ConsoleList(ctx, "channel", true, func(id string, v []byte) bool { ids = append(ids, id); return len(ids) < 2 })
	if len(ids) != 2 || ids[0] != "c" || ids[1] != "b" {
		t.Errorf("reverse list %v", ids)
	}
	if n, err := db.ConsolePrune(ctx, "channel", 1); err != nil || n != 2 {
		t.Errorf("prune %d %v", n, err)
	}
	if err := db.ConsoleDelete(ctx, "channel", "c"); err != nil {
		t.Error(err)
	}
	if err := db.ConsoleDelete(ctx, "channel", "c"); engine.ErrorCode(err) != engine.CodeResourceNotFound {
		t.Errorf("second delete: %v", err)
	}
	if err := db.ConsoleGet(ctx, "channelz", "a", &got); err != nil || got.Name != "other kind" {
		t.Errorf("other kind touched: %v", err)
	}
	// Values are sealed: the password is not in the file.
	db.Close()
	raw, err := os.ReadFile(db.Path())
	if err != nil || bytes.Contains(raw, []byte("smtp-secret")) {
		t.Error("console value stored in the clear")
	}
}

func TestEachRecord(t *testing.T) {
	db := mustOpenDB(t, Options{})
	base := time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 10; i++ {
		if err := db.CreateRecord(ctx, &engine.Record{AppID: "a", Action: "X", CreatedAt: base.Add(time.Duration(i) * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	var got []time.Time
	db.EachRecord(ctx, base.Add(2*time.Hour), base.Add(5*time.Hour), func(r *engine.Record) bool { got = append(got, r.CreatedAt); return true })
	if len(got) != 3 || !got[0].Equal(base.Add(2*time.Hour)) {
		t.Errorf("each %v", got)
	}
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"heshen/engine"
	"heshen/store/oplog"
)

// changesState lists the management operations that change something; each
// one is written to the operation log (seed 001: every change is audited).
var changesState = map[string]bool{
	"app.create": true, "app.credential.add": true, "app.credential.revoke": true,
	"gallery.add": true, "gallery.import": true, "gallery.remove": true,
	"rule.create": true, "backup": true, "restore": true,
}

// changeEntry is the log entry of one management operation. The secret key
// a creation returns is never logged; the log masks names and ID numbers.
func changeEntry(kind string, req adminRequest, res any, err error, t0 time.Time) *engine.OpEntry {
	e := &engine.OpEntry{
		Time: t0, Kind: kind, Actor: kind, Action: "heshen:" + req.Op, AppID: req.AppID, SecretID: req.SecretID,
		Code: "Success", DurationMs: float64(time.Since(t0).Microseconds()) / 1000,
	}
	e.Request, _ = json.Marshal(req)
	if err != nil {
		e.Code = engine.ErrorCode(err)
		e.Response, _ = json.Marshal(map[string]any{"error": toErrorJSON(err)})
		return e
	}
	if m, ok := res.(map[string]any); ok {
		c := make(map[string]any, len(m))
		for k, v := range m {
			if k != "secret_key" {
				c[k] = v
			}
		}
		if id, ok := m["app_id"].(string); ok && e.AppID == "" {
			e.AppID = id
		}
		if id, ok := m["secret_id"].(string); ok && e.SecretID == "" {
			e.SecretID = id
		}
		res = c
	}
	e.Response, _ = json.Marshal(res)
	return e
}

// logLocalChange appends a change made by this process (no server holds
// the data directory) to the directory's operation log and waits for it
// to be on disk.
func logLocalChange(ctx context.Context, dataDir string, e *engine.OpEntry) error {
	ol, err := oplog.Open(dataDir, oplog.Options{SweepEvery: -1, Timeout: time.Second,
		Logf: func(string, ...any) {}})
	if err != nil {
		return fmt.Errorf("operation log: %w", err)
	}
	_, err = ol.AppendSync(ctx, e)
	if cerr := ol.Close(); err == nil {
		err = cerr
	}
	return err
}

package oplog

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"heshen/engine"
	"heshen/search"
)

// indexer indexes what the writer commits: batches handed over in memory
// when they follow the watermark, otherwise (after a restart, a rebuild or
// a full hand-over queue) by reading the file from the watermark on.
func (l *Log) indexer() {
	defer l.wg.Done()
	var next *docBatch // taken from l.docs but not yet merged
	for {
		var err error
		var b docBatch
		if next != nil {
			b, next = *next, nil
		} else {
			select {
			case <-l.stop:
				return
			case b = <-l.docs:
			case <-l.notify:
				l.ixMu.Lock()
				err = l.catchUp(l.stop)
				l.ixMu.Unlock()
				if err != nil {
					l.opts.Logf("oplog: index: %v", err)
					l.retryLater()
				}
				continue
			}
		}
		// Merge queued batches that follow on: fewer, larger Bleve batches
		// mean fewer segments to merge.
	merge:
		for len(b.docs) < l.opts.IndexBatch {
			select {
			case c := <-l.docs:
				if c.prev != b.last {
					next = &c
					break merge
				}
				b = docBatch{prev: b.prev, last: c.last, docs: append(b.docs, c.docs...)}
			default:
				break merge
			}
		}
		l.ixMu.Lock()
		switch ix := l.indexed.Load(); {
		case b.last <= ix: // already read from the file
		case b.prev == ix:
			if err = l.ix.Load().Index(b.docs, formatID(b.last)); err == nil {
				l.indexed.Store(b.last)
			}
		default: // a gap: read from the file
			err = l.catchUp(l.stop)
		}
		l.ixMu.Unlock()
		if err != nil {
			l.opts.Logf("oplog: index: %v", err)
			l.retryLater()
		}
	}
}

// retryLater schedules a catch-up from the file in a second, so a failing
// index does not spin.
func (l *Log) retryLater() {
	time.AfterFunc(time.Second, l.kick)
}

// catchUp indexes every committed entry after the watermark. ixMu held.
func (l *Log) catchUp(stop <-chan struct{}) error {
	for l.indexed.Load() < l.written.Load() {
		select {
		case <-stop:
			return nil
		default:
		}
		docs, last, err := l.readAfter(l.indexed.Load(), l.opts.IndexBatch)
		if err != nil {
			return err
		}
		if len(docs) == 0 {
			l.indexed.Store(l.written.Load())
			return nil
		}
		if err := l.ix.Load().Index(docs, formatID(last)); err != nil {
			return err
		}
		l.indexed.Store(last)
	}
	return nil
}

// readAfter reads up to n entries with keys above after, as index docs.
func (l *Log) readAfter(after uint64, n int) ([]search.Doc, uint64, error) {
	docs := make([]search.Doc, 0, n)
	var last uint64
	err := l.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketLog).Cursor()
		var start [8]byte
		binary.BigEndian.PutUint64(start[:], after+1)
		for k, v := c.Seek(start[:]); k != nil && len(docs) < n; k, v = c.Next() {
			last = binary.BigEndian.Uint64(k)
			var e engine.OpEntry
			if err := json.Unmarshal(v, &e); err != nil {
				l.opts.Logf("oplog: skip unreadable entry %s: %v", formatID(last), err)
				continue
			}
			docs = append(docs, docOf(&e))
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("read log: %w", err)
	}
	return docs, last, nil
}

// WaitIndexed waits until everything committed so far is indexed.
func (l *Log) WaitIndexed(ctx context.Context) error {
	target := l.written.Load()
	for l.indexed.Load() < target {
		l.kick()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

// Reindex deletes the index and rebuilds it from the log, returning the
// number of entries indexed. Searches during the rebuild see a partial
// index (Result.Behind).
func (l *Log) Reindex(ctx context.Context) (int, error) {
	l.ixMu.Lock()
	defer l.ixMu.Unlock()
	old := l.ix.Load()
	if err := old.Close(); err != nil {
		l.opts.Logf("oplog: close index: %v", err)
	}
	dir := old.Dir()
	if err := os.RemoveAll(dir); err != nil {
		return 0, fmt.Errorf("reindex: %w", err)
	}
	if err := l.openIndex(); err != nil {
		return 0, fmt.Errorf("reindex: %w", err)
	}
	stop, finished := make(chan struct{}), make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-l.stop:
		case <-finished:
		}
		close(stop)
	}()
	err := l.catchUp(stop)
	close(finished)
	if err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	n, err := l.ix.Load().Count()
	return int(n), err
}

// Fields whose values are never useful as free text: ids have their own
// keyword fields, the rest are opaque.
var skipText = map[string]bool{
	"RequestId": true, "BizToken": true, "sha256": true, "Iv": true, "TagList": true,
	"Url": true, "RedirectUrl": true, "FaceIdToken": true, "EidToken": true, "NFCRequestIds": true,
	"ClientConfig": true, "request_id": true, "biz_token": true,
}

// maxText bounds the free text of one entry.
const maxText = 4096

// docOf derives the index document from a stored (desensitised) entry: the
// keyword fields as they are, and as free text the action, the code and the
// readable string values of the request and the response.
func docOf(e *engine.OpEntry) search.Doc {
	var sb strings.Builder
	sb.WriteString(e.Action)
	sb.WriteByte(' ')
	sb.WriteString(e.Code)
	for _, raw := range []json.RawMessage{e.Request, e.Response} {
		if len(raw) == 0 {
			continue
		}
		var v any
		if json.Unmarshal(raw, &v) == nil {
			appendText(&sb, "", v)
		}
	}
	text := sb.String()
	if len(text) > maxText {
		text = strings.ToValidUTF8(text[:maxText], "")
	}
	return search.Doc{
		ID: e.ID, Time: e.Time, Kind: e.Kind, AppID: e.AppID, SecretID: e.SecretID,
		Actor: e.Actor, Action: e.Action, RequestID: e.RequestID, BizToken: e.BizToken,
		SourceIP: e.SourceIP, Code: e.Code, Text: text,
	}
}

func appendText(sb *strings.Builder, key string, v any) {
	if sb.Len() > maxText || skipText[key] {
		return
	}
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			appendText(sb, k, x)
		}
	case []any:
		for _, x := range v {
			appendText(sb, key, x)
		}
	case string:
		if readable(v) {
			sb.WriteByte(' ')
			sb.WriteString(v)
		}
	}
}

// readable rejects opaque tokens: URLs, and single words of 24 or more
// characters drawn from an id alphabet (hashes, uuids, base64).
func readable(s string) bool {
	if s == "" || strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
		return false
	}
	if len(s) < 24 {
		return true
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_' || c == '+' || c == '/' || c == '=') {
			return true
		}
	}
	return false
}

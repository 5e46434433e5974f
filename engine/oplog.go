package engine

import (
	"context"
	"encoding/json"
	"time"
)

// OpEntry is one operation-log entry: an API call, a console change or a
// CLI change. Request and Response are given raw (any format); the log
// desensitises them before anything is stored or indexed, after which they
// hold masked JSON (see Desensitise).
type OpEntry struct {
	ID         string          `json:"id"`
	Time       time.Time       `json:"time"`
	Kind       string          `json:"kind"` // api, console, cli, system
	AppID      string          `json:"app_id,omitempty"`
	SecretID   string          `json:"secret_id,omitempty"`
	Actor      string          `json:"actor,omitempty"` // console user or CLI
	Action     string          `json:"action"`
	RequestID  string          `json:"request_id,omitempty"`
	BizToken   string          `json:"biz_token,omitempty"`
	SourceIP   string          `json:"source_ip,omitempty"`
	Code       string          `json:"code"` // result or error code ("Success", "0", "AuthFailure.SignatureFailure"…)
	DurationMs float64         `json:"duration_ms"`
	Steps      []Stage         `json:"steps,omitempty"`
	Request    json.RawMessage `json:"request,omitempty"`
	Response   json.RawMessage `json:"response,omitempty"`
}

// Kinds of operation-log entries.
const (
	OpKindAPI     = "api"
	OpKindConsole = "console"
	OpKindCLI     = "cli"
	OpKindSystem  = "system" // the appliance itself, e.g. a retention sweep
)

// OpLog receives operation-log entries. Append must not block the request
// path: implementations queue the entry and write it in batches. The caller
// must not modify e or its byte slices after Append.
type OpLog interface {
	Append(e *OpEntry)
}

// OpQuery selects operation-log entries. Zero fields match everything.
type OpQuery struct {
	// Text is free text (Chinese or English), matched against the
	// desensitised request and response, the action and the code; words
	// separated by spaces must all match. A word also matches entries whose
	// RequestId, BizToken, AppId, SecretId, action or code equals it.
	Text      string
	From, To  time.Time // From inclusive, To exclusive
	Kind      string
	AppID     string
	SecretID  string
	Actor     string
	Action    string
	Code      string
	RequestID string
	BizToken  string
	Offset    int  // entries to skip
	Limit     int  // page size; 0 means 20, at most 1000
	Oldest    bool // oldest first; the default is newest first
	Facets    bool // count matches per action, code and app
}

// OpFacet is the number of matching entries with one value of a field.
type OpFacet struct {
	Term  string `json:"term"`
	Count int    `json:"count"`
}

// OpResult is one page of an operation-log search.
type OpResult struct {
	Total   int                  `json:"total"`
	Entries []*OpEntry           `json:"hits"`
	Facets  map[string][]OpFacet `json:"facets,omitempty"` // "action", "code", "app_id"
	// Behind is true while the index is still catching up with the log, so
	// the newest entries may be missing from the result.
	Behind bool `json:"behind,omitempty"`
}

// OpLogSearcher is the console-facing side of the operation log.
type OpLogSearcher interface {
	Search(ctx context.Context, q OpQuery) (*OpResult, error)
}

package engine

import "time"

// OpEntry is one operation-log entry: an API call, a console change or a
// CLI change. Request and Response are given raw; the log desensitises them
// before anything is stored or indexed.
type OpEntry struct {
	ID         string    `json:"id"`
	Time       time.Time `json:"time"`
	Kind       string    `json:"kind"` // api, console, cli
	AppID      string    `json:"app_id,omitempty"`
	SecretID   string    `json:"secret_id,omitempty"`
	Actor      string    `json:"actor,omitempty"` // console user or CLI
	Action     string    `json:"action"`
	RequestID  string    `json:"request_id,omitempty"`
	BizToken   string    `json:"biz_token,omitempty"`
	SourceIP   string    `json:"source_ip,omitempty"`
	Code       string    `json:"code"` // result or error code ("Success", "0", "AuthFailure.SignatureFailure"…)
	DurationMs float64   `json:"duration_ms"`
	Steps      []Stage   `json:"steps,omitempty"`
	Request    []byte    `json:"request,omitempty"`
	Response   []byte    `json:"response,omitempty"`
}

// OpLog receives operation-log entries. Append must not block the request
// path: implementations queue the entry and write it in batches.
type OpLog interface {
	Append(e *OpEntry)
}

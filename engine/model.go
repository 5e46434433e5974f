package engine

import (
	"context"
	"time"
)

// Liveness modes, in Tencent's LivenessMode numbering.
const (
	LivenessUnknown    = 0
	LivenessDigit      = 1
	LivenessAction     = 2
	LivenessSilent     = 3
	LivenessReflection = 4
)

// Compare sources of a flow.
const (
	CompareGallery = "gallery" // the identity's reference photo in the on-box gallery
	ComparePhoto   = "photo"   // a photo the caller passes in DetectAuth
	CompareNone    = "none"    // liveness only
)

// Entity is a registered organisation (a mini-program's or an app's owner).
type Entity struct {
	Name string `json:"name"`
	Type string `json:"type,omitempty"`
}

// App is an integrating application; credentials and flows belong to it.
type App struct {
	ID         string    `json:"app_id"`
	Name       string    `json:"name"`
	Entity     Entity    `json:"entity"`
	Categories []string  `json:"categories,omitempty"`
	Disabled   bool      `json:"disabled,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	CreatedBy  string    `json:"created_by,omitempty"`
}

// Credential is a SecretId/SecretKey pair of an app.
type Credential struct {
	SecretID  string    `json:"secret_id"`
	SecretKey string    `json:"secret_key,omitempty"`
	AppID     string    `json:"app_id"`
	CreatedAt time.Time `json:"created_at"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	// Actions, if not empty, lists the API actions these credentials may call.
	Actions []string `json:"actions,omitempty"`
}

// Revoked reports whether the credential has been revoked.
func (c *Credential) Revoked() bool { return !c.RevokedAt.IsZero() }

// Identity is one person in the on-box gallery ("authority library").
type Identity struct {
	IDNumber  string    `json:"id_number"`
	Name      string    `json:"name"`
	Photo     []byte    `json:"-"` // reference photo (JPEG/PNG), encrypted at rest
	Embedding []float32 `json:"-"` // encrypted at rest
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by,omitempty"`
}

// Rule is a verification flow configuration (Tencent's RuleId).
type Rule struct {
	ID              string    `json:"rule_id"`
	AppID           string    `json:"app_id"`
	Name            string    `json:"name"`
	LivenessMode    int       `json:"liveness_mode"`
	CompareSource   string    `json:"compare_source"`
	IdentityTyped   bool      `json:"identity_typed"` // the citizen types name+ID on the page; else the caller passes them
	SimThreshold    float64   `json:"sim_threshold"`  // pass at Sim >= this (default 70)
	ConsentText     string    `json:"consent_text"`
	GuardianConsent bool      `json:"guardian_consent"` // show the minor/guardian checkbox
	RedirectURL     string    `json:"redirect_url,omitempty"`
	MaxRetries      int       `json:"max_retries"`
	Disabled        bool      `json:"disabled,omitempty"`
	CreatedAt       time.Time `json:"created_at"`
	CreatedBy       string    `json:"created_by,omitempty"`
}

// Stage timings and codes of one verification attempt.
type Attempt struct {
	Seq        int       `json:"seq"`
	At         time.Time `json:"at"`
	ErrCode    int       `json:"err_code"`
	ErrMsg     string    `json:"err_msg"`
	LiveStatus int       `json:"live_status"`
	LiveMsg    string    `json:"live_msg"`
	CompareErr int       `json:"compare_status"`
	CompareMsg string    `json:"compare_msg"`
	Sim        float64   `json:"sim"`
	Stages     []Stage   `json:"stages,omitempty"`
	// Hosted-flow details of the attempt: whether a comparison ran, the
	// liveness mode and action sequence, and its media ids while retained.
	Compared  bool   `json:"compared,omitempty"`
	Mode      int    `json:"liveness_mode,omitempty"`
	Sequence  string `json:"sequence,omitempty"`
	IDNumber  string `json:"id_number,omitempty"`
	Name      string `json:"name,omitempty"`
	BestFrame string `json:"best_frame,omitempty"`
	Video     string `json:"video,omitempty"`
}

// BizToken is one hosted verification (DetectAuth → page → GetDetectInfo*).
type BizToken struct {
	Token       string    `json:"biz_token"`
	RuleID      string    `json:"rule_id"`
	AppID       string    `json:"app_id"`
	IDNumber    string    `json:"id_number,omitempty"`
	Name        string    `json:"name,omitempty"`
	Extra       string    `json:"extra,omitempty"`
	RedirectURL string    `json:"redirect_url,omitempty"`
	PhotoMedia  string    `json:"photo_media,omitempty"` // media id of the caller's ImageBase64
	CreatedAt   time.Time `json:"created_at"`
	ExpiresAt   time.Time `json:"expires_at"`
	CompletedAt time.Time `json:"completed_at,omitzero"`
	Attempts    []Attempt `json:"attempts,omitempty"`
	RecordID    string    `json:"record_id,omitempty"`
}

// Review is a manual review decision on a record.
type Review struct {
	Approved bool      `json:"approved"`
	Reason   string    `json:"reason"`
	By       string    `json:"by"`
	At       time.Time `json:"at"`
}

// Record is one verification: who, which app/flow, codes, Sim, timings.
type Record struct {
	ID         string    `json:"id"`
	AppID      string    `json:"app_id"`
	RuleID     string    `json:"rule_id,omitempty"`
	Action     string    `json:"action"`
	Channel    string    `json:"channel,omitempty"` // api, h5, counter
	RequestID  string    `json:"request_id"`
	BizToken   string    `json:"biz_token,omitempty"`
	IDNumber   string    `json:"id_number,omitempty"` // erased after the identity retention period
	Name       string    `json:"name,omitempty"`
	Result     string    `json:"result"`   // Tencent Result string ("Success", "0", a FailedOperation code…)
	ErrCode    int       `json:"err_code"` // flow code (0 pass)
	Sim        float64   `json:"sim"`
	LiveStatus int       `json:"live_status"`
	Stages     []Stage   `json:"stages,omitempty"`
	Media      []string  `json:"media,omitempty"` // media ids (best frame, video) while retained
	CreatedAt  time.Time `json:"created_at"`
	CreatedBy  string    `json:"created_by,omitempty"`
	Review     *Review   `json:"review,omitempty"`
}

// Media is a stored image or video with an expiry.
type Media struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"` // best_frame, video, photo
	MIME      string    `json:"mime"`
	Data      []byte    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// User is a console user.
type User struct {
	Name         string    `json:"name"`
	PasswordHash string    `json:"-"`
	Role         string    `json:"role"`              // FullAccess, ReadOnly, SelfAccount, or a custom policy name
	Actions      []string  `json:"actions,omitempty"` // custom policy: allowed faceid:{Action}
	CreatedAt    time.Time `json:"created_at"`
	CreatedBy    string    `json:"created_by,omitempty"`
	FailedLogins int       `json:"failed_logins"`
	LockedUntil  time.Time `json:"locked_until,omitzero"`
}

// RecordFilter selects records; zero fields match everything.
type RecordFilter struct {
	AppID, RuleID, Action, Result string
	ErrCode                       *int
	From, To                      time.Time
	Offset, Limit                 int
}

// Retention holds the retention periods (seed 001 defaults in DefaultRetention).
type Retention struct {
	Media    time.Duration // face images and videos after completion
	Results  time.Duration // results pullable
	Identity time.Duration // names and ID numbers in records
	Monitor  time.Duration // monitoring data and operation logs
}

// DefaultRetention is the seeds' retention: 2 h, 3 days, 30 days, 2 years.
var DefaultRetention = Retention{
	Media:    2 * time.Hour,
	Results:  72 * time.Hour,
	Identity: 30 * 24 * time.Hour,
	Monitor:  2 * 365 * 24 * time.Hour,
}

// SweepReport counts what one retention sweep deleted.
type SweepReport struct {
	Media      int `json:"media"`
	BizTokens  int `json:"biz_tokens"`
	Identities int `json:"record_identities"`
	Records    int `json:"records"`
}

// Store is the record store. Implementations return *Error with
// CodeResourceNotFound for missing items.
type Store interface {
	CreateApp(ctx context.Context, a *App) error
	FindAppByID(ctx context.Context, id string) (*App, error)
	FindApps(ctx context.Context) ([]*App, error)

	CreateCredential(ctx context.Context, c *Credential) error
	FindCredential(ctx context.Context, secretID string) (*Credential, error)
	FindCredentials(ctx context.Context, appID string) ([]*Credential, error)
	RevokeCredential(ctx context.Context, secretID string, at time.Time) error

	PutIdentity(ctx context.Context, id *Identity) error
	FindIdentity(ctx context.Context, idNumber string) (*Identity, error)
	FindIdentities(ctx context.Context, query string, offset, limit int) ([]*Identity, int, error)
	DeleteIdentity(ctx context.Context, idNumber string) error

	CreateRule(ctx context.Context, r *Rule) error
	UpdateRule(ctx context.Context, r *Rule) error
	FindRule(ctx context.Context, id string) (*Rule, error)
	FindRules(ctx context.Context, appID string) ([]*Rule, error)

	PutBizToken(ctx context.Context, t *BizToken) error
	FindBizToken(ctx context.Context, token string) (*BizToken, error)

	CreateRecord(ctx context.Context, r *Record) error
	UpdateRecord(ctx context.Context, r *Record) error
	FindRecord(ctx context.Context, id string) (*Record, error)
	FindRecords(ctx context.Context, f RecordFilter) ([]*Record, int, error)

	PutMedia(ctx context.Context, m *Media) error
	FindMedia(ctx context.Context, id string) (*Media, error)

	PutUser(ctx context.Context, u *User) error
	FindUser(ctx context.Context, name string) (*User, error)
	FindUsers(ctx context.Context) ([]*User, error)
	DeleteUser(ctx context.Context, name string) error

	// Sweep deletes what the retention periods say is due at now.
	Sweep(ctx context.Context, now time.Time, r Retention) (SweepReport, error)
}

// SubjectData is everything stored about one person, found by ID number
// (design §2.4: access and copy).
type SubjectData struct {
	IDNumber  string      `json:"id_number"`
	Identity  *Identity   `json:"identity,omitempty"`
	Photo     []byte      `json:"photo,omitempty"`     // the gallery reference photo
	Embedding []float32   `json:"embedding,omitempty"` // the gallery embedding
	Records   []*Record   `json:"records"`
	BizTokens []*BizToken `json:"biz_tokens"`
	Media     []*Media    `json:"media"`
}

// SubjectErasure counts what erasing a person deleted: the gallery entry,
// BizTokens and media outright; records keep their anonymous counts and
// codes but lose name, ID number and media.
type SubjectErasure struct {
	Identity  bool `json:"identity"`
	Records   int  `json:"records"`
	BizTokens int  `json:"biz_tokens"`
	Media     int  `json:"media"`
}

// SubjectStore serves a person's rights over their data.
type SubjectStore interface {
	ExportSubject(ctx context.Context, idNumber string) (*SubjectData, error)
	EraseSubject(ctx context.Context, idNumber string) (SubjectErasure, error)
}

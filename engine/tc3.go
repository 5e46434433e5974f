package engine

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"
)

// TC3Algorithm is the only signature algorithm the API accepts (Tencent
// Cloud API signature v3).
const TC3Algorithm = "TC3-HMAC-SHA256"

// TC3UnsignedPayload replaces the body hash when the caller sends
// X-TC-Content-SHA256: UNSIGNED-PAYLOAD.
const TC3UnsignedPayload = "UNSIGNED-PAYLOAD"

// TC3Request is what a TC3-HMAC-SHA256 signature covers, computed exactly as
// tencentcloud-sdk-go's sendWithSignatureV3 does.
type TC3Request struct {
	Method    string // POST or GET
	Query     string // canonical query string; empty for POST
	Headers   map[string]string
	Signed    []string // lower-case names of the signed headers, e.g. content-type, host
	Payload   []byte
	Unsigned  bool // hash the literal UNSIGNED-PAYLOAD instead of Payload
	Timestamp int64
	Service   string // "faceid"
}

// TC3Date is the UTC date of a timestamp as the credential scope writes it.
func TC3Date(ts int64) string { return time.Unix(ts, 0).UTC().Format("2006-01-02") }

// Scope is the credential scope: date/service/tc3_request.
func (r *TC3Request) Scope() string { return TC3Date(r.Timestamp) + "/" + r.Service + "/tc3_request" }

// CanonicalRequest is the six-line canonical request.
func (r *TC3Request) CanonicalRequest() string {
	var h strings.Builder
	for _, name := range r.Signed {
		h.WriteString(name)
		h.WriteByte(':')
		h.WriteString(strings.TrimSpace(r.Headers[name]))
		h.WriteByte('\n')
	}
	var payloadHash string
	if r.Unsigned {
		payloadHash = sha256Hex([]byte(TC3UnsignedPayload))
	} else {
		payloadHash = sha256Hex(r.Payload)
	}
	return r.Method + "\n/\n" + r.Query + "\n" + h.String() + "\n" + strings.Join(r.Signed, ";") + "\n" + payloadHash
}

// StringToSign is the algorithm, timestamp, scope and canonical request hash.
func (r *TC3Request) StringToSign() string {
	return TC3Algorithm + "\n" + strconv.FormatInt(r.Timestamp, 10) + "\n" + r.Scope() + "\n" +
		sha256Hex([]byte(r.CanonicalRequest()))
}

// Signature is the hex signature under secretKey.
func (r *TC3Request) Signature(secretKey string) string {
	kDate := hmacSHA256([]byte("TC3"+secretKey), TC3Date(r.Timestamp))
	kService := hmacSHA256(kDate, r.Service)
	kSigning := hmacSHA256(kService, "tc3_request")
	return hex.EncodeToString(hmacSHA256(kSigning, r.StringToSign()))
}

// Authorization is the Authorization header value a client sends.
func (r *TC3Request) Authorization(secretID, secretKey string) string {
	return TC3Algorithm + " Credential=" + secretID + "/" + r.Scope() +
		", SignedHeaders=" + strings.Join(r.Signed, ";") + ", Signature=" + r.Signature(secretKey)
}

// TC3Auth is a parsed Authorization header.
type TC3Auth struct {
	SecretID  string
	Date      string // from the credential scope
	Service   string
	Signed    []string
	Signature string
}

// ErrTC3Malformed reports an Authorization header that cannot be parsed.
var ErrTC3Malformed = errors.New("malformed TC3-HMAC-SHA256 authorization")

// ParseTC3Authorization parses
// "TC3-HMAC-SHA256 Credential=ID/DATE/SERVICE/tc3_request, SignedHeaders=a;b, Signature=HEX".
func ParseTC3Authorization(h string) (*TC3Auth, error) {
	alg, rest, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || alg != TC3Algorithm {
		return nil, ErrTC3Malformed
	}
	var a TC3Auth
	var cred, signed string
	for part := range strings.SplitSeq(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, ErrTC3Malformed
		}
		switch k {
		case "Credential":
			cred = v
		case "SignedHeaders":
			signed = v
		case "Signature":
			a.Signature = v
		default:
			return nil, ErrTC3Malformed
		}
	}
	parts := strings.Split(cred, "/")
	if len(parts) != 4 || parts[0] == "" || parts[3] != "tc3_request" {
		return nil, ErrTC3Malformed
	}
	a.SecretID, a.Date, a.Service = parts[0], parts[1], parts[2]
	if signed == "" || len(a.Signature) != 64 {
		return nil, ErrTC3Malformed
	}
	if _, err := hex.DecodeString(a.Signature); err != nil {
		return nil, ErrTC3Malformed
	}
	a.Signed = strings.Split(signed, ";")
	if !sort.StringsAreSorted(a.Signed) {
		return nil, ErrTC3Malformed
	}
	for _, s := range a.Signed {
		if s == "" || s != strings.ToLower(s) {
			return nil, ErrTC3Malformed
		}
	}
	return &a, nil
}

// TC3SignatureEqual compares two hex signatures in constant time.
func TC3SignatureEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(strings.ToLower(a)), []byte(strings.ToLower(b))) == 1
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

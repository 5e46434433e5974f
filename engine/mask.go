package engine

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// Desensitisation of operation-log entries (seed 001: the operation log
// keeps "desensitised requests and responses"). Names keep the surname,
// ID numbers keep the region (6) and the check digit, phones keep 3+4
// digits, images and videos become {bytes, sha256}, ciphertext becomes its
// length. Known Tencent fields are masked by name; every other string goes
// through a generic pass that catches base64 blobs, ID numbers and mobile
// numbers anywhere in text.

// Desensitise returns a copy of e whose Request and Response are masked
// JSON. Every other field is copied as is.
func Desensitise(e *OpEntry) *OpEntry {
	c := *e
	c.Steps = append([]Stage(nil), e.Steps...)
	c.Request = MaskBody(e.Request)
	c.Response = MaskBody(e.Response)
	return &c
}

// MaskBody masks a request or response body and returns it as JSON: JSON
// field-aware, form-encoded bodies as an object, other text as a masked
// string, binary as {bytes, sha256}. An empty body gives nil.
func MaskBody(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	// A read-only view, not a copy: bodies carry photos and videos of
	// megabytes. b is not modified while MaskBody runs (OpLog.Append's
	// contract), and every string that reaches the result is copied into it.
	t := strings.TrimSpace(unsafe.String(&b[0], len(b)))
	if t == "" {
		return nil
	}
	if !utf8.ValidString(t) {
		return mustJSON(mediaSummary([]byte(t)))
	}
	if t[0] == '{' || t[0] == '[' {
		if v, err := parseOrdered(t); err == nil {
			return json.RawMessage(encodeOrdered(maskTree(v)))
		}
	}
	if strings.Contains(t, "=") && !strings.ContainsAny(t, " \n\t") {
		if q, err := url.ParseQuery(t); err == nil && len(q) > 0 {
			o := &object{}
			for k, vs := range q {
				if len(vs) == 1 {
					o.set(k, vs[0])
					continue
				}
				arr := make([]any, len(vs))
				for i, v := range vs {
					arr[i] = v
				}
				o.set(k, arr)
			}
			o.sortKeys()
			return json.RawMessage(encodeOrdered(maskTree(o)))
		}
	}
	return mustJSON(maskString(t))
}

// MaskName keeps the surname (one character, or two for a compound surname
// such as 欧阳) and stars the rest: 张三 → 张*, 欧阳娜娜 → 欧阳**.
func MaskName(s string) string {
	r := []rune(strings.TrimSpace(s))
	if len(r) == 0 {
		return ""
	}
	keep := 1
	if len(r) >= 3 && compoundSurnames[string(r[:2])] {
		keep = 2
	}
	var b strings.Builder
	for i, c := range r {
		switch {
		case i < keep, c == ' ', c == '·', c == '•', c == '.':
			b.WriteRune(c)
		default:
			b.WriteByte('*')
		}
	}
	return b.String()
}

// compoundSurnames are the common two-character Chinese surnames.
var compoundSurnames = map[string]bool{
	"欧阳": true, "司马": true, "上官": true, "诸葛": true, "东方": true, "皇甫": true,
	"尉迟": true, "公孙": true, "慕容": true, "令狐": true, "长孙": true, "宇文": true,
	"司徒": true, "夏侯": true, "轩辕": true, "端木": true, "独孤": true, "南宫": true,
	"西门": true, "百里": true, "呼延": true, "万俟": true, "澹台": true, "公冶": true,
	"太史": true, "申屠": true, "钟离": true, "闻人": true, "赫连": true, "拓跋": true,
	"司空": true, "东郭": true, "濮阳": true, "淳于": true, "单于": true, "宗政": true,
	"公羊": true, "仲孙": true, "乐正": true, "第五": true, "左丘": true, "羊舌": true,
}

// MaskIDNumber keeps the region code (6) and the check digit of a resident
// ID number: 11010519900307123X → 110105***********X. A 15-digit number
// (no check digit) keeps the region only; other document numbers keep their
// first and last character.
func MaskIDNumber(s string) string {
	s = strings.TrimSpace(s)
	n := len(s)
	switch {
	case n == 18:
		return s[:6] + strings.Repeat("*", 11) + s[17:]
	case n == 15:
		return s[:6] + strings.Repeat("*", 9)
	case n >= 4 && utf8.RuneCountInString(s) == n:
		return s[:1] + strings.Repeat("*", n-2) + s[n-1:]
	}
	return strings.Repeat("*", utf8.RuneCountInString(s))
}

// MaskPhone keeps the first 3 and last 4 digits of a mobile number
// (13812345678 → 138****5678) and the last 4 digits of anything else.
func MaskPhone(s string) string {
	var b strings.Builder
	digits := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			digits++
		}
	}
	seen := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isDigit(c) {
			b.WriteByte(c)
			continue
		}
		seen++
		keepHead := digits >= 11 && seen > digits-11 && seen <= digits-8 // the 3 leading digits of the mobile part
		if keepHead || seen > digits-4 {
			b.WriteByte(c)
		} else {
			b.WriteByte('*')
		}
	}
	return b.String()
}

// MaskText applies the generic pass to free text: base64 runs of 200 or
// more characters become "[base64 N bytes sha256:…]", and ID numbers and
// mobile numbers are masked wherever they appear.
func MaskText(s string) string {
	s = maskBase64Runs(s)
	return maskDigitRuns(s)
}

// mediaSummary is what replaces an image or a video.
func mediaSummary(b []byte) *object {
	return mediaObject(len(b), sha256.Sum256(b))
}

func mediaObject(n int, sum [32]byte) *object {
	o := &object{}
	o.set("bytes", json.Number(itoa(n)))
	o.set("sha256", hex.EncodeToString(sum[:]))
	return o
}

// mediaString summarises a media field's string value: base64 (optionally
// in a data: URL) is decoded first so the hash is that of the file; URLs
// are kept (they are not face data).
func mediaString(s string) any {
	if s == "" || strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
		return s
	}
	if strings.HasPrefix(s, "data:") {
		if i := strings.Index(s, ";base64,"); i >= 0 {
			s = s[i+len(";base64,"):]
		}
	}
	if n, sum, ok := hashBase64(s); ok {
		return mediaObject(n, sum)
	}
	return mediaSummary([]byte(s))
}

// hashBase64 decodes s (standard or URL alphabet, padded or not, line
// breaks allowed) straight into SHA-256, without holding the decoded file.
func hashBase64(s string) (int, [32]byte, bool) {
	if strings.ContainsAny(s, "\r\n") {
		s = strings.NewReplacer("\r", "", "\n", "").Replace(s)
	}
	enc := base64.StdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.URLEncoding
	}
	if len(s)%4 != 0 {
		enc = enc.WithPadding(base64.NoPadding)
	}
	// Decode in 4-aligned chunks straight into the hash: faster than a
	// base64.NewDecoder stream and never holds the whole file.
	const chunk = 32 << 10
	src := make([]byte, chunk)
	dst := make([]byte, enc.DecodedLen(chunk))
	h := sha256.New()
	n := 0
	for j := 0; j < len(s); j += chunk {
		m := copy(src, s[j:min(len(s), j+chunk)])
		d, err := enc.Decode(dst, src[:m])
		if err != nil {
			return 0, [32]byte{}, false
		}
		h.Write(dst[:d])
		n += d
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return n, sum, true
}

// cipherSummary replaces ciphertext by its length.
func cipherSummary(s string) *object {
	n := len(s)
	if b, ok := decodeBase64(s); ok {
		n = len(b)
	}
	o := &object{}
	o.set("encrypted_bytes", json.Number(itoa(n)))
	return o
}

func decodeBase64(s string) ([]byte, bool) {
	if strings.ContainsAny(s, "\r\n") {
		s = strings.NewReplacer("\r", "", "\n", "").Replace(s)
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, true
		}
	}
	return nil, false
}

// minBase64Run is the length from which a base64-looking run is treated as
// a binary blob (a 150-byte payload); shorter runs are tokens and ids.
const minBase64Run = 200

func isBase64Char(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || isDigit(c) || c == '+' || c == '/' || c == '=' || c == '-' || c == '_'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// maskString is the generic pass for one JSON string value: a whole-value
// blob becomes {bytes, sha256}, embedded JSON is masked field-aware, and
// other text goes through MaskText.
func maskString(s string) any {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "data:") && strings.Contains(t, ";base64,") {
		return mediaString(t)
	}
	if len(t) >= minBase64Run && isBlob(t) {
		return mediaString(t)
	}
	if len(t) >= 2 && (t[0] == '{' || t[0] == '[') {
		if v, err := parseOrdered(t); err == nil {
			return encodeOrdered(maskTree(v))
		}
	}
	return MaskText(s)
}

func isBlob(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isBase64Char(s[i]) && s[i] != '\n' && s[i] != '\r' {
			return false
		}
	}
	return true
}

// maskBase64Runs replaces long base64 runs inside text.
func maskBase64Runs(s string) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); {
		if !isBase64Char(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isBase64Char(s[j]) {
			j++
		}
		if j-i >= minBase64Run {
			n, sum, ok := hashBase64(s[i:j])
			if !ok {
				n, sum = j-i, sha256.Sum256([]byte(s[i:j]))
			}
			b.WriteString(s[last:i])
			b.WriteString("[base64 " + itoa(n) + " bytes sha256:" + hex.EncodeToString(sum[:8]) + "]")
			last = j
		}
		i = j
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// maskDigitRuns masks ID numbers (18 with a plausible birth date, last may
// be X; 15 with a plausible yymmdd) and mobile numbers (11 digits 1[3-9]…)
// found as maximal digit runs anywhere in s.
func maskDigitRuns(s string) string {
	var out []byte
	last := 0
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		end := j
		if j-i == 17 && j < len(s) && (s[j] == 'X' || s[j] == 'x') {
			end = j + 1
		}
		run := s[i:end]
		var masked string
		switch {
		case len(run) == 18 && plausibleDate(run[6:10], run[10:12], run[12:14]):
			masked = MaskIDNumber(run)
		case len(run) == 15 && plausibleDate("19"+run[6:8], run[8:10], run[10:12]):
			masked = MaskIDNumber(run)
		case len(run) == 11 && run[0] == '1' && run[1] >= '3':
			masked = MaskPhone(run)
		}
		if masked != "" {
			out = append(out, s[last:i]...)
			out = append(out, masked...)
			last = end
		}
		i = end
	}
	if out == nil {
		return s
	}
	return string(append(out, s[last:]...))
}

func plausibleDate(y, m, d string) bool {
	yy, mm, dd := maskAtoi(y), maskAtoi(m), maskAtoi(d)
	return yy >= 1800 && yy <= 2199 && mm >= 1 && mm <= 12 && dd >= 1 && dd <= 31
}

func maskAtoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return -1
		}
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

func mustJSON(v any) json.RawMessage { return json.RawMessage(encodeOrdered(v)) }

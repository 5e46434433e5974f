package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"unicode/utf8"
)

// object is a JSON object that keeps its key order, so a masked body reads
// like the original.
type object struct {
	keys []string
	vals []any
}

func (o *object) set(k string, v any) {
	o.keys = append(o.keys, k)
	o.vals = append(o.vals, v)
}

func (o *object) get(k string) (any, bool) {
	for i, key := range o.keys {
		if key == k {
			return o.vals[i], true
		}
	}
	return nil, false
}

func (o *object) sortKeys() {
	idx := make([]int, len(o.keys))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return o.keys[idx[a]] < o.keys[idx[b]] })
	keys := make([]string, len(idx))
	vals := make([]any, len(idx))
	for i, j := range idx {
		keys[i], vals[i] = o.keys[j], o.vals[j]
	}
	o.keys, o.vals = keys, vals
}

// parseOrdered parses one JSON document into *object, []any, string,
// json.Number, bool and nil. Trailing data is an error. It is a small
// single-pass parser: json.Decoder.Token rescans long strings (photos and
// videos) several times, and masking runs once per logged call.
func parseOrdered(s string) (any, error) {
	p := &jparser{s: s}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.i != len(p.s) {
		return nil, errors.New("trailing data")
	}
	return v, nil
}

type jparser struct {
	s string
	i int
}

var errSyntax = errors.New("invalid JSON")

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 200

func (p *jparser) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jparser) value(depth int) (any, error) {
	if depth > maxDepth {
		return nil, errSyntax
	}
	p.ws()
	if p.i >= len(p.s) {
		return nil, errSyntax
	}
	switch c := p.s[p.i]; {
	case c == '{':
		p.i++
		o := &object{}
		p.ws()
		if p.i < len(p.s) && p.s[p.i] == '}' {
			p.i++
			return o, nil
		}
		for {
			p.ws()
			if p.i >= len(p.s) || p.s[p.i] != '"' {
				return nil, errSyntax
			}
			k, err := p.str()
			if err != nil {
				return nil, err
			}
			p.ws()
			if p.i >= len(p.s) || p.s[p.i] != ':' {
				return nil, errSyntax
			}
			p.i++
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			o.set(k, v)
			p.ws()
			if p.i >= len(p.s) {
				return nil, errSyntax
			}
			if p.s[p.i] == ',' {
				p.i++
				continue
			}
			if p.s[p.i] == '}' {
				p.i++
				return o, nil
			}
			return nil, errSyntax
		}
	case c == '[':
		p.i++
		arr := []any{}
		p.ws()
		if p.i < len(p.s) && p.s[p.i] == ']' {
			p.i++
			return arr, nil
		}
		for {
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
			p.ws()
			if p.i >= len(p.s) {
				return nil, errSyntax
			}
			if p.s[p.i] == ',' {
				p.i++
				continue
			}
			if p.s[p.i] == ']' {
				p.i++
				return arr, nil
			}
			return nil, errSyntax
		}
	case c == '"':
		return p.str()
	case c == 't' && strings.HasPrefix(p.s[p.i:], "true"):
		p.i += 4
		return true, nil
	case c == 'f' && strings.HasPrefix(p.s[p.i:], "false"):
		p.i += 5
		return false, nil
	case c == 'n' && strings.HasPrefix(p.s[p.i:], "null"):
		p.i += 4
		return nil, nil
	case c == '-' || c >= '0' && c <= '9':
		j := p.i
		for j < len(p.s) && strings.IndexByte("+-.eE0123456789", p.s[j]) >= 0 {
			j++
		}
		num := p.s[p.i:j]
		if !json.Valid([]byte(num)) {
			return nil, errSyntax
		}
		p.i = j
		return json.Number(num), nil
	}
	return nil, errSyntax
}

// str reads a string at p.i (which is '"'); without escapes it is a
// substring of the input, not a copy.
func (p *jparser) str() (string, error) {
	start := p.i + 1
	j := start
	for j < len(p.s) {
		c := p.s[j]
		if c == '"' {
			p.i = j + 1
			return p.s[start:j], nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", errSyntax
		}
		j++
	}
	// Escapes: find the end, then let encoding/json unquote.
	for j < len(p.s) {
		c := p.s[j]
		if c == '\\' {
			j += 2
			continue
		}
		if c == '"' {
			var out string
			if err := json.Unmarshal([]byte(p.s[p.i:j+1]), &out); err != nil {
				return "", errSyntax
			}
			p.i = j + 1
			return out, nil
		}
		j++
	}
	return "", errSyntax
}

// encodeOrdered writes v as compact JSON without HTML escaping.
func encodeOrdered(v any) string {
	var b bytes.Buffer
	writeJSON(&b, v)
	return b.String()
}

func writeJSON(b *bytes.Buffer, v any) {
	switch v := v.(type) {
	case *object:
		b.WriteByte('{')
		for i, k := range v.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, k)
			b.WriteByte(':')
			writeJSON(b, v.vals[i])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, e)
		}
		b.WriteByte(']')
	case string:
		writeString(b, v)
	case json.Number:
		b.WriteString(string(v))
	case bool:
		if v {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case nil:
		b.WriteString("null")
	default:
		enc, err := json.Marshal(v)
		if err != nil {
			b.WriteString("null")
			return
		}
		b.Write(enc)
	}
}

// writeString writes s as a JSON string like encoding/json without HTML
// escaping: quotes, backslashes and control characters escaped, invalid
// UTF-8 replaced by U+FFFD, U+2028 and U+2029 escaped.
func writeString(b *bytes.Buffer, s string) {
	const hexDigits = "0123456789abcdef"
	b.WriteByte('"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b.WriteString(s[start:i])
			switch c {
			case '"', '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			default:
				b.WriteString(`\u00`)
				b.WriteByte(hexDigits[c>>4])
				b.WriteByte(hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString(s[start:i])
			b.WriteString(`\ufffd`)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b.WriteString(s[start:i])
			b.WriteString(`\u202`)
			b.WriteByte(hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b.WriteString(s[start:])
	b.WriteByte('"')
}

// fieldKind says how a known field is masked.
type fieldKind int

const (
	fieldNone fieldKind = iota
	fieldName
	fieldNameIfIdentity // "name" masked only beside an ID number field
	fieldID
	fieldPhone
	fieldMedia
	fieldCipher
	fieldAddress
	fieldBirth
	fieldBankCard
)

// maskFields maps lower-cased field names of Tencent requests and
// responses (and the console's snake_case) to their masking.
var maskFields = map[string]fieldKind{
	"name": fieldNameIfIdentity, "ocrname": fieldName, "ocr_name": fieldName,
	"realname": fieldName, "real_name": fieldName, "personname": fieldName,
	"idcard": fieldID, "idnum": fieldID, "ocridcard": fieldID, "idnumber": fieldID,
	"id_number": fieldID, "idcardnumber": fieldID, "id_card": fieldID, "idno": fieldID,
	"certno": fieldID, "passno": fieldID, "visanum": fieldID,
	"mobile": fieldPhone, "phone": fieldPhone, "phonenumber": fieldPhone,
	"phone_number": fieldPhone, "tel": fieldPhone, "telephone": fieldPhone,
	"imagebase64": fieldMedia, "videobase64": fieldMedia, "bestframebase64": fieldMedia,
	"bestframelist": fieldMedia, "bestframes": fieldMedia, "bestframe": fieldMedia,
	"livenessvideo": fieldMedia, "video": fieldMedia, "ocrfront": fieldMedia,
	"ocrback": fieldMedia, "processedfrontimage": fieldMedia, "processedbackimage": fieldMedia,
	"avatar": fieldMedia, "portrait": fieldMedia, "idcardfrontbase64": fieldMedia,
	"idcardbackbase64": fieldMedia, "faceinput": fieldMedia, "photo": fieldMedia,
	"image": fieldMedia, "imagedata": fieldMedia, "frame": fieldMedia, "best_frame": fieldMedia,
	"ciphertextblob": fieldCipher, "encryptedbody": fieldCipher,
	"address": fieldAddress, "ocraddress": fieldAddress,
	"birth": fieldBirth, "ocrbirth": fieldBirth, "birthday": fieldBirth, "birth_date": fieldBirth,
	"bankcard": fieldBankCard, "bank_card": fieldBankCard, "cardno": fieldBankCard,
}

// maskTree masks a parsed document. Fields named in an Encryption
// EncryptList hold ciphertext and are replaced by their length.
func maskTree(v any) any {
	enc := map[string]bool{}
	collectEncrypted(v, enc)
	return maskValue(v, fieldNone, enc)
}

func collectEncrypted(v any, enc map[string]bool) {
	switch v := v.(type) {
	case *object:
		for i, k := range v.keys {
			if strings.EqualFold(k, "EncryptList") {
				if arr, ok := v.vals[i].([]any); ok {
					for _, e := range arr {
						if s, ok := e.(string); ok {
							if j := strings.LastIndexByte(s, '.'); j >= 0 {
								s = s[j+1:]
							}
							if strings.EqualFold(s, "EncryptionBody") {
								s = "EncryptedBody"
							}
							enc[strings.ToLower(s)] = true
						}
					}
				}
				continue
			}
			collectEncrypted(v.vals[i], enc)
		}
	case []any:
		for _, e := range v {
			collectEncrypted(e, enc)
		}
	}
}

func maskValue(v any, kind fieldKind, enc map[string]bool) any {
	switch v := v.(type) {
	case *object:
		identity := false
		for _, k := range v.keys {
			if maskFields[strings.ToLower(k)] == fieldID {
				identity = true
				break
			}
		}
		out := &object{keys: v.keys, vals: make([]any, len(v.vals))}
		for i, k := range v.keys {
			lk := strings.ToLower(k)
			fk := maskFields[lk]
			switch {
			case enc[lk] && fk != fieldMedia:
				fk = fieldCipher
			case fk == fieldNameIfIdentity && (identity || k == "Name"):
				fk = fieldName // Tencent's "Name" is always a person
			case fk == fieldNameIfIdentity:
				fk = fieldNone
			}
			out.vals[i] = maskValue(v.vals[i], fk, enc)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = maskValue(e, kind, enc)
		}
		return out
	case string:
		return maskLeaf(v, kind)
	case json.Number:
		if kind == fieldNone {
			if m := maskDigitRuns(string(v)); m != string(v) {
				return m
			}
			return v
		}
		return maskLeaf(string(v), kind)
	}
	return v
}

func maskLeaf(s string, kind fieldKind) any {
	if s == "" {
		return s
	}
	switch kind {
	case fieldName:
		return MaskName(s)
	case fieldID:
		return MaskIDNumber(s)
	case fieldPhone:
		return MaskPhone(s)
	case fieldMedia:
		return mediaString(s)
	case fieldCipher:
		return cipherSummary(s)
	case fieldAddress:
		r := []rune(s)
		if len(r) > 6 {
			return string(r[:6]) + "****"
		}
		return string(r[:1]) + "****"
	case fieldBirth:
		return "****"
	case fieldBankCard:
		if len(s) > 10 {
			return s[:6] + strings.Repeat("*", len(s)-10) + s[len(s)-4:]
		}
		return MaskIDNumber(s)
	}
	return maskString(s)
}

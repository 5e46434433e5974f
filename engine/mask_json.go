package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"sort"
	"strings"
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
// json.Number, bool and nil. Trailing data is an error.
func parseOrdered(s string) (any, error) {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	v, err := parseValue(d)
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("trailing data")
	}
	return v, nil
}

func parseValue(d *json.Decoder) (any, error) {
	t, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch t := t.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := &object{}
			for d.More() {
				kt, err := d.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, errors.New("bad key")
				}
				v, err := parseValue(d)
				if err != nil {
					return nil, err
				}
				o.set(k, v)
			}
			if _, err := d.Token(); err != nil {
				return nil, err
			}
			return o, nil
		case '[':
			arr := []any{}
			for d.More() {
				v, err := parseValue(d)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			if _, err := d.Token(); err != nil {
				return nil, err
			}
			return arr, nil
		}
		return nil, errors.New("unexpected delimiter")
	default:
		return t, nil
	}
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

func writeString(b *bytes.Buffer, s string) {
	e := json.NewEncoder(b)
	e.SetEscapeHTML(false)
	_ = e.Encode(s)         // a string always encodes
	b.Truncate(b.Len() - 1) // Encode appends a newline
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

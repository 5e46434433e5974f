package eligibility

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"heshen/engine"
)

// Input limits: a mini-program's description fits easily; anything larger
// is a wrong file, not a mini-program.
const (
	MaxInputBytes   = 256 << 10
	MaxContentRunes = 20000
	MaxNameRunes    = 200
	MaxCategories   = 20
	MaxFeatures     = 50
)

// Input is what the checker reads (the JSON of `heshen policy check`).
type Input struct {
	Entity     engine.Entity `json:"entity"`     // type may be empty: inferred from the name
	Categories List          `json:"categories"` // "一级-二级", e.g. "政务民生-公积金"
	Content    string        `json:"content"`    // what the mini-program does, free text
	Features   List          `json:"features,omitempty"`
}

// List is a JSON string array that also accepts one string with the items
// separated by ; ， 、 or newlines, the way people paste category lists.
type List []string

// UnmarshalJSON implements json.Unmarshaler.
func (l *List) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*l = splitList(s)
		return nil
	}
	var a []string
	if err := json.Unmarshal(b, &a); err != nil {
		return errors.New("want a string or an array of strings")
	}
	*l = a
	return nil
}

func splitList(s string) List {
	f := strings.FieldsFunc(s, func(r rune) bool {
		return strings.ContainsRune(";；,，、\n", r)
	})
	out := List{}
	for _, v := range f {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// DecodeInput reads one JSON Input. Errors are *engine.Error with a
// Tencent-style code and a message that says what to fix.
func DecodeInput(r io.Reader) (Input, error) {
	var in Input
	data, err := io.ReadAll(io.LimitReader(r, MaxInputBytes+1))
	if err != nil {
		return in, engine.Errorf(engine.CodeInvalidParameter, "读取输入失败", "reading input: %v", err)
	}
	if len(data) > MaxInputBytes {
		return in, engine.Errorf(engine.CodeInvalidParameterValue, "输入过大", "input is larger than %d bytes", MaxInputBytes)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // Windows editors add a BOM
	if len(bytes.TrimSpace(data)) == 0 {
		return in, engine.Errorf(engine.CodeMissingParameter, "输入为空", "input is empty: want a JSON object with entity, categories and content")
	}
	if !utf8.Valid(data) {
		return in, engine.Errorf(engine.CodeInvalidParameterValue, "输入不是 UTF-8 编码(是否为 GBK?)", "input is not UTF-8 text (saved as GBK?); convert it with iconv -f GBK -t UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return in, engine.Errorf(engine.CodeInvalidParameter, "JSON 格式错误", "malformed JSON: %s", jsonError(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return in, engine.Errorf(engine.CodeInvalidParameter, "JSON 对象之后还有多余内容", "malformed JSON: trailing data after the object")
	}
	return in, nil
}

// jsonError drops the Go type names from decoder messages.
func jsonError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return fmt.Sprintf("field %q has the wrong type (%s)", te.Field, te.Value)
		}
		return "want a JSON object with entity, categories and content"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// Validate checks an input before Check: the entity name, at least one
// category and the content are required, a declared entity type must be
// known, and text must not be garbled.
func (c *Checker) Validate(in Input) error {
	name := strings.TrimSpace(in.Entity.Name)
	switch {
	case name == "":
		return engine.Errorf(engine.CodeMissingParameter, "缺少注册主体名称 entity.name", "entity.name is required")
	case utf8.RuneCountInString(name) > MaxNameRunes:
		return engine.Errorf(engine.CodeInvalidParameterValue, "主体名称过长", "entity.name is longer than %d characters", MaxNameRunes)
	}
	if t := strings.TrimSpace(in.Entity.Type); t != "" && c.typeByAlias[strings.ToLower(t)] == "" {
		return engine.Errorf(engine.CodeInvalidParameterValue, "未知的主体类型 "+t,
			"unknown entity.type %q; use one of: %s (or omit it to infer from the name)", t, strings.Join(c.typeIDs(), ", "))
	}
	if len(in.Categories) == 0 {
		return engine.Errorf(engine.CodeMissingParameter, "缺少服务类目 categories", "categories is required (e.g. [\"政务民生-公积金\"])")
	}
	if len(in.Categories) > MaxCategories {
		return engine.Errorf(engine.CodeInvalidParameterValue, "服务类目过多", "more than %d categories", MaxCategories)
	}
	if strings.TrimSpace(in.Content) == "" {
		return engine.Errorf(engine.CodeMissingParameter, "缺少运营内容 content", "content is required: describe what the mini-program does")
	}
	if utf8.RuneCountInString(in.Content) > MaxContentRunes {
		return engine.Errorf(engine.CodeInvalidParameterValue, "运营内容过长", "content is longer than %d characters", MaxContentRunes)
	}
	if len(in.Features) > MaxFeatures {
		return engine.Errorf(engine.CodeInvalidParameterValue, "功能项过多", "more than %d features", MaxFeatures)
	}
	texts := append([]string{name, in.Content}, in.Categories...)
	texts = append(texts, in.Features...)
	for _, s := range texts {
		if garbled(s) {
			return engine.Errorf(engine.CodeInvalidParameterValue, "输入含乱码(编码错误)",
				"input text is garbled (replacement or control characters): %q; check the file's encoding", clip(s, 40))
		}
	}
	return nil
}

// garbled reports text a wrong decoding left behind: U+FFFD, control
// characters other than whitespace, or Latin-1 mojibake of UTF-8 Chinese.
func garbled(s string) bool {
	latin := 0
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			return true
		case unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t':
			return true
		case r >= 0x80 && r <= 0x24F:
			latin++
		}
	}
	// "æ”¿åŠ¡" is 政务 read as Latin-1: a run of such letters in a Chinese form.
	return latin >= 3 && latin*3 >= utf8.RuneCountInString(s)
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

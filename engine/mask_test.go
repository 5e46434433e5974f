package engine

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestMaskName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"张三", "张*"},
		{"欧阳娜娜", "欧阳**"},
		{"李小龙", "李**"},
		{"欧阳", "欧*"}, // a two-character name is a surname plus a given name
		{"阿依古丽·买买提", "阿***·***"},
		{"John Smith", "J*** *****"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := MaskName(tt.in); got != tt.want {
			t.Errorf("MaskName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMaskIDNumber(t *testing.T) {
	tests := []struct{ in, want string }{
		{"11010519900307123X", "110105***********X"},
		{"440301199912310018", "440301***********8"},
		{"110105900307123", "110105*********"},
		{"E12345678", "E*******8"},
		{"ab", "**"},
	}
	for _, tt := range tests {
		if got := MaskIDNumber(tt.in); got != tt.want {
			t.Errorf("MaskIDNumber(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMaskPhone(t *testing.T) {
	tests := []struct{ in, want string }{
		{"13812345678", "138****5678"},
		{"+86 13812345678", "+** 138****5678"},
		{"010-62345678", "010-****5678"}, // 11 digits: read as a mobile
		{"6234-5678", "****-5678"},
	}
	for _, tt := range tests {
		if got := MaskPhone(tt.in); got != tt.want {
			t.Errorf("MaskPhone(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMaskText(t *testing.T) {
	blob := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("\xff\xd8jpeg", 60)))
	tests := []struct{ in, want string }{
		{"身份证11010519900307123X与姓名不匹配", "身份证110105***********X与姓名不匹配"},
		{"id=110105199003071234;tel:13812345678", "id=110105***********4;tel:138****5678"},
		{"old 110105900307123 id", "old 110105********* id"},
		{"order 123456789012345678901", "order 123456789012345678901"}, // 21 digits: not an ID
		{"ts 1712345678", "ts 1712345678"},                             // 10 digits
		{"RequestId 6a0d1c8e-3f1b-4bd0-9a7e-2f3c4d5e6f70", "RequestId 6a0d1c8e-3f1b-4bd0-9a7e-2f3c4d5e6f70"},
	}
	for _, tt := range tests {
		if got := MaskText(tt.in); got != tt.want {
			t.Errorf("MaskText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	got := MaskText("photo " + blob + " end")
	if strings.Contains(got, blob[:40]) || !strings.HasPrefix(got, "photo [base64 360 bytes sha256:") || !strings.HasSuffix(got, "] end") {
		t.Errorf("MaskText(blob) = %q", got)
	}
}

// sensitive values used by the masking tests.
const (
	rawName  = "欧阳娜娜"
	rawID    = "11010519900307123X"
	rawPhone = "13812345678"
)

func TestMaskBodyTencent(t *testing.T) {
	img := []byte("\xff\xd8\xff\xe0 fake jpeg bytes of a face")
	for len(img) < 4000 {
		img = append(img, img...)
	}
	img64 := base64.StdEncoding.EncodeToString(img)
	sum := sha256.Sum256(img)
	video64 := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("mp4 video ", 100)))
	req := `{"RuleId":"1","IdCard":"` + rawID + `","Name":"` + rawName + `","ImageBase64":"` + img64 +
		`","VideoBase64":"` + video64 + `","Extra":"call me at ` + rawPhone + `",` +
		`"Encryption":{"EncryptList":["Mobile"],"CiphertextBlob":"` + base64.StdEncoding.EncodeToString(make([]byte, 256)) +
		`","Iv":"1234567890123456","Algorithm":"AES-256-CBC"},"Mobile":"q83jd0ZmgQ=="}`
	resp := `{"Response":{"Text":{"ErrCode":0,"IdCard":"` + rawID + `","Name":"` + rawName + `","OcrName":"` + rawName +
		`","OcrAddress":"北京市海淀区中关村大街1号院","OcrBirth":"1990/3/7","Mobile":"` + rawPhone + `","Sim":"88.3"},` +
		`"BestFrame":{"BestFrame":"` + img64 + `","BestFrames":["` + img64 + `"]},` +
		`"DetectInfo":"{\"Text\":{\"IdCard\":\"` + rawID + `\",\"Name\":\"` + rawName + `\"}}",` +
		`"RequestId":"6a0d1c8e-3f1b-4bd0-9a7e-2f3c4d5e6f70"}}`
	e := Desensitise(&OpEntry{Action: "DetectAuth", Request: []byte(req), Response: []byte(resp)})

	for _, b := range []json.RawMessage{e.Request, e.Response} {
		if !json.Valid(b) {
			t.Fatalf("masked body is not JSON: %s", b)
		}
		s := string(b)
		for _, raw := range []string{rawName, rawID, rawPhone, img64[:64], video64[:64], "娜娜", "中关村", "1990/3/7", "19900307"} {
			if strings.Contains(s, raw) {
				t.Errorf("masked body still contains %q: %s", raw, s)
			}
		}
	}
	var r struct {
		IdCard, Name, Extra string
		ImageBase64         struct {
			Bytes  int    `json:"bytes"`
			SHA256 string `json:"sha256"`
		}
		Encryption struct {
			CiphertextBlob struct {
				N int `json:"encrypted_bytes"`
			}
			Iv string
		}
	}
	if err := json.Unmarshal(e.Request, &r); err != nil {
		t.Fatal(err)
	}
	if r.IdCard != "110105***********X" || r.Name != "欧阳**" {
		t.Errorf("identity = %q %q", r.IdCard, r.Name)
	}
	if r.ImageBase64.Bytes != len(img) || r.ImageBase64.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("image = %+v, want %d bytes %x", r.ImageBase64, len(img), sum)
	}
	if r.Encryption.CiphertextBlob.N != 256 || r.Encryption.Iv != "1234567890123456" {
		t.Errorf("encryption = %+v", r.Encryption)
	}
	if r.Extra != "call me at 138****5678" {
		t.Errorf("extra = %q", r.Extra)
	}
	if !strings.Contains(string(e.Request), `"Mobile":{"encrypted_bytes":7}`) {
		t.Errorf("encrypted Mobile not replaced by its length: %s", e.Request)
	}
	if !strings.HasPrefix(string(e.Request), `{"RuleId":"1","IdCard":`) {
		t.Errorf("key order not kept: %.60s", e.Request)
	}
	if !strings.Contains(string(e.Response), `"OcrAddress":"北京市海淀区****"`) || !strings.Contains(string(e.Response), `"Sim":"88.3"`) {
		t.Errorf("response = %s", e.Response)
	}
	if !strings.Contains(string(e.Response), `\"IdCard\":\"110105***********X\"`) {
		t.Errorf("JSON inside a string not masked: %s", e.Response)
	}
}

func TestMaskBodyOtherFormats(t *testing.T) {
	tests := []struct {
		name, in string
		want     string
	}{
		{"form", "Name=" + rawName + "&IdCard=" + rawID + "&RuleId=1", `{"IdCard":"110105***********X","Name":"欧阳**","RuleId":"1"}`},
		{"text", "bad request from " + rawPhone, `"bad request from 138****5678"`},
		{"binary", "\xff\xd8\xff\x00\x01", `{"bytes":5,"sha256":"` + func() string { s := sha256.Sum256([]byte("\xff\xd8\xff\x00\x01")); return hex.EncodeToString(s[:]) }() + `"}`},
		{"empty", "  ", ``},
		{"console identity", `{"id_number":"` + rawID + `","name":"` + rawName + `"}`, `{"id_number":"110105***********X","name":"欧阳**"}`},
		{"console rule", `{"rule_id":"r1","name":"门诊核身"}`, `{"rule_id":"r1","name":"门诊核身"}`},
		{"number id", `{"x":110105199003071234}`, `{"x":"110105***********4"}`},
		{"html kept", `{"Description":"a<b>&c"}`, `{"Description":"a<b>&c"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(MaskBody([]byte(tt.in))); got != tt.want {
				t.Errorf("MaskBody = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestDesensitiseCopies(t *testing.T) {
	in := &OpEntry{Action: "IdCardVerification", Request: []byte(`{"IdCard":"` + rawID + `"}`), Steps: []Stage{{Name: "decode", Ms: 1}}}
	out := Desensitise(in)
	if string(in.Request) != `{"IdCard":"`+rawID+`"}` {
		t.Errorf("input changed: %s", in.Request)
	}
	out.Steps[0].Ms = 9
	if in.Steps[0].Ms != 1 {
		t.Error("steps shared between copy and input")
	}
}

func TestParseOrderedMatchesEncodingJSON(t *testing.T) {
	inputs := []string{
		`{}`, `[]`, `{"a":1,"b":[true,false,null],"c":{"d":"e"}}`, `"x"`, `-1.5e3`, `{"k":"\u6b27\"\\\/\n"}`,
		`{"emoji":"\ud83d\ude00"}`, `[1,]`, `{"a":1,}`, `{"a" 1}`, `{"a":01}`, `[1 2]`, `{"a":"b"} x`, "\"\x01\"", `nul`, `[-]`,
		`  [ 1 , { "a" : [ ] } ]  `, `{"a":"b\`, strings.Repeat("[", 300) + strings.Repeat("]", 300),
	}
	for _, in := range inputs {
		v, err := parseOrdered(in)
		valid := json.Valid([]byte(in)) && !strings.HasPrefix(in, strings.Repeat("[", 300))
		if (err == nil) != valid {
			t.Errorf("parseOrdered(%q) err = %v, json.Valid = %v", in, err, valid)
			continue
		}
		if err != nil {
			continue
		}
		var want, got any
		json.Unmarshal([]byte(in), &want)
		json.Unmarshal([]byte(encodeOrdered(v)), &got)
		if fmt.Sprint(want) != fmt.Sprint(got) {
			t.Errorf("round trip of %q = %s", in, encodeOrdered(v))
		}
	}
}

func FuzzMaskBody(f *testing.F) {
	f.Add([]byte(`{"IdCard":"11010519900307123X","Name":"张三","ImageBase64":"/9j/4AAQ"}`))
	f.Add([]byte("IdCard=1&Name=x"))
	f.Add([]byte("\xff\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		out := MaskBody(b)
		if len(out) > 0 && !json.Valid(out) {
			t.Fatalf("MaskBody(%q) = %q, not JSON", b, out)
		}
	})
}

func TestWriteStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"plain", `q"b\s`, "tab\tnl\nret\r", "\x00\x1f", "bad \xff utf8", "line\u2028sep\u2029", "中文<>&", ""} {
		var b bytes.Buffer
		writeString(&b, s)
		var got string
		if err := json.Unmarshal(b.Bytes(), &got); err != nil {
			t.Errorf("writeString(%q) = %s: %v", s, b.String(), err)
			continue
		}
		want := strings.ToValidUTF8(s, "\ufffd")
		if got != want {
			t.Errorf("writeString(%q) round trip = %q", s, got)
		}
	}
}

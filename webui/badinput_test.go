package webui_test

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
)

// Bad input of every kind to every action: the server answers each with a
// well-formed envelope, never crashes, and every record it writes is whole.
func TestBadInputNeverCrashes(t *testing.T) {
	h := newHarness(t)
	actions := []string{"IdCardVerification", "CheckIdNameDate", "ImageRecognition", "ImageRecognitionV2",
		"LivenessCompare", "LivenessRecognition", "Liveness", "GetActionSequence", "GetLiveCode"}
	jpeg := readFace(t, "face_recognition/examples/obama_small.jpg")
	bodies := []string{
		``, `null`, `{}`, `[]`, `"x"`, `{"IdCard":null,"Name":null}`, `{"IdCard":{},"Name":[]}`,
		`{"IdCard":"` + obamaID + `","Name":"` + obamaName + `","ImageBase64":"%%%"}`,
		`{"IdCard":"` + obamaID + `","Name":"` + obamaName + `","ImageBase64":"data:image/png;base64"}`,
		`{"IdCard":"` + obamaID + `","Name":"` + obamaName + `","ImageBase64":"` + b64(jpeg[:len(jpeg)/2]) + `"}`,
		`{"IdCard":"` + obamaID + `","Name":"` + obamaName + `","ImageBase64":"` + b64([]byte("BM\x00\x00\x00\x00")) + `"}`,
		`{"IdCard":"` + obamaID + `","Name":"\u0000\u202e","ImageBase64":"AAAA"}`,
		`{"LivenessType":"SILENT","VideoBase64":"` + b64([]byte("\x00\x00\x00\x18ftypmp42 broken")) + `","ImageBase64":"AAAA","IdCard":"` + obamaID + `","Name":"` + obamaName + `"}`,
		`{"LivenessType":"SILENT","VideoBase64":"AAAA","Optional":"{\"BestFrameNum\":\"x\"}"}`,
		`{"Encryption":{"EncryptList":["IdCard"],"CiphertextBlob":"AAAA","Iv":"AAAA"},"IdCard":"x","Name":"y"}`,
		`{"Encryption":{"EncryptList":"IdCard"}}`,
		`{"ValidityBegin":"99999999","ValidityEnd":"0","IdCard":"` + obamaID + `","Name":"` + obamaName + `"}`,
		`{"IdCard":"` + obamaID + `","Name":"` + obamaName + `","ImageBase64":"AAAA"} trailing`,
		strings.Repeat("[", 10000),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 30 {
		b := make([]byte, rng.IntN(300))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		bodies = append(bodies, string(b))
	}
	n := 0
	for _, a := range actions {
		for _, body := range bodies {
			n++
			r, raw := h.raw(rawReq{action: a, body: []byte(body)})
			if r.code() == "" && r.Response.Result == "" && a != "GetActionSequence" && a != "GetLiveCode" {
				t.Errorf("%s %.40q: neither error nor result: %s", a, body, raw)
			}
			if r.code() == "InternalError" {
				t.Errorf("%s %.40q: internal error: %s", a, body, raw)
			}
			if !json.Valid(raw) {
				t.Errorf("invalid JSON answer")
			}
		}
	}
	// The server is still healthy and every record is whole.
	if r, raw := h.raw(rawReq{action: "IdCardVerification", body: idCardBody(obamaID, obamaName)}); r.Response.Result != "0" {
		t.Fatalf("after bad input: %s", raw)
	}
	for _, rec := range h.records() {
		if rec.ID == "" || rec.RequestID == "" || rec.Action == "" || rec.Result == "" || rec.AppID == "" || len(rec.Stages) == 0 {
			t.Errorf("incomplete record %+v", rec)
		}
	}
	if got := len(h.log.all()); got != n+1 {
		t.Errorf("op-log entries %d, want %d", got, n+1)
	}
}

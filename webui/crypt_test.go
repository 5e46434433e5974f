package webui_test

import (
	"testing"

	"heshen/engine"
	"heshen/engine/fieldcrypt"
)

// sealed returns request parameters with IdCard and Name encrypted for the
// server's public key, as a client following seed 003 sends them.
func sealed(t *testing.T, h *harness, alg, id, name string) map[string]any {
	t.Helper()
	var pub any
	var err error
	switch alg {
	case fieldcrypt.AES256CBC:
		pub, err = fieldcrypt.ParseRSAPublicKey(h.keys.RSAPublicPEM())
	case fieldcrypt.SM4GCM:
		var p []byte
		if p, err = h.keys.SM2PublicPEM(); err == nil {
			pub, err = fieldcrypt.ParseSM2PublicKey(p)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	enc, out, err := fieldcrypt.Seal(alg, pub, map[string]string{"IdCard": id, "Name": name}, []string{"IdCard", "Name"})
	if err != nil {
		t.Fatal(err)
	}
	if out["IdCard"] == id || out["Name"] == name {
		t.Fatal("fields were not encrypted")
	}
	return map[string]any{"IdCard": out["IdCard"], "Name": out["Name"], "Encryption": enc}
}

func TestEncryptedFieldsSDK(t *testing.T) {
	h := newHarness(t)
	c := h.sdk()
	img := b64(readFace(t, "face_recognition/examples/obama2.jpg"))
	for _, alg := range []string{fieldcrypt.AES256CBC, fieldcrypt.SM4GCM} {
		t.Run(alg+"/IdCardVerification", func(t *testing.T) {
			out, err := h.call(c, "IdCardVerification", sealed(t, h, alg, obamaID, obamaName))
			if err != nil {
				t.Fatal(err)
			}
			if out["Result"] != "0" {
				t.Fatalf("got %v", out)
			}
			out, err = h.call(c, "IdCardVerification", sealed(t, h, alg, obamaID, "李四"))
			if err != nil || out["Result"] != "-1" {
				t.Fatalf("mismatch: %v %v", out, err)
			}
		})
		t.Run(alg+"/ImageRecognition", func(t *testing.T) {
			p := sealed(t, h, alg, obamaID, obamaName)
			p["ImageBase64"] = img
			out, err := h.call(c, "ImageRecognition", p)
			if err != nil {
				t.Fatal(err)
			}
			if out["Result"] != engine.ResultSuccess || out["Sim"].(float64) < 70 {
				t.Fatalf("got %v", out)
			}
		})
		t.Run(alg+"/CheckIdNameDate", func(t *testing.T) {
			p := sealed(t, h, alg, bidenID, bidenName)
			p["ValidityBegin"], p["ValidityEnd"] = "20200101", "00000000"
			out, err := h.call(c, "CheckIdNameDate", p)
			if err != nil || out["Result"] != "0" {
				t.Fatalf("got %v %v", out, err)
			}
		})
	}
	// The record holds the decrypted identity, never the ciphertext.
	for _, r := range h.records() {
		if r.IDNumber != obamaID && r.IDNumber != bidenID {
			t.Errorf("record ID number %q", r.IDNumber)
		}
	}
}

func TestEncryptionErrors(t *testing.T) {
	h := newHarness(t)
	c := h.sdk()
	good := func() map[string]any { return sealed(t, h, fieldcrypt.AES256CBC, obamaID, obamaName) }
	scenarios := []struct {
		name   string
		action string
		params func() map[string]any
		want   string
	}{
		{"ImageNotEncryptable", "ImageRecognition", func() map[string]any {
			p := good()
			p["ImageBase64"] = "aGVsbG8="
			p["Encryption"].(*fieldcrypt.Encryption).EncryptList = []string{"IdCard", "Name", "ImageBase64"}
			return p
		}, "InvalidParameter.UnsupportEncryptField"},
		{"NotOnLivenessCompare", "LivenessCompare", func() map[string]any {
			return map[string]any{"LivenessType": "SILENT", "VideoBase64": "AAAA", "ImageBase64": "AAAA", "Encryption": good()["Encryption"]}
		}, "InvalidParameter.UnsupportEncryptField"},
		{"ForeignKey", "IdCardVerification", func() map[string]any {
			p := good()
			p["Encryption"].(*fieldcrypt.Encryption).CiphertextBlob = "eqB5H23bbNQGTxCxSHP+FaXy+LlfK2GJ8l19UxTbikdezY1mGINQxS76J9rUa61W2jrm4j6eQ39O9pus/Wk5zP6t48Gd8M6RHld17/pPTnAVzjTwYZhy0yBvuyh7N73J5/fL2TSgJTMVi79urCC17C0oYdyBsK+hP9blfzwxb3g="
			return p
		}, "FailedOperation.DecryptSystemError"},
		{"WrongIv", "IdCardVerification", func() map[string]any {
			p := good()
			p["Encryption"].(*fieldcrypt.Encryption).Iv = "0123456789abcdef"
			return p
		}, "FailedOperation.DecryptSystemError"},
		{"BadAlgorithm", "IdCardVerification", func() map[string]any {
			p := good()
			p["Encryption"].(*fieldcrypt.Encryption).Algorithm = "DES"
			return p
		}, engine.CodeInvalidParameterValue},
		{"EmptyList", "IdCardVerification", func() map[string]any {
			p := good()
			p["Encryption"].(*fieldcrypt.Encryption).EncryptList = nil
			return p
		}, engine.CodeMissingParameter},
		{"SM4MissingTags", "IdCardVerification", func() map[string]any {
			p := sealed(t, h, fieldcrypt.SM4GCM, obamaID, obamaName)
			p["Encryption"].(*fieldcrypt.Encryption).TagList = nil
			return p
		}, engine.CodeInvalidParameterValue},
		{"SM4TamperedTag", "IdCardVerification", func() map[string]any {
			p := sealed(t, h, fieldcrypt.SM4GCM, obamaID, obamaName)
			e := p["Encryption"].(*fieldcrypt.Encryption)
			e.TagList[0], e.TagList[1] = e.TagList[1], e.TagList[0]
			return p
		}, "FailedOperation.DecryptSystemError"},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			_, err := h.call(c, sc.action, sc.params())
			if got := sdkCode(t, err); got != sc.want {
				t.Fatalf("got %s (%v), want %s", got, err, sc.want)
			}
		})
	}
	if n := len(h.records()); n != 0 {
		t.Errorf("%d records written for refused requests", n)
	}
}

package fieldcrypt

import (
	"crypto/rsa"
	"encoding/base64"
	"testing"

	"heshen/engine"
)

// The worked examples of seed 003 (the symmetric keys are printed there;
// CiphertextBlob was made with Tencent's key, so only the field step can be
// checked). Where the scanned text is ambiguous (0/O, I/l) the variant that
// decrypts is kept.
func TestSeedWorkedExamples(t *testing.T) {
	t.Run("AES-256-CBC", func(t *testing.T) {
		id, name := "H+ZwsBfYVgbBWaHStriUV2GF0wX7MzYy0XMWNKZjZjQ=", "IS6wLE153MfBr639hqWmUQ=="
		enc := &Encryption{EncryptList: []string{"IdCard", "Name"}, Iv: "t9Uf9QJ50B0uHhE26JLNxw=="}
		if err := openAES([]byte("1abrmh7jz83awn4585vzujiyxbhi5wsd"), enc, map[string]*string{"IdCard": &id, "Name": &name}); err != nil {
			t.Fatal(err)
		}
		if id != "100822119610104046" || name != "张三" {
			t.Fatalf("got %q %q", id, name)
		}
	})
	t.Run("SM4-GCM", func(t *testing.T) {
		id, name := "8qjVE9kEqW7R3x3Nd5AM5PDb", "JiRFz1O/"
		enc := &Encryption{Algorithm: SM4GCM, EncryptList: []string{"IdCard", "Name"}, Iv: "bIGEqJyU+8MIJO3u",
			TagList: []string{"wMyiG6JUzj4CIiZ+V5mqwA==", "msgrOgSfnMEK1ZzPtcaaFg=="}}
		if err := openSM4([]byte("45c3royvhyj6cavv"), enc, map[string]*string{"IdCard": &id, "Name": &name}); err != nil {
			t.Fatal(err)
		}
		if id != "100822119610104046" || name != "张三" {
			t.Fatalf("got %q %q", id, name)
		}
	})
}

func testKeys(t *testing.T) *Keys {
	t.Helper()
	dir := t.TempDir()
	k, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	// A second load reads the same keys back.
	k2, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !k.RSA.Equal(k2.RSA) || !k.SM2.Equal(k2.SM2) {
		t.Fatal("keys changed between loads")
	}
	return k
}

func TestRoundTrip(t *testing.T) {
	k := testKeys(t)
	sm2Pub, err := k.SM2PublicPEM()
	if err != nil {
		t.Fatal(err)
	}
	// The console hands the keys out base64-encoded.
	rsaKey, err := ParseRSAPublicKey([]byte(base64.StdEncoding.EncodeToString(k.RSAPublicPEM())))
	if err != nil {
		t.Fatal(err)
	}
	sm2Key, err := ParseSM2PublicKey(sm2Pub)
	if err != nil {
		t.Fatal(err)
	}
	for alg, pub := range map[string]any{AES256CBC: rsaKey, SM4GCM: sm2Key} {
		t.Run(alg, func(t *testing.T) {
			plain := map[string]string{"IdCard": "11010519491231002X", "Name": "欧阳·娜娜"}
			enc, ct, err := Seal(alg, pub, plain, []string{"IdCard", "Name"})
			if err != nil {
				t.Fatal(err)
			}
			id, name := ct["IdCard"], ct["Name"]
			if err := k.Decrypt(enc, map[string]*string{"IdCard": &id, "Name": &name}); err != nil {
				t.Fatal(err)
			}
			if id != plain["IdCard"] || name != plain["Name"] {
				t.Fatalf("got %q %q", id, name)
			}
		})
	}
}

// The documented IV form: 16 raw characters.
func TestRawIV(t *testing.T) {
	k := testKeys(t)
	key := []byte("0123456789abcdef0123456789abcdef")
	blob, err := rsa.EncryptPKCS1v15(nil, &k.RSA.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	enc := &Encryption{EncryptList: []string{"Name"}, CiphertextBlob: base64.StdEncoding.EncodeToString(blob), Iv: "abcdefghijklmnop"}
	name := cbcEncrypt(t, key, []byte("abcdefghijklmnop"), "张三")
	if err := k.Decrypt(enc, map[string]*string{"Name": &name}); err != nil {
		t.Fatal(err)
	}
	if name != "张三" {
		t.Fatalf("got %q", name)
	}
}

func TestDecryptErrors(t *testing.T) {
	k := testKeys(t)
	enc, ct, err := Seal(AES256CBC, &k.RSA.PublicKey, map[string]string{"Name": "张三"}, []string{"Name"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		mod  func(e *Encryption, fields map[string]*string)
		want string
	}{
		{"FieldNotAllowed", func(e *Encryption, f map[string]*string) { e.EncryptList = []string{"ImageBase64"} }, CodeUnsupportField},
		{"Duplicate", func(e *Encryption, f map[string]*string) { e.EncryptList = []string{"Name", "Name"} }, engine.CodeInvalidParameterValue},
		{"BlobNotBase64", func(e *Encryption, f map[string]*string) { e.CiphertextBlob = "!!" }, CodeDecrypt},
		{"BlobWrongKey", func(e *Encryption, f map[string]*string) {
			e.CiphertextBlob = base64.StdEncoding.EncodeToString(make([]byte, 256))
		}, CodeDecrypt},
		{"BadIv", func(e *Encryption, f map[string]*string) { e.Iv = "short" }, CodeDecrypt},
		{"FieldNotBase64", func(e *Encryption, f map[string]*string) { s := "%%%"; f["Name"] = &s }, CodeDecrypt},
		{"NoIv", func(e *Encryption, f map[string]*string) { e.Iv = "" }, engine.CodeMissingParameter},
		{"Algorithm", func(e *Encryption, f map[string]*string) { e.Algorithm = "SM4-CBC" }, engine.CodeInvalidParameterValue},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := *enc
			name := ct["Name"]
			fields := map[string]*string{"Name": &name, "IdCard": new(string)}
			c.mod(&e, fields)
			err := k.Decrypt(&e, fields)
			if got := engine.ErrorCode(err); got != c.want {
				t.Fatalf("got %v, want %s", err, c.want)
			}
		})
	}
}

func FuzzDecrypt(f *testing.F) {
	k, err := LoadOrCreate(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	f.Add("AES-256-CBC", "aGVsbG8=", "t9Uf9QJ50B0uHhE26JLNxw==", "IS6wLE153MfBr639hqWmUQ==", "")
	f.Add("SM4-GCM", "BD1W", "bIGEqJyU+8MIJO3u", "JiRFz1O/", "msgrOgSfnMEK1ZzPtcaaFg==")
	f.Fuzz(func(t *testing.T, alg, blob, iv, field, tag string) {
		enc := &Encryption{Algorithm: alg, EncryptList: []string{"Name"}, CiphertextBlob: blob, Iv: iv, TagList: []string{tag}}
		k.Decrypt(enc, map[string]*string{"Name": &field}) // must not panic
	})
}

func cbcEncrypt(t *testing.T, key, iv []byte, s string) string {
	t.Helper()
	b, err := aesCBCSeal(key, iv, []byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

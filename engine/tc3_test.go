package engine

import (
	"strings"
	"testing"
)

func TestTC3SignatureGolden(t *testing.T) {
	// Fixed vector; the same computation is checked against the official Go
	// SDK end to end in webui's tests.
	r := TC3Request{Method: "POST", Headers: map[string]string{"content-type": "application/json", "host": "faceid.tencentcloudapi.com"},
		Signed: []string{"content-type", "host"}, Payload: []byte(`{"IdCard":"11010519491231002X","Name":"张三"}`),
		Timestamp: 1700000000, Service: "faceid"}
	if got, want := r.Scope(), "2023-11-14/faceid/tc3_request"; got != want {
		t.Fatalf("scope %s, want %s", got, want)
	}
	wantCanon := "POST\n/\n\ncontent-type:application/json\nhost:faceid.tencentcloudapi.com\n\ncontent-type;host\n" + sha256Hex(r.Payload)
	if got := r.CanonicalRequest(); got != wantCanon {
		t.Fatalf("canonical request:\n%q\nwant\n%q", got, wantCanon)
	}
	sig := r.Signature("secretkey")
	if sig != tc3Golden {
		t.Fatalf("signature %s, want %s", sig, tc3Golden)
	}
	a, err := ParseTC3Authorization(r.Authorization("AKIDexample", "secretkey"))
	if err != nil {
		t.Fatal(err)
	}
	if a.SecretID != "AKIDexample" || a.Date != "2023-11-14" || a.Service != "faceid" || a.Signature != sig || strings.Join(a.Signed, ";") != "content-type;host" {
		t.Fatalf("parsed %+v", a)
	}
	if !TC3SignatureEqual(sig, strings.ToUpper(sig)) || TC3SignatureEqual(sig, tc3Golden[:63]+"0") {
		t.Fatal("TC3SignatureEqual")
	}
}

func TestParseTC3AuthorizationErrors(t *testing.T) {
	good := "TC3-HMAC-SHA256 Credential=AKID/2023-11-14/faceid/tc3_request, SignedHeaders=content-type;host, Signature=" + strings.Repeat("a", 64)
	if _, err := ParseTC3Authorization(good); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{
		"",
		"TC3-HMAC-SHA256",
		"HMAC-SHA256 Credential=AKID/2023-11-14/faceid/tc3_request, SignedHeaders=content-type;host, Signature=" + strings.Repeat("a", 64),
		strings.Replace(good, "tc3_request", "v4_request", 1),
		strings.Replace(good, "Credential=AKID/", "Credential=/", 1),
		strings.Replace(good, "content-type;host", "host;content-type", 1),
		strings.Replace(good, "content-type;host", "Content-Type;host", 1),
		strings.Replace(good, strings.Repeat("a", 64), strings.Repeat("z", 64), 1),
		strings.Replace(good, strings.Repeat("a", 64), "abc", 1),
		good + ", Extra=1",
	} {
		if _, err := ParseTC3Authorization(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func FuzzParseTC3Authorization(f *testing.F) {
	f.Add("TC3-HMAC-SHA256 Credential=AKID/2023-11-14/faceid/tc3_request, SignedHeaders=content-type;host, Signature=" + strings.Repeat("a", 64))
	f.Fuzz(func(t *testing.T, s string) { ParseTC3Authorization(s) })
}

const tc3Golden = "df69bbef26d9f188e059111f816a600fe609b7602db7e4d77927f5c7c85f904a"

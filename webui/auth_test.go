package webui_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	faceid "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/faceid/v20180301"

	"heshen/engine"
	"heshen/webui"
)

func idCardBody(id, name string) []byte {
	b, _ := json.Marshal(map[string]string{"IdCard": id, "Name": name})
	return b
}

func TestAuthSDK(t *testing.T) {
	h := newHarness(t)
	ok := func(c *faceid.Client) error {
		req := faceid.NewIdCardVerificationRequest()
		req.IdCard, req.Name = ptr(obamaID), ptr(obamaName)
		_, err := c.IdCardVerification(req)
		return err
	}
	if err := ok(h.sdk()); err != nil {
		t.Fatalf("valid credentials: %v", err)
	}
	t.Run("BadSignature", func(t *testing.T) {
		if got := sdkCode(t, ok(h.client(h.secretID, h.secretKey+"x"))); got != "AuthFailure.SignatureFailure" {
			t.Fatalf("got %s", got)
		}
	})
	t.Run("UnknownSecretId", func(t *testing.T) {
		if got := sdkCode(t, ok(h.client("AKIDnotknownatall0000000000000000", h.secretKey))); got != "AuthFailure.SecretIdNotFound" {
			t.Fatalf("got %s", got)
		}
	})
	t.Run("ExpiredTimestamp", func(t *testing.T) {
		h.clock.set(6 * time.Minute) // the server's clock runs ahead of the client's
		defer h.clock.set(0)
		if got := sdkCode(t, ok(h.sdk())); got != "AuthFailure.SignatureExpire" {
			t.Fatalf("got %s", got)
		}
	})
	t.Run("WithinSkew", func(t *testing.T) {
		h.clock.set(-4 * time.Minute)
		defer h.clock.set(0)
		req := faceid.NewIdCardVerificationRequest()
		req.IdCard, req.Name = ptr(bidenID), ptr(bidenName)
		if _, err := h.sdk().IdCardVerification(req); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("UnknownAction", func(t *testing.T) {
		_, err := h.call(h.sdk(), "DescribeInstances", map[string]any{})
		if got := sdkCode(t, err); got != "InvalidAction" {
			t.Fatalf("got %s", got)
		}
	})
	t.Run("Revoked", func(t *testing.T) {
		id, key := h.newCredential(nil)
		if err := ok(h.client(id, key)); err != nil {
			t.Fatal(err)
		}
		if err := h.db.RevokeCredential(context.Background(), id, time.Now()); err != nil {
			t.Fatal(err)
		}
		if got := sdkCode(t, ok(h.client(id, key))); got != "AuthFailure.SecretIdNotFound" {
			t.Fatalf("got %s", got)
		}
	})
	t.Run("AllowedActions", func(t *testing.T) {
		id, key := h.newCredential([]string{"faceid:ImageRecognition", "GetLiveCode"})
		if got := sdkCode(t, ok(h.client(id, key))); got != "AuthFailure.UnauthorizedOperation" {
			t.Fatalf("got %s", got)
		}
		if _, err := h.client(id, key).GetLiveCode(faceid.NewGetLiveCodeRequest()); err != nil {
			t.Fatalf("allowed action refused: %v", err)
		}
	})
}

func TestAuthRaw(t *testing.T) {
	h := newHarness(t)
	body := idCardBody(obamaID, obamaName)
	scenarios := []struct {
		name string
		req  rawReq
		want string
	}{
		{"OK", rawReq{action: "IdCardVerification", body: body}, ""},
		{"MissingAuthorization", rawReq{action: "IdCardVerification", body: body, headers: map[string]string{"Authorization": ""}}, "AuthFailure.InvalidAuthorization"},
		{"GarbledAuthorization", rawReq{action: "IdCardVerification", body: body, headers: map[string]string{"Authorization": "TC3-HMAC-SHA256 Credential=abc, Signature=zz"}}, "AuthFailure.InvalidAuthorization"},
		{"OtherAlgorithm", rawReq{action: "IdCardVerification", body: body, headers: map[string]string{"Authorization": "HMAC-SHA1 whatever"}}, "AuthFailure.InvalidAuthorization"},
		{"MissingAction", rawReq{action: "", body: body}, "MissingParameter"},
		{"MissingTimestamp", rawReq{action: "IdCardVerification", body: body, headers: map[string]string{"X-TC-Timestamp": ""}}, "MissingParameter"},
		{"MissingVersion", rawReq{action: "IdCardVerification", body: body, headers: map[string]string{"X-TC-Version": ""}}, "MissingParameter"},
		{"WrongVersion", rawReq{action: "IdCardVerification", version: "2017-01-01", body: idCardBody(bidenID, bidenName)}, "NoSuchVersion"},
		{"OldTimestamp", rawReq{action: "IdCardVerification", body: body, ts: time.Now().Add(-10 * time.Minute).Unix()}, "AuthFailure.SignatureExpire"},
		{"FutureTimestamp", rawReq{action: "IdCardVerification", body: body, ts: time.Now().Add(10 * time.Minute).Unix()}, "AuthFailure.SignatureExpire"},
		{"TamperedBody", rawReq{action: "IdCardVerification", body: body, headers: map[string]string{"Content-Type": "application/json; charset=utf-8"}}, "AuthFailure.SignatureFailure"},
		{"MalformedJSON", rawReq{action: "IdCardVerification", body: []byte(`{"IdCard": `)}, "InvalidParameter"},
		{"WrongType", rawReq{action: "IdCardVerification", body: []byte(`{"IdCard": 12, "Name": "x"}`)}, "InvalidParameter"},
		{"MissingName", rawReq{action: "IdCardVerification", body: []byte(`{"IdCard": "11010519491231002X"}`)}, "MissingParameter"},
		{"NotAnObject", rawReq{action: "IdCardVerification", body: []byte(`[1,2]`)}, "InvalidParameter"},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			r, raw := h.raw(sc.req)
			if got := r.code(); got != sc.want {
				t.Fatalf("code = %q, want %q: %s", got, sc.want, raw)
			}
		})
	}
	t.Run("Replay", func(t *testing.T) {
		req := rawReq{action: "IdCardVerification", body: idCardBody(bidenID, "重放"), ts: time.Now().Unix()}
		if r, raw := h.raw(req); r.code() != "" {
			t.Fatalf("first use refused: %s", raw)
		}
		if r, raw := h.raw(req); r.code() != "AuthFailure.SignatureFailure" || !strings.Contains(r.Response.Error.Message, "replay") {
			t.Fatalf("replay accepted: %s", raw)
		}
	})
	t.Run("UnsignedPayload", func(t *testing.T) {
		// With X-TC-Content-SHA256: UNSIGNED-PAYLOAD the body hash is that literal.
		ts := time.Now().Unix()
		sig := engine.TC3Request{Method: "POST", Headers: map[string]string{"content-type": "application/json", "host": h.addr},
			Signed: []string{"content-type", "host"}, Unsigned: true, Timestamp: ts, Service: "faceid"}
		r, raw := h.raw(rawReq{action: "IdCardVerification", body: body, ts: ts, headers: map[string]string{
			"X-TC-Content-SHA256": "UNSIGNED-PAYLOAD", "Authorization": sig.Authorization(h.secretID, h.secretKey)}})
		if r.code() != "" {
			t.Fatalf("got %s", raw)
		}
	})
	t.Run("EnglishMessages", func(t *testing.T) {
		r, _ := h.raw(rawReq{action: "IdCardVerification", body: []byte(`{"IdCard":"11010519491231002X","Name":"x1"}`), headers: map[string]string{"X-TC-Language": "en-US"}})
		if r.Response.Result != "-3" {
			t.Fatalf("got %+v", r.Response)
		}
	})
	// No record for anything refused before the verification started.
	want := 0
	for _, e := range h.log.all() {
		if e.Code == "0" || strings.HasPrefix(e.Code, "-") {
			want++
		}
	}
	if n := len(h.records()); n != want {
		t.Errorf("records = %d, want %d (one per verification that ran)", n, want)
	}
}

func TestBodyLimit(t *testing.T) {
	h := newHarness(t, func(o *webui.Options) { o.MaxBodyBytes = 64 << 10 })
	big := idCardBody(obamaID, strings.Repeat("张", 40<<10))
	r, raw := h.raw(rawReq{action: "IdCardVerification", body: big})
	if r.code() != "RequestSizeLimitExceeded" {
		t.Fatalf("got %s", raw)
	}
	// The server still answers afterwards.
	if r, raw := h.raw(rawReq{action: "IdCardVerification", body: idCardBody(obamaID, obamaName)}); r.code() != "" {
		t.Fatalf("after an oversize body: %s", raw)
	}
}

func TestOpLogEntries(t *testing.T) {
	h := newHarness(t)
	c := h.sdk()
	req := faceid.NewIdCardVerificationRequest()
	req.IdCard, req.Name = ptr(obamaID), ptr(obamaName)
	resp, err := c.IdCardVerification(req)
	if err != nil {
		t.Fatal(err)
	}
	h.client(h.secretID, "wrong").IdCardVerification(req)
	entries := h.log.all()
	if len(entries) != 2 {
		t.Fatalf("entries = %d, want 2", len(entries))
	}
	e := entries[0]
	if e.Kind != "api" || e.Action != "IdCardVerification" || e.RequestID != *resp.Response.RequestId || e.Code != "0" ||
		e.AppID != h.appID || e.SecretID != h.secretID || e.SourceIP != "127.0.0.1" || len(e.Steps) == 0 ||
		!strings.Contains(string(e.Request), obamaID) || !strings.Contains(string(e.Response), e.RequestID) || e.DurationMs <= 0 {
		t.Errorf("entry: %+v", e)
	}
	if e := entries[1]; e.Code != "AuthFailure.SignatureFailure" || e.SecretID != h.secretID || e.RequestID == "" {
		t.Errorf("failed call entry: %+v", e)
	}
}

func TestChallenges(t *testing.T) {
	h := newHarness(t)
	c := h.sdk()
	seq, err := c.GetActionSequence(faceid.NewGetActionSequenceRequest())
	if err != nil {
		t.Fatal(err)
	}
	if s := *seq.Response.ActionSequence; s != "1,2" && s != "2,1" {
		t.Errorf("ActionSequence = %q", s)
	}
	code, err := c.GetLiveCode(faceid.NewGetLiveCodeRequest())
	if err != nil {
		t.Fatal(err)
	}
	if s := *code.Response.LiveCode; len(s) != 4 || strings.Trim(s, "0123456789") != "" {
		t.Errorf("LiveCode = %q", s)
	}
}

func TestProbes(t *testing.T) {
	h := newHarness(t)
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := h.srv.App().Test(newGet(path), 10000)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 {
			t.Errorf("%s: HTTP %d", path, resp.StatusCode)
		}
	}
	// A call shows up in the metrics.
	h.raw(rawReq{action: "IdCardVerification", body: idCardBody(obamaID, obamaName)})
	resp, _ := h.srv.App().Test(newGet("/metrics"), 10000)
	var b strings.Builder
	buf := make([]byte, 1<<16)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	for _, want := range []string{`heshen_api_requests_total{action="IdCardVerification",code="0"} 1`, "heshen_verify_stage_duration_seconds", "heshen_verifications_total"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	notReady := newHarness(t, func(o *webui.Options) { o.Ready = func() error { return context.Canceled } })
	resp, _ = notReady.srv.App().Test(newGet("/readyz"), 10000)
	if resp.StatusCode != 503 {
		t.Errorf("not ready: HTTP %d", resp.StatusCode)
	}
}

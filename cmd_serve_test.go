package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"
	faceid "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/faceid/v20180301"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func serveTestdata(t *testing.T) string {
	cands := []string{os.Getenv("HESHEN_TESTDATA"), "../shared/testdata", "/work/shared/testdata"}
	for _, d := range cands {
		if d == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "faces")); err == nil {
			return d
		}
	}
	t.Fatalf("test data not found in %q (set HESHEN_TESTDATA)", cands)
	return ""
}

// startServe runs serveMain until the test ends and returns the demo output.
func startServe(t *testing.T, args ...string) (*demoOut, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	// Parallel servers cannot share the default capture port.
	if !slices.Contains(args, "--capture-udp") {
		args = append(args, "--capture-udp", "127.0.0.1:0")
	}
	go func() { done <- serveMain(ctx, &env{args: args, stdout: &stdout, stderr: &stderr}) }()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("serve exited %d: %s", code, stderr.String())
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not shut down")
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var out demoOut
		if err := json.Unmarshal([]byte(stdout.String()), &out); err == nil && out.SecretID != "" {
			if strings.Contains(stderr.String(), "heshen serving") {
				return &out, &stderr
			}
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d: %s", code, stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("serve did not start: %s %s", stdout.String(), stderr.String())
	return nil, nil
}

func TestServeDemo(t *testing.T) {
	td := serveTestdata(t)
	data := t.TempDir()
	out, _ := startServe(t, "--data", data, "--listen", "127.0.0.1:0", "--demo",
		"--demo-photo", filepath.Join(td, "faces/face_recognition/examples/obama.jpg"))
	if out.Identity == nil || out.Identity["IdCard"] != demoIDNumber {
		t.Fatalf("demo identity not seeded: %+v", out)
	}
	if _, err := base64.StdEncoding.DecodeString(out.RSAPublicKey); err != nil || out.SM2PublicKey == "" {
		t.Errorf("public keys: %+v", out)
	}
	host := strings.TrimSuffix(strings.TrimPrefix(out.Endpoint, "http://"), "/")
	cpf := profile.NewClientProfile()
	cpf.HttpProfile.Scheme, cpf.HttpProfile.Endpoint = "HTTP", host
	c, err := faceid.NewClient(common.NewCredential(out.SecretID, out.SecretKey), "", cpf)
	if err != nil {
		t.Fatal(err)
	}
	img, err := os.ReadFile(filepath.Join(td, "faces/face_recognition/examples/obama2.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	req := faceid.NewImageRecognitionRequest()
	id, name, b := demoIDNumber, demoName, base64.StdEncoding.EncodeToString(img)
	req.IdCard, req.Name, req.ImageBase64 = &id, &name, &b
	resp, err := c.ImageRecognition(req)
	if err != nil {
		t.Fatal(err)
	}
	if *resp.Response.Result != "Success" || *resp.Response.Sim < 70 {
		t.Fatalf("got %s", resp.ToJsonString())
	}
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		r, err := http.Get("http://" + host + p)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != 200 {
			t.Errorf("%s: %d", p, r.StatusCode)
		}
	}
	// The management CLI works while the server holds the store.
	var cliOut, cliErr bytes.Buffer
	if code := run([]string{"app", "create", "--data", data, "--name", "second"}, nil, &cliOut, &cliErr); code != 0 {
		t.Fatalf("app create during serve: %d %s", code, cliErr.String())
	}
}

func TestServeDemoRestartAndTLS(t *testing.T) {
	data := t.TempDir()
	first, _ := startServe(t, "--data", data, "--listen", "127.0.0.1:0", "--demo")
	if first.Hint == "" || first.Identity != nil {
		t.Errorf("without a photo the demo should print a hint: %+v", first)
	}
	// Not serving twice on one data directory.
	var stderr bytes.Buffer
	if code := serveMain(context.Background(), &env{args: []string{"--data", data, "--listen", "127.0.0.1:0"}, stdout: &bytes.Buffer{}, stderr: &stderr}); code != 1 {
		t.Errorf("second serve on the same data: exit %d %s", code, stderr.String())
	}
	data2 := t.TempDir()
	out, _ := startServe(t, "--data", data2, "--listen", "127.0.0.1:0", "--demo", "--tls-self-signed")
	if !strings.HasPrefix(out.Endpoint, "https://") {
		t.Fatalf("endpoint %s", out.Endpoint)
	}
	cl := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	r, err := cl.Get(out.Endpoint + "healthz")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 200 || r.TLS == nil {
		t.Fatalf("https healthz: %d", r.StatusCode)
	}
}

func TestServeBadFlags(t *testing.T) {
	for _, args := range [][]string{{"--nope"}, {"--demo-photo", "x.jpg"}, {"--config", "/nonexistent.toml"}, {"--tls-cert", "a.pem"}} {
		var stderr bytes.Buffer
		if code := serveMain(context.Background(), &env{args: args, stdout: &bytes.Buffer{}, stderr: &stderr}); code != 2 {
			t.Errorf("%v: exit %d", args, code)
		}
	}
}

// TestServeHostedFlow: serve wires the hosted flow, live capture and the
// console: DetectAuth through the SDK answers a Url to the server's own H5
// page, whose token check says capture is on; the console prints its
// one-time admin password and serves its page; an unknown result token is
// refused the Tencent way.
func TestServeHostedFlow(t *testing.T) {
	data := t.TempDir()
	out, stderr := startServe(t, "--data", data, "--listen", "127.0.0.1:0", "--demo")
	if !strings.Contains(stderr.String(), "console: user admin, one-time password ") || !strings.Contains(stderr.String(), "live capture") {
		t.Errorf("stderr: %s", stderr.String())
	}
	var cliOut, cliErr bytes.Buffer
	if code := run([]string{"rule", "create", "--data", data, "--app", out.AppID, "--name", "h5", "--liveness", "silent", "--compare", "gallery"}, nil, &cliOut, &cliErr); code != 0 {
		t.Fatalf("rule create: %d %s %s", code, cliOut.String(), cliErr.String())
	}
	var rule struct {
		RuleID string `json:"rule_id"`
	}
	if err := json.Unmarshal(cliOut.Bytes(), &rule); err != nil || rule.RuleID == "" {
		t.Fatalf("rule create printed %q", cliOut.String())
	}
	host := strings.TrimSuffix(strings.TrimPrefix(out.Endpoint, "http://"), "/")
	cpf := profile.NewClientProfile()
	cpf.HttpProfile.Scheme, cpf.HttpProfile.Endpoint = "HTTP", host
	c, err := faceid.NewClient(common.NewCredential(out.SecretID, out.SecretKey), "", cpf)
	if err != nil {
		t.Fatal(err)
	}
	req := faceid.NewDetectAuthRequest()
	id, name := demoIDNumber, demoName
	req.RuleId, req.IdCard, req.Name = &rule.RuleID, &id, &name
	resp, err := c.DetectAuth(req)
	if err != nil {
		t.Fatal(err)
	}
	url := *resp.Response.Url
	if url != "http://"+host+"/h5/"+*resp.Response.BizToken {
		t.Fatalf("Url %s", url)
	}
	for path, want := range map[string]string{url: "capture.js", url + "/info": `"capture":true`, "http://" + host + "/console/": "<html"} {
		r, err := http.Get(path)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(r.Body)
		r.Body.Close()
		if r.StatusCode != 200 || !strings.Contains(b.String(), want) {
			t.Errorf("%s: %d %.200s", path, r.StatusCode, b.String())
		}
	}
	gr := faceid.NewGetDetectInfoEnhancedRequest()
	tok := "00000000-0000-0000-0000-000000000000"
	gr.BizToken, gr.RuleId = &tok, &rule.RuleID
	if _, err := c.GetDetectInfoEnhanced(gr); err == nil || !strings.Contains(err.Error(), "InvalidParameterValue.BizTokenIllegal") {
		t.Errorf("unknown token: %v", err)
	}
}

func TestServeCaptureConfig(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.toml")
	os.WriteFile(p, []byte("[capture]\nenabled = false\n[console]\nenabled = false\n[h5]\npublic_url = \"https://kyc.example.com/\"\n"), 0o600)
	out, stderr := startServe(t, "--config", p, "--data", filepath.Join(dir, "data"), "--listen", "127.0.0.1:0", "--demo")
	if strings.Contains(stderr.String(), "one-time password") {
		t.Error("console disabled but an admin password was printed")
	}
	host := strings.TrimSuffix(strings.TrimPrefix(out.Endpoint, "http://"), "/")
	if r, err := http.Get("http://" + host + "/console/"); err != nil || r.StatusCode != 404 {
		t.Errorf("console disabled: %v %v", r, err)
	}
	for _, bad := range []string{"[capture]\nudp_addr = \"8189\"", "[capture]\nmax_sessions = 0", "[capture]\nhost_ips = [\"lan\"]",
		"[h5]\npublic_url = \"kyc.example.com\"", "[h5]\ntoken_ttl = \"1s\"", "[console]\ntime_zone = \"Mars/Base\""} {
		os.WriteFile(p, []byte(bad), 0o600)
		if _, err := LoadConfig(p); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

package webui_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tcerr "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"
	faceid "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/faceid/v20180301"

	"heshen/engine"
	"heshen/engine/fieldcrypt"
	"heshen/engine/vision"
	"heshen/store"
	"heshen/webui"
)

// Shared across the package's tests: loading the models and generating the
// RSA key take seconds.
var (
	sharedOnce  sync.Once
	sharedFaces *vision.Engine
	sharedKeys  *fieldcrypt.Keys
	sharedErr   error
)

func testdataDir(t testing.TB) string {
	t.Helper()
	// HESHEN_TESTDATA, else shared/ beside the repository (as CI lays it
	// out), else the workstation's copy. Missing data fails loudly.
	cands := []string{os.Getenv("HESHEN_TESTDATA"), "../../shared/testdata", "/work/shared/testdata"}
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

func readFace(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdataDir(t), "faces", rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func shared(t testing.TB) (*vision.Engine, *fieldcrypt.Keys) {
	t.Helper()
	sharedOnce.Do(func() {
		sharedFaces, sharedErr = vision.Open(vision.Options{Workers: 2})
		if sharedErr != nil {
			return
		}
		dir, err := os.MkdirTemp("", "heshen-keys-")
		if err != nil {
			sharedErr = err
			return
		}
		sharedKeys, sharedErr = fieldcrypt.LoadOrCreate(dir)
	})
	if sharedErr != nil {
		t.Fatalf("face engine / keys: %v", sharedErr)
	}
	return sharedFaces, sharedKeys
}

// opLog collects entries for assertions.
type opLog struct {
	mu      sync.Mutex
	entries []*engine.OpEntry
}

func (l *opLog) Append(e *engine.OpEntry) {
	l.mu.Lock()
	l.entries = append(l.entries, e)
	l.mu.Unlock()
}

func (l *opLog) all() []*engine.OpEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*engine.OpEntry(nil), l.entries...)
}

// clock is a settable clock for signature-expiry tests.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) set(d time.Duration) {
	c.mu.Lock()
	c.off = d
	c.mu.Unlock()
}

type harness struct {
	t         *testing.T
	db        *store.DB
	srv       *webui.Server
	addr      string
	appID     string
	secretID  string
	secretKey string
	log       *opLog
	clock     *clock
	keys      *fieldcrypt.Keys
	faces     *vision.Engine
}

// Gallery people of the tests.
const (
	obamaID   = "11010519491231002X" // the GB 11643 standard's own example number
	obamaName = "奥巴马"
	bidenID   = "440308199901101512"
	bidenName = "拜登"
)

type harnessOpt func(*webui.Options)

func newHarness(t *testing.T, opts ...harnessOpt) *harness {
	t.Helper()
	faces, keys := shared(t)
	db, err := store.Open(filepath.Join(t.TempDir(), "heshen.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	h := &harness{t: t, db: db, log: &opLog{}, clock: &clock{}, keys: keys, faces: faces}
	app := &engine.App{Name: "test"}
	if err := db.CreateApp(ctx, app); err != nil {
		t.Fatal(err)
	}
	h.appID = app.ID
	h.secretID, h.secretKey = h.newCredential(nil)
	h.addIdentity(obamaID, obamaName, "face_recognition/examples/obama.jpg")
	h.addIdentity(bidenID, bidenName, "face_recognition/examples/biden.jpg")

	v, err := engine.NewVerifier(engine.VerifierOptions{Faces: faces, Store: db, Video: &engine.FFmpeg{}})
	if err != nil {
		t.Fatal(err)
	}
	o := webui.Options{Store: db, Verifier: v, Keys: keys, OpLog: h.log, Now: h.clock.now}
	for _, f := range opts {
		f(&o)
	}
	h.srv, err = webui.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.addr = ln.Addr().String()
	done := make(chan error, 1)
	go func() { done <- h.srv.Serve(ln, nil) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h.srv.Shutdown(ctx)
		<-done
	})
	return h
}

func (h *harness) newCredential(actions []string) (string, string) {
	h.t.Helper()
	c := &engine.Credential{AppID: h.appID, Actions: actions}
	if err := h.db.CreateCredential(context.Background(), c); err != nil {
		h.t.Fatal(err)
	}
	if c.SecretID == "" || c.SecretKey == "" {
		h.t.Fatalf("store did not generate a secret pair: %+v", c)
	}
	return c.SecretID, c.SecretKey
}

func (h *harness) addIdentity(id, name, photo string) {
	h.t.Helper()
	img := readFace(h.t, photo)
	a, err := h.faces.Analyze(context.Background(), img, engine.AnalyzeOptions{Policy: engine.PickLargest})
	if err != nil || a.Face() == nil {
		h.t.Fatalf("gallery photo %s: %v", photo, err)
	}
	if err := h.db.PutIdentity(context.Background(), &engine.Identity{IDNumber: id, Name: name, Photo: img, Embedding: a.Face().Embedding}); err != nil {
		h.t.Fatal(err)
	}
}

// client is the official SDK client pointed at the test server.
func (h *harness) client(secretID, secretKey string) *faceid.Client {
	h.t.Helper()
	cpf := profile.NewClientProfile()
	cpf.HttpProfile.Scheme = "HTTP"
	cpf.HttpProfile.Endpoint = h.addr
	cpf.HttpProfile.ReqTimeout = 120
	c, err := faceid.NewClient(common.NewCredential(secretID, secretKey), "", cpf)
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

func (h *harness) sdk() *faceid.Client { return h.client(h.secretID, h.secretKey) }

// genericRequest sends any parameters through the SDK's signing client, for
// actions and fields v1.0.162's models lack (Encryption, ImageRecognitionV2,
// CheckIdNameDate).
type genericRequest struct {
	*tchttp.BaseRequest
	params map[string]any
}

func (r *genericRequest) MarshalJSON() ([]byte, error) { return json.Marshal(r.params) }

type genericResponse struct {
	*tchttp.BaseResponse
	Response map[string]any `json:"Response"`
}

func (h *harness) call(c *faceid.Client, action string, params map[string]any) (map[string]any, error) {
	req := &genericRequest{BaseRequest: &tchttp.BaseRequest{}, params: params}
	req.Init().WithApiInfo("faceid", faceid.APIVersion, action)
	resp := &genericResponse{BaseResponse: &tchttp.BaseResponse{}}
	err := c.Send(req, resp)
	return resp.Response, err
}

// sdkCode returns the Tencent error code of an SDK error.
func sdkCode(t testing.TB, err error) string {
	t.Helper()
	var se *tcerr.TencentCloudSDKError
	if !errors.As(err, &se) {
		t.Fatalf("want an SDK error, got %v", err)
	}
	if se.GetRequestId() == "" {
		t.Errorf("error %s has no RequestId", se.GetCode())
	}
	return se.GetCode()
}

// raw signs and posts a body with the stdlib, with hooks to break it.
type rawReq struct {
	action, version string
	body            []byte
	secretID, key   string
	ts              int64
	headers         map[string]string // overrides; "" deletes
}

type rawResp struct {
	Response struct {
		Error *struct {
			Code, Message string
		}
		RequestId string
		Result    string
		Sim       float64
	}
}

func (h *harness) raw(r rawReq) (*rawResp, []byte) {
	h.t.Helper()
	if r.version == "" {
		r.version = faceid.APIVersion
	}
	if r.secretID == "" {
		r.secretID, r.key = h.secretID, h.secretKey
	}
	if r.ts == 0 {
		r.ts = time.Now().Unix()
	}
	sig := engine.TC3Request{Method: "POST", Headers: map[string]string{"content-type": "application/json", "host": h.addr},
		Signed: []string{"content-type", "host"}, Payload: r.body, Timestamp: r.ts, Service: "faceid"}
	hdr := map[string]string{
		"Content-Type":   "application/json",
		"X-TC-Action":    r.action,
		"X-TC-Version":   r.version,
		"X-TC-Timestamp": strconv.FormatInt(r.ts, 10),
		"Authorization":  sig.Authorization(r.secretID, r.key),
	}
	for k, v := range r.headers {
		hdr[k] = v
	}
	req, err := http.NewRequest("POST", "http://"+h.addr+"/", bytes.NewReader(r.body))
	if err != nil {
		h.t.Fatal(err)
	}
	for k, v := range hdr {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	if resp.StatusCode != 200 {
		h.t.Fatalf("HTTP %d: %s", resp.StatusCode, buf.String())
	}
	var out rawResp
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		h.t.Fatalf("response is not JSON: %v: %s", err, buf.String())
	}
	if out.Response.RequestId == "" {
		h.t.Errorf("response without RequestId: %s", buf.String())
	}
	return &out, buf.Bytes()
}

func (r *rawResp) code() string {
	if r.Response.Error == nil {
		return ""
	}
	return r.Response.Error.Code
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func ptr[T any](v T) *T { return &v }

// noFacePNG is a smooth gradient: a valid image without a face.
func noFacePNG(t testing.TB) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 320, 240))
	for y := range 240 {
		for x := range 320 {
			img.Set(x, y, color.RGBA{uint8(x * 255 / 320), uint8(y * 255 / 240), 128, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// records lists every record in the store.
func (h *harness) records() []*engine.Record {
	h.t.Helper()
	recs, _, err := h.db.FindRecords(context.Background(), engine.RecordFilter{Limit: 1000})
	if err != nil {
		h.t.Fatal(err)
	}
	return recs
}

func fmtErr(err error) string {
	if err == nil {
		return "<nil>"
	}
	return fmt.Sprint(err)
}

func newGet(path string) *http.Request { return httptest.NewRequest("GET", path, nil) }

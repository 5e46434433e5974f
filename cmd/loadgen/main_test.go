package main

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"heshen/engine"
)

func TestResize(t *testing.T) {
	src := image.NewRGBA(image.Rect(0, 0, 1000, 500))
	for y := range 500 {
		for x := range 1000 {
			src.Set(x, y, color.RGBA{uint8(x), uint8(y), 0, 255})
		}
	}
	var buf bytes.Buffer
	jpeg.Encode(&buf, src, nil)
	out, err := resize(buf.Bytes(), "640x480")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(out))
	if err != nil || cfg.Width != 640 || cfg.Height != 480 {
		t.Fatalf("got %+v %v", cfg, err)
	}
	if _, err := resize(buf.Bytes(), "640"); err == nil {
		t.Error("accepted a bad size")
	}
}

// A run against a stub server that checks each signature: counts, codes
// and memory samples come back.
func TestRun(t *testing.T) {
	seen := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" {
			w.Write([]byte("process_resident_memory_bytes 1.048576e+08\ngo_memstats_heap_inuse_bytes 2097152\n"))
			return
		}
		a, err := engine.ParseTC3Authorization(r.Header.Get("Authorization"))
		if err != nil || seen[a.Signature] {
			w.Write([]byte(`{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure"},"RequestId":"x"}}`))
			return
		}
		seen[a.Signature] = true
		w.Write([]byte(`{"Response":{"Sim":90,"Result":"Success","RequestId":"x"}}`))
	}))
	defer srv.Close()
	l := &load{endpoint: strings.TrimPrefix(srv.URL, "http://"), secretID: "AKID", secretKey: "k", imgs: []string{"AAAA"}, client: srv.Client()}
	s := l.run(1, 10*time.Second, 20, time.Hour)
	if s.Requests != 20 || s.Codes["Success"] != 20 || len(s.Memory) != 2 || s.Memory[0].RSSMiB != 100 || s.P99Ms <= 0 {
		t.Fatalf("summary %+v", s)
	}
}

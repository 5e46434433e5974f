// Command loadgen drives a Heshen server's ImageRecognition with signed
// requests from concurrent clients and reports throughput, latency
// percentiles, result codes and the server's memory over time (read from
// its /metrics). It only talks to the endpoint it is given, and stops by
// itself after -duration or -requests.
//
//	go run ./cmd/loadgen -endpoint 127.0.0.1:8080 -secret-id AKID... -secret-key ... \
//	    -id 11010519491231002X -name 演示用户 -photos a.jpg,b.jpg -clients 8 -duration 60s
package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/jpeg"
	_ "image/png"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"heshen/engine"
)

func main() {
	endpoint := flag.String("endpoint", "127.0.0.1:8080", "server HOST:PORT (http)")
	secretID := flag.String("secret-id", "", "SecretId")
	secretKey := flag.String("secret-key", "", "SecretKey")
	id := flag.String("id", "11010519491231002X", "IdCard of the gallery identity")
	name := flag.String("name", "演示用户", "Name of the gallery identity")
	photos := flag.String("photos", "", "comma-separated photos of that person; each is cropped and scaled to -size")
	size := flag.String("size", "640x480", "photo size sent (WxH); empty sends the photos as they are")
	clients := flag.Int("clients", 8, "concurrent clients")
	duration := flag.Duration("duration", 60*time.Second, "how long to run")
	requests := flag.Int("requests", 0, "stop after this many requests (0: -duration decides)")
	memEvery := flag.Duration("mem-every", 10*time.Second, "how often to sample the server's memory")
	out := flag.String("json", "", "also write the summary as JSON to this file")
	flag.Parse()
	if *secretID == "" || *secretKey == "" || *photos == "" {
		fmt.Fprintln(os.Stderr, "loadgen: -secret-id, -secret-key and -photos are required")
		os.Exit(2)
	}
	var imgs []string
	for _, p := range strings.Split(*photos, ",") {
		b, err := os.ReadFile(p)
		if err != nil {
			fatal(err)
		}
		if *size != "" {
			if b, err = resize(b, *size); err != nil {
				fatal(fmt.Errorf("%s: %w", p, err))
			}
		}
		imgs = append(imgs, base64.StdEncoding.EncodeToString(b))
	}
	l := &load{endpoint: *endpoint, secretID: *secretID, secretKey: *secretKey, id: *id, name: *name, imgs: imgs,
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: *clients}}}
	s := l.run(*clients, *duration, *requests, *memEvery)
	s.print(os.Stdout)
	if *out != "" {
		b, _ := json.MarshalIndent(s, "", "  ")
		if err := os.WriteFile(*out, b, 0o644); err != nil {
			fatal(err)
		}
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "loadgen:", err)
	os.Exit(1)
}

// resize centre-crops to the target aspect and scales (bilinear) to WxH.
func resize(b []byte, size string) ([]byte, error) {
	ws, hs, ok := strings.Cut(size, "x")
	w, err1 := strconv.Atoi(ws)
	h, err2 := strconv.Atoi(hs)
	if !ok || err1 != nil || err2 != nil || w <= 0 || h <= 0 {
		return nil, fmt.Errorf("bad -size %q", size)
	}
	src, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	sb := src.Bounds()
	cw, ch := sb.Dx(), sb.Dy()
	if cw*h > ch*w {
		cw = ch * w / h
	} else {
		ch = cw * h / w
	}
	x0, y0 := sb.Min.X+(sb.Dx()-cw)/2, sb.Min.Y+(sb.Dy()-ch)/2
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		fy := float64(y0) + (float64(y)+0.5)*float64(ch)/float64(h) - 0.5
		for x := range w {
			fx := float64(x0) + (float64(x)+0.5)*float64(cw)/float64(w) - 0.5
			dst.Set(x, y, bilinear(src, fx, fy))
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, dst, &jpeg.Options{Quality: 90}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

type rgba struct{ r, g, b uint32 }

func (c rgba) RGBA() (r, g, b, a uint32) { return c.r, c.g, c.b, 0xffff }

func bilinear(img image.Image, fx, fy float64) rgba {
	b := img.Bounds()
	clamp := func(v, lo, hi int) int { return max(lo, min(v, hi)) }
	x0, y0 := int(fx), int(fy)
	ax, ay := fx-float64(x0), fy-float64(y0)
	var out [3]float64
	for _, p := range [4]struct {
		x, y int
		w    float64
	}{{x0, y0, (1 - ax) * (1 - ay)}, {x0 + 1, y0, ax * (1 - ay)}, {x0, y0 + 1, (1 - ax) * ay}, {x0 + 1, y0 + 1, ax * ay}} {
		r, g, bl, _ := img.At(clamp(p.x, b.Min.X, b.Max.X-1), clamp(p.y, b.Min.Y, b.Max.Y-1)).RGBA()
		out[0] += p.w * float64(r)
		out[1] += p.w * float64(g)
		out[2] += p.w * float64(bl)
	}
	return rgba{uint32(out[0]), uint32(out[1]), uint32(out[2])}
}

type load struct {
	endpoint, secretID, secretKey, id, name string
	imgs                                    []string
	client                                  *http.Client
	seq                                     atomic.Int64
}

// call sends one signed ImageRecognition; Optional carries a sequence
// number so no two requests share a signature (the server refuses replays).
func (l *load) call() (string, time.Duration, error) {
	n := l.seq.Add(1)
	body, _ := json.Marshal(map[string]string{"IdCard": l.id, "Name": l.name,
		"ImageBase64": l.imgs[int(n)%len(l.imgs)], "Optional": strconv.FormatInt(n, 10)})
	ts := time.Now().Unix()
	sig := engine.TC3Request{Method: "POST", Headers: map[string]string{"content-type": "application/json", "host": l.endpoint},
		Signed: []string{"content-type", "host"}, Payload: body, Timestamp: ts, Service: "faceid"}
	req, err := http.NewRequest("POST", "http://"+l.endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return "", 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-TC-Action", "ImageRecognition")
	req.Header.Set("X-TC-Version", "2018-03-01")
	req.Header.Set("X-TC-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("Authorization", sig.Authorization(l.secretID, l.secretKey))
	t0 := time.Now()
	resp, err := l.client.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	var r struct {
		Response struct {
			Error  *struct{ Code string }
			Result string
		}
	}
	err = json.NewDecoder(resp.Body).Decode(&r)
	d := time.Since(t0)
	if err != nil {
		return "", d, err
	}
	if r.Response.Error != nil {
		return r.Response.Error.Code, d, nil
	}
	return r.Response.Result, d, nil
}

// MemSample is the server's resident memory at a moment of the run.
type MemSample struct {
	AtS      float64 `json:"at_s"`
	RSSMiB   float64 `json:"rss_mib"`
	HeapMiB  float64 `json:"go_heap_mib"`
	Requests int64   `json:"requests"`
}

// Summary is the run's result.
type Summary struct {
	Clients    int            `json:"clients"`
	Requests   int            `json:"requests"`
	Errors     int            `json:"transport_errors"`
	Seconds    float64        `json:"seconds"`
	Throughput float64        `json:"requests_per_s"`
	P50Ms      float64        `json:"p50_ms"`
	P90Ms      float64        `json:"p90_ms"`
	P99Ms      float64        `json:"p99_ms"`
	MaxMs      float64        `json:"max_ms"`
	Codes      map[string]int `json:"codes"`
	Memory     []MemSample    `json:"memory"`
}

func (l *load) run(clients int, dur time.Duration, limit int, memEvery time.Duration) *Summary {
	var mu sync.Mutex
	var lat []time.Duration
	codes := map[string]int{}
	errs := 0
	start := time.Now()
	deadline := start.Add(dur)
	var done atomic.Int64
	stop := make(chan struct{})
	var memWG sync.WaitGroup
	var mem []MemSample
	memWG.Add(1)
	go func() {
		defer memWG.Done()
		tick := time.NewTicker(memEvery)
		defer tick.Stop()
		sample := func() {
			if m, ok := l.memory(); ok {
				m.AtS, m.Requests = time.Since(start).Seconds(), done.Load()
				mem = append(mem, m)
			}
		}
		sample()
		for {
			select {
			case <-stop:
				sample()
				return
			case <-tick.C:
				sample()
			}
		}
	}()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				if limit > 0 && int(done.Add(1)) > limit {
					return
				}
				code, d, err := l.call()
				if limit <= 0 {
					done.Add(1)
				}
				mu.Lock()
				if err != nil {
					errs++
				} else {
					lat = append(lat, d)
					codes[code]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stop)
	memWG.Wait()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	s := &Summary{Clients: clients, Requests: len(lat), Errors: errs, Seconds: elapsed.Seconds(),
		Throughput: float64(len(lat)) / elapsed.Seconds(), P50Ms: pct(0.50), P90Ms: pct(0.90), P99Ms: pct(0.99), Codes: codes, Memory: mem}
	if len(lat) > 0 {
		s.MaxMs = float64(lat[len(lat)-1].Microseconds()) / 1000
	}
	return s
}

// memory reads process_resident_memory_bytes and go_memstats_heap_inuse_bytes.
func (l *load) memory() (MemSample, bool) {
	resp, err := l.client.Get("http://" + l.endpoint + "/metrics")
	if err != nil {
		return MemSample{}, false
	}
	defer resp.Body.Close()
	var m MemSample
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 4<<20))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "process_resident_memory_bytes":
			m.RSSMiB = v / (1 << 20)
		case "go_memstats_heap_inuse_bytes":
			m.HeapMiB = v / (1 << 20)
		}
	}
	return m, m.RSSMiB > 0
}

func (s *Summary) print(w io.Writer) {
	fmt.Fprintf(w, "clients %d, %d requests in %.1f s: %.1f req/s, transport errors %d\n", s.Clients, s.Requests, s.Seconds, s.Throughput, s.Errors)
	fmt.Fprintf(w, "latency ms: p50 %.1f  p90 %.1f  p99 %.1f  max %.1f\n", s.P50Ms, s.P90Ms, s.P99Ms, s.MaxMs)
	fmt.Fprintf(w, "codes: %v\n", s.Codes)
	for _, m := range s.Memory {
		fmt.Fprintf(w, "memory at %6.0f s: RSS %.1f MiB, Go heap %.1f MiB (%d requests)\n", m.AtS, m.RSSMiB, m.HeapMiB, m.Requests)
	}
}

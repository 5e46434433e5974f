package capture_test

import (
	"context"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"heshen/engine"
	"heshen/engine/capture"
	"heshen/engine/vision"
)

// TestLoad measures how many concurrent sessions the machine sustains:
// HESHEN_LOAD=1,2,3,4 go test -run TestLoad -v ./engine/capture/
// Each session is an in-process VP8 sender (no browser encoding on the
// same cores) and an analysis loop on one shared face engine.
func TestLoad(t *testing.T) {
	spec := os.Getenv("HESHEN_LOAD")
	if spec == "" {
		t.Skip("set HESHEN_LOAD=1,2,3 to measure")
	}
	ivf := makeIVF(t, 4)
	fe, err := vision.Open(vision.Options{})
	if err != nil {
		t.Skip(err)
	}
	defer fe.Close()
	for _, f := range splitInts(spec) {
		srv := newServer(t, capture.Options{})
		const dur = 10 * time.Second
		var wg sync.WaitGroup
		counts := make([]int, f)
		var decoded, decodeCPU int64
		var mu sync.Mutex
		var ru0, ru1 syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
		for i := range f {
			p := newPeer(t, false)
			ans, sess, err := srv.Answer(context.Background(), p.offer(t))
			if err != nil {
				t.Fatal(err)
			}
			p.answer(t, ans)
			ctx, cancel := context.WithTimeout(context.Background(), dur+2*time.Second)
			go p.play(ctx, ivf)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer cancel()
				start := time.Time{}
				for {
					fr, err := sess.Next(ctx)
					if err != nil {
						return
					}
					if start.IsZero() {
						start = time.Now()
					}
					if time.Since(start) > dur {
						break
					}
					if _, err := fe.AnalyzeFrame(ctx, fr, engine.AnalyzeOptions{Liveness: true, Pose: true}); err == nil {
						counts[i]++
					}
				}
				st := sess.Stats()
				mu.Lock()
				decoded += st.Decoded
				decodeCPU += st.DecodeCPU.Microseconds()
				mu.Unlock()
				sess.Close()
			}()
		}
		wg.Wait()
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
		cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
		total := 0
		minFPS := 1e9
		for _, c := range counts {
			total += c
			minFPS = min(minFPS, float64(c)/dur.Seconds())
		}
		t.Logf("%d sessions: analysed %.1f frames/s in total, slowest session %.1f/s; decoded %d (%.2f ms CPU each); process CPU %.0f%% of one core",
			f, float64(total)/dur.Seconds(), minFPS, decoded, float64(decodeCPU)/1000/float64(max(decoded, 1)), 100*cpu.Seconds()/dur.Seconds())
	}
}

func splitInts(s string) []int {
	var out []int
	n := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			out = append(out, n)
			n = 0
			continue
		}
		d, _ := strconv.Atoi(s[i : i+1])
		n = n*10 + d
	}
	return out
}

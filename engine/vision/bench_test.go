package vision

import (
	"context"
	"image"
	"syscall"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"heshen/engine"
)

// benchStages analyses one photo per iteration with every model and reports
// the median milliseconds of each stage.
func benchStages(b *testing.B, data []byte) {
	e, err := Open(Options{Workers: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	opt := engine.AnalyzeOptions{Policy: engine.PickLargest, Liveness: true, Pose: true, Eyes: true}
	sums := map[string][]float64{}
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		a, err := e.Analyze(context.Background(), data, opt)
		if err != nil || a.Face() == nil {
			b.Fatalf("analyze: %v", err)
		}
		for _, s := range a.Stages {
			sums[s.Name] = append(sums[s.Name], s.Ms)
		}
	}
	for name, v := range sums {
		b.ReportMetric(medianOf(v), name+"-ms")
	}
	b.ReportMetric((cpuTime()-cpu0).Seconds()*1000/float64(b.N), "cpu-ms/op")
}

func medianOf(v []float64) float64 {
	s := append([]float64(nil), v...)
	for i := range s { // insertion sort: a few dozen values
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s[len(s)/2]
}

func BenchmarkStages250x250(b *testing.B) { benchStages(b, read(b, "Colin_Powell_0001.jpg")) }

func BenchmarkStages1920x1080(b *testing.B) { benchStages(b, read(b, "obama-1080p.jpg")) }

// resized re-encodes a test photo at exactly w×h: the largest centred crop
// of that aspect ratio, scaled (squashing a face would change who it is).
func resized(b *testing.B, name string, w, h int) []byte {
	m, err := gocv.IMDecode(read(b, name), gocv.IMReadColor)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	cw, ch := m.Cols(), m.Cols()*h/w
	if ch > m.Rows() {
		cw, ch = m.Rows()*w/h, m.Rows()
	}
	x0, y0 := (m.Cols()-cw)/2, (m.Rows()-ch)/2
	crop := m.Region(image.Rect(x0, y0, x0+cw, y0+ch))
	defer crop.Close()
	r := gocv.NewMat()
	defer r.Close()
	gocv.Resize(crop, &r, image.Pt(w, h), 0, 0, gocv.InterpolationArea)
	buf, err := gocv.IMEncode(gocv.JPEGFileExt, r)
	if err != nil {
		b.Fatal(err)
	}
	defer buf.Close()
	return append([]byte(nil), buf.GetBytes()...)
}

// BenchmarkCompare640x480 is a whole compare on one core: decode, detect,
// landmarks and embed both photos, then Sim.
func BenchmarkCompare640x480(b *testing.B) {
	e, err := Open(Options{Workers: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	pa := resized(b, "obama-480p.jpg", 640, 480)
	pb := resized(b, "obama2.jpg", 640, 480)
	opt := engine.AnalyzeOptions{Policy: engine.PickLargest}
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		a1, err1 := e.Analyze(context.Background(), pa, opt)
		a2, err2 := e.Analyze(context.Background(), pb, opt)
		if err1 != nil || err2 != nil || a1.Face() == nil || a2.Face() == nil {
			b.Fatal(err1, err2)
		}
		if engine.Sim(a1.Face().Embedding, a2.Face().Embedding) < engine.SimPass {
			b.Fatal("same person below the pass mark")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/compare")
	// CPU time is what "one core" means on a shared machine: wall time
	// includes waiting for other processes.
	b.ReportMetric((cpuTime()-cpu0).Seconds()*1000/float64(b.N), "cpu-ms/compare")
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

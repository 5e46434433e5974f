package vision

import (
	"fmt"

	"gocv.io/x/gocv"
)

// netSpec fixes a model's input and output shapes in code. OpenCV aborts the
// whole process when a tensor has the wrong shape, so every forward pass
// checks its blob against the spec first and its outputs after.
type netSpec struct {
	name    string
	in      []int    // NCHW
	outs    []string // output names ("" = the default output)
	outSize []int    // element count of each output
}

var (
	specDetect   = netSpec{"fr_detect", []int{1, 3, 240, 320}, []string{"boxes", "scores"}, []int{4420 * 4, 4420 * 2}}
	specLandmark = netSpec{"fr_landmark", []int{1, 1, 64, 64}, []string{""}, []int{136}}
	specFeature  = netSpec{"fr_feature", []int{1, 3, 112, 112}, []string{""}, []int{512}}
	specLiveness = netSpec{"fr_liveness", []int{1, 3, 128, 128}, []string{""}, []int{3}}
	specEye      = netSpec{"fr_eye", []int{1, 1, 24, 24}, []string{""}, []int{2}}
	specPose     = netSpec{"fr_pose", []int{1, 3, 224, 224}, []string{"output", "617", "618"}, []int{66, 66, 66}}
)

// net is one loaded model with its spec. Not safe for concurrent use.
type net struct {
	spec netSpec
	n    gocv.Net
}

// nets is one full pipeline; the engine pools one per worker.
type nets struct {
	detect, landmark, feature, liveness, eye, pose *net
}

func openNets(models map[string][]byte) (*nets, error) {
	ns := &nets{}
	for _, x := range []struct {
		dst  **net
		spec netSpec
	}{
		{&ns.detect, specDetect}, {&ns.landmark, specLandmark}, {&ns.feature, specFeature},
		{&ns.liveness, specLiveness}, {&ns.eye, specEye}, {&ns.pose, specPose},
	} {
		if !onnxLoadable(models[x.spec.name]) {
			ns.close()
			return nil, fmt.Errorf("read model %s: not a model OpenCV can load", x.spec.name)
		}
		n, err := gocv.ReadNetFromONNXBytes(models[x.spec.name])
		if err != nil || n.Empty() {
			ns.close()
			return nil, fmt.Errorf("read model %s: %v", x.spec.name, err)
		}
		*x.dst = &net{spec: x.spec, n: n}
	}
	// One forward pass each on a blank input proves the graph matches the spec.
	for _, nt := range ns.all() {
		if _, err := nt.run(make([]float32, prod(nt.spec.in))); err != nil {
			ns.close()
			return nil, err
		}
	}
	return ns, nil
}

func (ns *nets) all() []*net {
	return []*net{ns.detect, ns.landmark, ns.feature, ns.liveness, ns.eye, ns.pose}
}

func (ns *nets) close() {
	for _, nt := range ns.all() {
		if nt != nil {
			nt.n.Close()
		}
	}
}

func prod(s []int) int {
	p := 1
	for _, v := range s {
		p *= v
	}
	return p
}

// run feeds a flat NCHW float32 input and returns copies of the outputs.
func (nt *net) run(input []float32) ([][]float32, error) {
	if len(input) != prod(nt.spec.in) {
		return nil, fmt.Errorf("%s: input has %d values, want %v", nt.spec.name, len(input), nt.spec.in)
	}
	blob := gocv.NewMatWithSizes(nt.spec.in, gocv.MatTypeCV32F)
	defer blob.Close()
	dst, err := blob.DataPtrFloat32()
	if err != nil || len(dst) != len(input) {
		return nil, fmt.Errorf("%s: blob allocation failed", nt.spec.name)
	}
	copy(dst, input)
	if got := blob.Size(); !equalInts(got, nt.spec.in) {
		return nil, fmt.Errorf("%s: blob shape %v, want %v", nt.spec.name, got, nt.spec.in)
	}
	nt.n.SetInput(blob, "")
	var outs []gocv.Mat
	if len(nt.spec.outs) == 1 && nt.spec.outs[0] == "" {
		outs = []gocv.Mat{nt.n.Forward("")}
	} else {
		outs = nt.n.ForwardLayers(nt.spec.outs)
	}
	defer func() {
		for i := range outs {
			outs[i].Close()
		}
	}()
	if len(outs) != len(nt.spec.outSize) {
		return nil, fmt.Errorf("%s: %d outputs, want %d", nt.spec.name, len(outs), len(nt.spec.outSize))
	}
	res := make([][]float32, len(outs))
	for i, o := range outs {
		if o.Empty() || o.Total() != nt.spec.outSize[i] || o.Type() != gocv.MatTypeCV32F {
			return nil, fmt.Errorf("%s: output %d has %d values, want %d", nt.spec.name, i, o.Total(), nt.spec.outSize[i])
		}
		p, err := o.DataPtrFloat32()
		if err != nil {
			return nil, fmt.Errorf("%s: output %d: %v", nt.spec.name, i, err)
		}
		res[i] = append([]float32(nil), p...)
	}
	return res, nil
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

package vision

/*
#cgo !windows pkg-config: opencv4
#cgo CXXFLAGS: --std=c++11
#include <stdlib.h>
#include "threads.h"
*/
import "C"

import "unsafe"

// setCVThreads sets OpenCV's internal parallelism. The engine runs one
// pipeline per core from its own pool, so each forward pass stays on one
// thread instead of fighting the others for the cores.
func setCVThreads(n int) { C.heshen_set_num_threads(C.int(n)) }

// onnxLoadable reports whether OpenCV can parse the model, without letting
// its exception abort the process.
func onnxLoadable(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	p := C.CBytes(b)
	defer C.free(p)
	return C.heshen_check_onnx((*C.char)(unsafe.Pointer(p)), C.size_t(len(b))) == 1
}

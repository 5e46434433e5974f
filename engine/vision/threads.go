package vision

/*
#cgo !windows pkg-config: opencv4
#cgo CXXFLAGS: --std=c++11
#include "threads.h"
*/
import "C"

// setCVThreads sets OpenCV's internal parallelism. The engine runs one
// pipeline per core from its own pool, so each forward pass stays on one
// thread instead of fighting the others for the cores.
func setCVThreads(n int) { C.heshen_set_num_threads(C.int(n)) }

//go:build !unix

package gemm

import "time"

// cpuTime is unknown here; benchmarks then report wall-clock GFLOPS only.
func cpuTime() time.Duration { return 0 }

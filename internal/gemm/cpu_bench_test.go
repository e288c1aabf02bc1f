package gemm

import (
	"testing"
	"time"
)

func reportFlops(b *testing.B, flops float64, cpu0 time.Duration) {
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
	if d := cpuTime() - cpu0; d > 0 && cpu0 > 0 {
		b.ReportMetric(flops*float64(b.N)/d.Seconds()/1e9, "GFLOP/cpu-s")
	}
}

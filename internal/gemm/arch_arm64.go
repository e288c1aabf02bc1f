package gemm

import "github.com/ingotml/ingot/internal/cpufeat"

// kernNEON is the arm64 micro-kernel (kernel_neon_arm64.s, gen_kernels.go).
//
//go:noescape
func kernNEON(kc int, a, b, c *float32, ldc int, alpha, beta float32, load, mr, nr int)

// archImpl returns the arm64 kernel set.
//
// NEON: an 8×12 tile uses 24 of the 32 q registers as accumulators (Apple
// cores have four 4-cycle FMA pipes, so 16 chains are needed), with
// by-element FMLA so each k step loads only 2 A and 3 B vectors. KC = 512
// keeps the A micro-panel (16 KiB) well inside the 64–128 KiB L1D; NC = 480
// makes the B block 960 KiB, a fraction of the large shared L2 of Apple
// parts and under the 1 MiB L2 of common arm64 servers.
func archImpl(p cpufeat.Path) *impl {
	if p == cpufeat.NEON {
		return &impl{path: p, mr: 8, nr: 12, kc: 512, nc: 480, mcL3: 4096,
			kern: kernNEON, small: 64 * 64 * 64}
	}
	return nil
}

func packB64(dst, src *float32, ldb, kc, np int) { panic("gemm: packB64 is amd64-only") }
func packBT64(dst, src *float32, ldb, kc int)    { panic("gemm: packBT64 is amd64-only") }

package gemm

import "github.com/ingotml/ingot/internal/cpufeat"

//go:generate go run gen_kernels.go

// Assembly micro-kernels (kernel_*_amd64.s, written by gen_kernels.go).
//
//go:noescape
func kernAVX512(kc int, a, b, c *float32, ldc int, alpha, beta float32, load, mr, nr int)

//go:noescape
func packB64(dst, src *float32, ldb, kc, np int)

//go:noescape
func packBT64(dst, src *float32, ldb, kc int)

//go:noescape
func kernAVX2(kc int, a, b, c *float32, ldc int, alpha, beta float32, load, mr, nr int)

// smallAVX512 is the m·n·k below which a call runs on the calling goroutine
// alone. Measured here (2 shared Zen 5 cores, per-call medians): one thread
// does 128³ in 25 µs (~170 GFLOPS) while handing half to a worker cost more
// than it saved up to ~384³, because waking a parked worker on a busy
// machine takes tens of µs; 192³ keeps small calls and the LSTM-step sizes
// on one thread and splits everything bigger.
const smallAVX512 = 192 * 192 * 192

// archImpl returns the amd64 kernel sets.
//
// AVX-512 (tuned on AMD Zen 5: 48 KiB L1D, 1 MiB L2 per core): a 6×64 tile
// uses 24 of the 32 zmm registers as accumulators — far more than the 8
// independent FMA chains two 4-cycle FMA pipes need — and per k step loads
// 4 B vectors and 6 A broadcasts for 24 FMAs, well inside the load ports.
// KC = 384 keeps the A micro-panel (6·384·4 = 9 KiB) in L1 beside the
// streamed B lines; NC = 320 makes the packed B block 384·320·4 = 480 KiB,
// half of L2, so it survives the sweep over all A micro-panels. Measured on
// this machine, the kernel alone on L1/L2-resident panels reaches the same
// GFLOPS per CPU-second as a bare FMA loop over the same registers (about
// 190, the two cores being shared), so the tile is FMA-bound, not load- or
// broadcast-bound. B panels of 64 columns are packed in assembly (a copy,
// or 16×16 register transposes for op(B) = Bᵀ).
//
// AVX2 (16 ymm registers): the classic 6×16 tile, 12 accumulators; KC = 256,
// NC = 512 (B block 512 KiB) for the common 1–2 MiB L2 parts.
func archImpl(p cpufeat.Path) *impl {
	switch p {
	case cpufeat.AVX512:
		return &impl{path: p, mr: 6, nr: 64, kc: 384, nc: 320, mcL3: 4096,
			partial: true, kern: kernAVX512, packB64: true, small: smallAVX512,
			narrow: archImpl(cpufeat.AVX2)} // every AVX-512 CPU has AVX2 and FMA
	case cpufeat.AVX2:
		return &impl{path: p, mr: 6, nr: 16, kc: 256, nc: 512, mcL3: 4096,
			kern: kernAVX2, small: 96 * 96 * 96}
	}
	return nil
}

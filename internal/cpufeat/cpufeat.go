// Package cpufeat chooses the CPU kernel path (the instruction set the
// assembly kernels of internal/gemm and internal/vmath use) from the CPU's
// features, and lets INGOT_CPU force one for tests and benchmarks.
package cpufeat

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/cpu"
)

// Path is a family of CPU kernels.
type Path string

// The kernel paths, fastest first on their architectures.
const (
	AVX512     Path = "avx512"     // amd64 AVX-512F (+DQ/BW/VL)
	AVX2       Path = "avx2"       // amd64 AVX2 + FMA
	NEON       Path = "neon"       // arm64 Advanced SIMD
	Accelerate Path = "accelerate" // darwin: Apple's Accelerate (GEMM only)
	Generic    Path = "generic"    // portable Go
)

// Available lists the paths this CPU can run, best first.
func Available() []Path {
	var ps []Path
	switch runtime.GOARCH {
	case "amd64":
		if cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL {
			ps = append(ps, AVX512)
		}
		if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
			ps = append(ps, AVX2)
		}
	case "arm64":
		if runtime.GOOS == "darwin" {
			ps = append(ps, Accelerate)
		}
		ps = append(ps, NEON) // Advanced SIMD is mandatory on arm64
	}
	return append(ps, Generic)
}

// Features names the SIMD features detected, for `ingot info`.
func Features() []string {
	var fs []string
	switch runtime.GOARCH {
	case "amd64":
		for _, f := range []struct {
			name string
			ok   bool
		}{{"AVX", cpu.X86.HasAVX}, {"AVX2", cpu.X86.HasAVX2}, {"FMA", cpu.X86.HasFMA},
			{"AVX-512F", cpu.X86.HasAVX512F}, {"AVX-512DQ", cpu.X86.HasAVX512DQ},
			{"AVX-512BW", cpu.X86.HasAVX512BW}, {"AVX-512VL", cpu.X86.HasAVX512VL}} {
			if f.ok {
				fs = append(fs, f.name)
			}
		}
	case "arm64":
		fs = append(fs, "NEON")
		if cpu.ARM64.HasASIMDHP {
			fs = append(fs, "FP16")
		}
	}
	return fs
}

// Has reports whether p is available on this CPU.
func Has(p Path) bool {
	for _, a := range Available() {
		if a == p {
			return true
		}
	}
	return false
}

// Choose returns the path to use: INGOT_CPU if set (an error if this CPU
// cannot run it), else the best available one. Packages call it once at init.
func Choose() (Path, error) {
	if s := os.Getenv("INGOT_CPU"); s != "" {
		p := Path(s)
		if !Has(p) {
			return Best(), fmt.Errorf("INGOT_CPU=%s: this CPU supports only %v", s, Available())
		}
		return p, nil
	}
	return Best(), nil
}

// Best is the fastest available path.
func Best() Path { return Available()[0] }

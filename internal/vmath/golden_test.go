package vmath

import (
	"hash/fnv"
	"math"
	"os"
	"testing"

	"github.com/ingotml/ingot/internal/cpufeat"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// simdGolden holds FNV-64a hashes of each kernel's output bits over a
// sample of its range (NaNs canonicalised), computed on AVX-512. Every SIMD
// path must reproduce them exactly: this is what carries the accuracy
// measurement from AVX-512 to AVX2 and, run under qemu-aarch64, to NEON.
// Regenerate with INGOT_VMATH_GOLDEN=print after changing a kernel.
var simdGolden = map[string]uint64{
	"Exp":      0xa589d55a785c617d,
	"Log":      0x2c711b7012a0df5e,
	"Log1p":    0x466238321f3fb35c,
	"Tanh":     0x569ace4f540c758d,
	"Sigmoid":  0x846b811471aff2ec,
	"Softplus": 0xd582552fe5a4cd1b,
}

func outputHash(f func(dst, x []float32), lo, hi float64) uint64 {
	h := fnv.New64a()
	var b [4]byte
	sweep(lo, hi, 10007, func(xs []float32) {
		out := make([]float32, len(xs))
		f(out, xs)
		for _, v := range out {
			u := math.Float32bits(v)
			if v != v {
				u = 0x7fc00000
			}
			b[0], b[1], b[2], b[3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
			h.Write(b[:])
		}
	})
	return h.Sum64()
}

func TestSIMDGolden(t *testing.T) {
	orig := Path()
	defer func() { require.NoError(t, SetPath(orig)) }()
	for _, p := range builtPaths() {
		if p == cpufeat.Generic {
			continue
		}
		require.NoError(t, SetPath(p))
		for _, c := range unaryCases {
			got := outputHash(c.f, c.lo, c.hi)
			if os.Getenv("INGOT_VMATH_GOLDEN") == "print" {
				t.Logf("%s: %q: %#x,", p, c.name, got)
				continue
			}
			assert.Equal(t, simdGolden[c.name], got, "%s on %s differs from the AVX-512 results", c.name, p)
		}
	}
}

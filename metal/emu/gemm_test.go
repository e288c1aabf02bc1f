package emu

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ingotml/ingot/metal/driver"
)

// TestGemmTile runs a steel-style tiled GEMM (threadgroup staging, barriers
// in a loop, simdgroup matrices from threadgroup memory, edge handling) on
// odd shapes against a float64 reference.
func TestGemmTile(t *testing.T) {
	d := openWith(t, "gemm.metal")
	r := rand.New(rand.NewSource(7))
	shapes := []struct{ M, N, K, tile int }{
		{1, 1, 1, 32}, {33, 17, 29, 32}, {64, 64, 16, 64}, {70, 65, 40, 64}, {5, 100, 3, 32},
	}
	for _, s := range shapes {
		A, B, C := newBuf(t, d, 4*s.M*s.K), newBuf(t, d, 4*s.K*s.N), newBuf(t, d, 4*s.M*s.N)
		a, b := floats(A), floats(B)
		for i := range a {
			a[i] = float32(r.NormFloat64())
		}
		for i := range b {
			b[i] = float32(r.NormFloat64())
		}
		name := "gemm_32x32"
		if s.tile == 64 {
			name = "gemm_64x64"
		}
		groups := sz((s.N+s.tile-1)/s.tile, (s.M+s.tile-1)/s.tile, 1)
		require.NoError(t, dispatch(t, d, name, groups, sz(128, 1, 1), nil,
			driver.Arg{Buffer: A}, driver.Arg{Buffer: B}, driver.Arg{Buffer: C}, driver.Arg{Bytes: words(uint32(s.M), uint32(s.N), uint32(s.K))}))
		c := floats(C)
		for i := 0; i < s.M; i++ {
			for j := 0; j < s.N; j++ {
				var ref, mag float64
				for k := 0; k < s.K; k++ {
					p := float64(a[i*s.K+k]) * float64(b[k*s.N+j])
					ref += p
					mag += math.Abs(p)
				}
				// fp32 accumulation of K products: |error| <= K * 2^-24 * sum|a_k b_k| (plus slack)
				tol := 2*float64(s.K)*math.Pow(2, -24)*mag + 1e-6
				if !assert.InDelta(t, ref, c[i*s.N+j], tol, "%v C[%d,%d]", s, i, j) {
					return
				}
			}
		}
	}
	p, err := d.Pipeline("gemm_64x64")
	require.NoError(t, err)
	// As 64*20 + Bs 16*68 + Cs 4*64 floats
	assert.Equal(t, 4*(64*20+16*68+4*64), p.StaticThreadgroupMemoryLength())
}

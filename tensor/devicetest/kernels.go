package devicetest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ingotml/ingot/tensor"
	"github.com/stretchr/testify/require"
)

// kernelCases call kernels directly, for parameters no op reaches.
func kernelCases() []Case {
	return []Case{
		{Name: "kernel/gemm", Kernels: []string{"gemm"}, Run: gemmCase},
		{Name: "kernel/scatter_add", Kernels: []string{"scatter_add"}, Run: scatterCase},
		{Name: "kernel/rand", Kernels: []string{"rand"}, Run: randCase},
		{Name: "kernel/cast", Kernels: []string{"cast"}, Run: castCase},
		{Name: "kernel/fill", Kernels: []string{"fill"}, Run: fillCase},
		{Name: "kernel/copy", Kernels: []string{"copy"}, Run: copyCase},
	}
}

func randFloats(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.Float64()*2 - 1)
	}
	return v
}

// gemmCase checks C = αop(A)op(B) + βC for all transposes, odd sizes,
// padded leading dimensions, batches with broadcast operands, and β = 0
// ignoring NaN in C.
func gemmCase(t *testing.T, d tensor.Device) {
	r := rand.New(rand.NewPCG(2, 3))
	sizes := [][3]int{{1, 1, 1}, {7, 1, 3}, {1, 67, 5}, {17, 33, 9}, {67, 7, 129}, {16, 16, 16}, {3, 5, 0}, {0, 4, 4}}
	for _, s := range sizes {
		m, n, k := s[0], s[1], s[2]
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				for _, ab := range [][2]float32{{1, 0}, {-0.5, 1}, {2, 0.25}} {
					batch, strideA := 2, 0
					ar, ac := m, k
					if ta {
						ar, ac = k, m
					}
					br, bc := k, n
					if tb {
						br, bc = n, k
					}
					lda, ldb, ldc := ac+2, bc+1, n+3
					if len(fmt.Sprint(s))%2 == 0 {
						strideA = ar * lda // else A is broadcast over the batch
					}
					strideB, strideC := br*ldb, m*ldc
					A := randFloats(r, max(1, strideA*batch, ar*lda))
					B := randFloats(r, max(1, strideB*batch))
					C := randFloats(r, max(1, strideC*batch))
					if ab[1] == 0 {
						for i := range C {
							C[i] = float32(math.NaN())
						}
					}
					ta_, tb_, tc := tensor.FromFloat32(d, A), tensor.FromFloat32(d, B), tensor.FromFloat32(d, C)
					tensor.GemmKernel.Run(d, tensor.GemmParams{TransA: ta, TransB: tb, M: m, N: n, K: k, Alpha: ab[0], Beta: ab[1],
						A: tensor.View{Buf: ta_.Buffer()}, B: tensor.View{Buf: tb_.Buffer()}, C: tensor.View{Buf: tc.Buffer()},
						LDA: lda, LDB: ldb, LDC: ldc, Batch: batch, StrideA: strideA, StrideB: strideB, StrideC: strideC})
					got := tc.Float32s()
					for bi := range batch {
						for i := range m {
							for j := range n {
								var sum, mag float64
								for p := range k {
									var av, bv float32
									if ta {
										av = A[bi*strideA+p*lda+i]
									} else {
										av = A[bi*strideA+i*lda+p]
									}
									if tb {
										bv = B[bi*strideB+j*ldb+p]
									} else {
										bv = B[bi*strideB+p*ldb+j]
									}
									sum += float64(av) * float64(bv)
									mag += math.Abs(float64(av) * float64(bv))
								}
								ci := bi*strideC + i*ldc + j
								want := float64(ab[0]) * sum
								if ab[1] != 0 {
									want += float64(ab[1]) * float64(C[ci])
								}
								// float32 accumulation: k·ε relative to Σ|a·b|.
								tol := 2*float64(k+2)*6e-8*(mag+math.Abs(float64(C[ci]))) + 1e-6
								require.InDeltaf(t, want, float64(got[ci]), tol, "m,n,k=%v ta=%v tb=%v αβ=%v batch %d C[%d,%d]", s, ta, tb, ab, bi, i, j)
							}
						}
					}
					// Padding between rows of C is untouched.
					for bi := range batch {
						for i := range m {
							for j := n; j < ldc && bi*strideC+i*ldc+j < len(C); j++ {
								ci := bi*strideC + i*ldc + j
								if !math.IsNaN(float64(C[ci])) {
									require.Equal(t, C[ci], got[ci], "padding of C changed")
								}
							}
						}
					}
					for _, x := range []*tensor.Tensor{ta_, tb_, tc} {
						x.Release()
					}
				}
			}
		}
	}
}

func scatterCase(t *testing.T, d tensor.Device) {
	rows, cols := 5, 3
	idx := []int32{4, 0, 4, 4, 2, 0}
	src := make([]float32, len(idx)*cols)
	for i := range src {
		src[i] = float32(i) * 0.5
	}
	out := tensor.Ones(d, rows, cols)
	si, ss := tensor.FromInt32(d, idx), tensor.FromFloat32(d, src)
	tensor.ScatterAddKernel.Run(d, tensor.ScatterAddParams{Out: tensor.View{Buf: out.Buffer()}, Src: tensor.View{Buf: ss.Buffer()},
		Index: tensor.View{Buf: si.Buffer()}, N: len(idx), Rows: rows, Cols: cols})
	want := make([]float32, rows*cols)
	for i := range want {
		want[i] = 1
	}
	for i, r := range idx {
		for j := range cols {
			want[int(r)*cols+j] += src[i*cols+j]
		}
	}
	require.Equal(t, want, out.Float32s())
}

// randCase: every device draws exactly tensor.RandomValue, bit for bit, and
// the distributions have the right moments.
func randCase(t *testing.T, d tensor.Device) {
	const n = 4099
	for _, c := range []struct {
		dist tensor.Dist
		a, b float32
	}{{tensor.DistUniform, -1, 3}, {tensor.DistNormal, 0.5, 2}, {tensor.DistBernoulli, 0.3, 0}} {
		out := tensor.Empty(d, tensor.Float32, n)
		const seed, stream, counter = 0x1234_5678_9abc, 7, 12
		tensor.RandKernel.Run(d, tensor.RandParams{Dist: c.dist, A: c.a, B: c.b, Seed: seed, Stream: stream, Counter: counter, Out: tensor.View{Buf: out.Buffer()}, N: n})
		got := out.Float32s()
		var mean, m2 float64
		for i, v := range got {
			want := tensor.RandomValue(c.dist, c.a, c.b, seed, stream, counter+uint64(i))
			require.Equalf(t, math.Float32bits(want), math.Float32bits(v), "dist %d element %d", c.dist, i)
			mean += float64(v)
			m2 += float64(v) * float64(v)
		}
		mean /= n
		variance := m2/n - mean*mean
		var wm, wv float64
		switch c.dist {
		case tensor.DistUniform:
			wm, wv = float64(c.a+c.b)/2, math.Pow(float64(c.b-c.a), 2)/12
		case tensor.DistNormal:
			wm, wv = float64(c.a), float64(c.b*c.b)
		case tensor.DistBernoulli:
			wm, wv = float64(c.a), float64(c.a*(1-c.a))
		}
		// Five standard errors of the mean and about 10% on the variance.
		require.InDeltaf(t, wm, mean, 5*math.Sqrt(wv/n), "mean of dist %d", c.dist)
		require.InEpsilonf(t, wv, variance, 0.1, "variance of dist %d", c.dist)
	}
	// Generators: same seed, same numbers; streams differ.
	a := tensor.NewRNG(9).Normal(d, 0, 1, 3, 5).Float32s()
	b := tensor.NewRNG(9).Normal(d, 0, 1, 3, 5).Float32s()
	c := tensor.NewRNG(9).Stream(1).Normal(d, 0, 1, 3, 5).Float32s()
	require.Equal(t, a, b)
	require.NotEqual(t, a, c)
}

func castCase(t *testing.T, d tensor.Device) {
	f := tensor.FromFloat32(d, []float32{-2.7, -0.5, 0, 0.5, 3.9, 1e6})
	require.Equal(t, []int32{-2, 0, 0, 0, 3, 1000000}, tensor.Cast(f, tensor.Int32).Int32s())
	i := tensor.FromInt32(d, []int32{-3, 0, 7, 1 << 20})
	require.Equal(t, []float32{-3, 0, 7, 1 << 20}, tensor.Cast(i, tensor.Float32).Float32s())
}

func fillCase(t *testing.T, d tensor.Device) {
	for _, n := range []int{0, 1, 7, 129, 100003} {
		v := tensor.Full(d, -1.25, n).Float32s()
		require.Len(t, v, n)
		for _, x := range v {
			require.Equal(t, float32(-1.25), x)
		}
	}
}

func copyCase(t *testing.T, d tensor.Device) {
	// A 3-D permuted, sliced view copied densely.
	src := make([]float32, 2*3*5)
	for i := range src {
		src[i] = float32(i)
	}
	x := tensor.FromFloat32(d, src, 2, 3, 5)
	v := x.Permute(2, 0, 1).Slice(0, 1, 4) // [3,2,3]
	got := v.Contiguous().Float32s()
	var want []float32
	for k := 1; k < 4; k++ {
		for i := range 2 {
			for j := range 3 {
				want = append(want, src[(i*3+j)*5+k])
			}
		}
	}
	require.Equal(t, want, got)
	// int32 data copies bit for bit.
	xi := tensor.FromInt32(d, []int32{1, 2, 3, 4, 5, 6}, 2, 3)
	require.Equal(t, []int32{1, 4, 2, 5, 3, 6}, xi.T().Contiguous().Int32s())
}

package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ingotml/ingot/internal/cpufeat"
	"github.com/ingotml/ingot/internal/parallel"
)

// eps is float32's machine epsilon (2^-23, twice the unit roundoff).
const eps = 1.0 / (1 << 23)

// Tolerance: a float32 dot product of length k, then the alpha scaling and
// the beta update, errs by at most γ_{k+2}·(|α|·Σ|a||b| + |β|·|c|) with
// γ_n ≈ n·u and u = eps/2 (Higham, Accuracy and Stability, §3.1). We allow
// (k+3)·eps times that sum, i.e. twice the worst-case bound: a real bug
// (a wrong element, a missing or duplicated k term) is orders larger.
func tolerance(k int, absSum float64) float64 {
	return float64(k+3)*eps*absSum + 1e-37
}

type testCase struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	padA, padB     int // extra leading-dimension elements
	padC           int
}

type operands struct {
	a, b, c       []float32
	lda, ldb, ldc int
}

func makeOperands(tc testCase, rng *rand.Rand) operands {
	ar, ac := tc.m, tc.k
	if tc.transA {
		ar, ac = tc.k, tc.m
	}
	br, bc := tc.k, tc.n
	if tc.transB {
		br, bc = tc.n, tc.k
	}
	o := operands{lda: ac + tc.padA, ldb: bc + tc.padB, ldc: tc.n + tc.padC}
	o.lda, o.ldb, o.ldc = max(o.lda, 1), max(o.ldb, 1), max(o.ldc, 1)
	fill := func(rows, ld int) []float32 {
		x := make([]float32, rows*ld) // padding included, so the last row's padding exists too
		for i := range x {
			x[i] = rng.Float32()*2 - 1
		}
		return x
	}
	o.a, o.b, o.c = fill(ar, o.lda), fill(br, o.ldb), fill(tc.m, o.ldc)
	if tc.beta == 0 {
		for i := range o.c {
			switch i % 3 {
			case 0:
				o.c[i] = float32(math.NaN())
			case 1:
				o.c[i] = float32(math.Inf(1))
			}
		}
	}
	return o
}

// reference computes the float64 result and the per-element tolerance.
func reference(tc testCase, o operands) (want, tol []float64) {
	want = make([]float64, tc.m*tc.n)
	tol = make([]float64, tc.m*tc.n)
	for i := range tc.m {
		for j := range tc.n {
			var s, abs float64
			for p := range tc.k {
				var av, bv float64
				if tc.transA {
					av = float64(o.a[p*o.lda+i])
				} else {
					av = float64(o.a[i*o.lda+p])
				}
				if tc.transB {
					bv = float64(o.b[j*o.ldb+p])
				} else {
					bv = float64(o.b[p*o.ldb+j])
				}
				s += av * bv
				abs += math.Abs(av * bv)
			}
			r := float64(tc.alpha) * s
			abs = math.Abs(float64(tc.alpha)) * abs
			if tc.beta != 0 {
				cv := float64(o.c[i*o.ldc+j])
				r += float64(tc.beta) * cv
				abs += math.Abs(float64(tc.beta) * cv)
			}
			want[i*tc.n+j] = r
			tol[i*tc.n+j] = tolerance(tc.k, abs)
		}
	}
	return want, tol
}

// checkCase runs one case on the current path and compares with float64,
// including that padding between rows of C is untouched.
func checkCase(t testing.TB, tc testCase, rng *rand.Rand) bool {
	o := makeOperands(tc, rng)
	want, tol := reference(tc, o)
	c0 := append([]float32(nil), o.c...)
	Sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, o.a, o.lda, o.b, o.ldb, tc.beta, o.c, o.ldc)
	for i := range tc.m {
		for j := range o.ldc {
			got := o.c[i*o.ldc+j]
			if j >= tc.n {
				if math.Float32bits(got) != math.Float32bits(c0[i*o.ldc+j]) {
					t.Errorf("%+v: padding C[%d,%d] changed from %v to %v", tc, i, j, c0[i*o.ldc+j], got)
					return false
				}
				continue
			}
			w := want[i*tc.n+j]
			if d := math.Abs(float64(got) - w); !(d <= tol[i*tc.n+j]) {
				t.Errorf("%+v path %s: C[%d,%d] = %v, want %v (|diff| %.3g > tol %.3g)", tc, Path(), i, j, got, w, d, tol[i*tc.n+j])
				return false
			}
		}
	}
	return true
}

// withPath runs f with the path p forced, optionally with tiny blocking so
// that small shapes cross K slices, N blocks and M chunks, and with the
// single-thread threshold off so the parallel split is exercised.
func withPath(t testing.TB, p cpufeat.Path, tiny bool, f func()) {
	old := cur.Load()
	defer cur.Store(old)
	require.NoError(t, SetPath(p))
	if tiny {
		im := *cur.Load()
		if im.direct == nil {
			im.kc, im.nc, im.mcL3 = 5, 2*im.nr, 3*im.mr
			im.small = 0
		}
		cur.Store(&im)
	}
	f()
}

var dims = []int{0, 1, 2, 3, 7, 15, 16, 17, 31, 33, 67, 129}

func TestSgemmShapes(t *testing.T) {
	alphas := []float32{1, -2.5, 0.75}
	betas := []float32{0, 1, -0.5}
	for _, p := range cpufeat.Available() {
		for _, tiny := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/tiny=%v", p, tiny), func(t *testing.T) {
				withPath(t, p, tiny, func() {
					rng := rand.New(rand.NewPCG(1, 2))
					n := 0
					for _, ta := range []bool{false, true} {
						for _, tb := range []bool{false, true} {
							for _, m := range dims {
								for _, nn := range dims {
									for _, k := range dims {
										if (tiny || testing.Short()) && m*nn*k > 40000 {
											continue // -short: under qemu the full cube takes minutes
										}
										n++
										tc := testCase{transA: ta, transB: tb, m: m, n: nn, k: k,
											alpha: alphas[n%3], beta: betas[(n/3)%3],
											padA: n % 4, padB: (n / 4) % 3, padC: (n / 2) % 3}
										if !checkCase(t, tc, rng) {
											return
										}
									}
								}
							}
						}
					}
				})
			})
		}
	}
}

// TestSgemmLarge covers shapes beyond one block at default blocking: several
// K slices, N blocks and M chunks, primes, and the skinny LSTM shape.
func TestSgemmLarge(t *testing.T) {
	shapes := [][3]int{{257, 263, 769}, {64, 1031, 401}, {1543, 67, 97}, {5, 2053, 9}, {131, 3, 1201}}
	for _, p := range cpufeat.Available() {
		t.Run(string(p), func(t *testing.T) {
			withPath(t, p, false, func() {
				rng := rand.New(rand.NewPCG(3, 4))
				for i, s := range shapes {
					tc := testCase{transA: i%2 == 1, transB: i%3 == 1, m: s[0], n: s[1], k: s[2],
						alpha: 1.5, beta: []float32{0, 0.5}[i%2], padA: 1, padB: 2, padC: 3}
					checkCase(t, tc, rng)
				}
			})
		})
	}
}

func TestSgemmSpecialScalars(t *testing.T) {
	for _, p := range cpufeat.Available() {
		t.Run(string(p), func(t *testing.T) {
			withPath(t, p, false, func() {
				rng := rand.New(rand.NewPCG(5, 6))
				for _, ab := range [][2]float32{{0, 0}, {0, 1}, {0, -3}, {1, 0}, {-1, 1}, {2, 2}, {1e-3, 1e3}} {
					for _, k := range []int{0, 1, 33} {
						for _, tr := range [][2]bool{{false, false}, {true, true}} {
							checkCase(t, testCase{transA: tr[0], transB: tr[1], m: 19, n: 70, k: k, alpha: ab[0], beta: ab[1], padC: 2}, rng)
						}
					}
				}
			})
		})
	}
}

func TestSgemmThreads(t *testing.T) {
	old := parallel.Threads()
	defer parallel.SetThreads(old)
	for _, threads := range []int{1, 3, 7} {
		parallel.SetThreads(threads)
		for _, p := range cpufeat.Available() {
			withPath(t, p, false, func() {
				rng := rand.New(rand.NewPCG(7, uint64(threads)))
				for _, s := range [][3]int{{200, 200, 200}, {64, 640, 300}, {700, 20, 50}, {3, 5000, 7}} {
					checkCase(t, testCase{m: s[0], n: s[1], k: s[2], alpha: 1, beta: 0.5, transB: true}, rng)
				}
			})
		}
	}
}

func TestSgemmBatched(t *testing.T) {
	const m, n, k, batch = 13, 37, 21, 4
	for _, p := range cpufeat.Available() {
		for _, bc := range []struct {
			name           string
			sA, sB, sC     int
			transA, transB bool
			alpha, beta    float32
		}{
			{"strided", m*k + 5, k*n + 3, m*n + 7, false, false, 1, 0},
			{"broadcastA", 0, k * n, m * n, true, false, 2, 1},
			{"broadcastB", m * k, 0, m * n, false, true, -1, 0.5},
			{"broadcastBoth", 0, 0, m * n, true, true, 1, 0},
		} {
			t.Run(string(p)+"/"+bc.name, func(t *testing.T) {
				withPath(t, p, false, func() {
					rng := rand.New(rand.NewPCG(9, 10))
					a := make([]float32, max(1, bc.sA)*batch+m*k)
					b := make([]float32, max(1, bc.sB)*batch+k*n)
					c := make([]float32, bc.sC*batch)
					for _, x := range [][]float32{a, b, c} {
						for i := range x {
							x[i] = rng.Float32()*2 - 1
						}
					}
					c0 := append([]float32(nil), c...)
					lda, ldb := k, n
					if bc.transA {
						lda = m
					}
					if bc.transB {
						ldb = k
					}
					SgemmBatched(bc.transA, bc.transB, m, n, k, bc.alpha, a, lda, bc.sA, b, ldb, bc.sB, bc.beta, c, n, bc.sC, batch)
					for i := range batch {
						tc := testCase{transA: bc.transA, transB: bc.transB, m: m, n: n, k: k, alpha: bc.alpha, beta: bc.beta}
						o := operands{a: a[i*bc.sA:], b: b[i*bc.sB:], c: c0[i*bc.sC:], lda: lda, ldb: ldb, ldc: n}
						want, tol := reference(tc, o)
						for x := range m * n {
							got := c[i*bc.sC+x]
							require.LessOrEqual(t, math.Abs(float64(got)-want[x]), tol[x], "batch %d element %d", i, x)
						}
					}
				})
			})
		}
	}
}

func TestSgemmPanics(t *testing.T) {
	a := make([]float32, 16)
	for _, tc := range []struct {
		name string
		f    func()
		msg  string
	}{
		{"shortA", func() { Sgemm(false, false, 3, 2, 3, 1, a[:8], 3, a, 2, 0, a, 2) }, "A is 3×3 with lda=3 and needs 9 elements, has 8"},
		{"shortB", func() { Sgemm(false, true, 2, 3, 2, 1, a, 2, a[:5], 2, 0, a, 3) }, "B is 3×2 (transposed) with ldb=2 and needs 6 elements, has 5"},
		{"shortC", func() { Sgemm(false, false, 2, 3, 1, 1, a, 1, a, 3, 0, a[:5], 3) }, "C is 2×3 with ldc=3 and needs 6 elements, has 5"},
		{"ldTooSmall", func() { Sgemm(false, false, 2, 3, 1, 1, a, 1, a, 3, 0, a, 2) }, "ldc=2 < 3 columns"},
		{"negative", func() { Sgemm(false, false, -1, 3, 1, 1, a, 1, a, 3, 0, a, 3) }, "negative dimension m=-1"},
		{"batchC", func() { SgemmBatched(false, false, 1, 1, 1, 1, a, 1, 1, a, 1, 1, 0, a, 1, 0, 2) }, "strideC = 0"},
		{"batchShort", func() { SgemmBatched(false, false, 2, 2, 2, 1, a, 2, 4, a, 2, 0, 0, a, 2, 0, 1) }, ""},
		{"batchStart", func() { SgemmBatched(false, false, 2, 2, 2, 1, a, 2, 4, a, 2, 0, 0, make([]float32, 8), 2, 4, 3) }, "needs 4 elements, has 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if tc.msg == "" {
					assert.Nil(t, r)
					return
				}
				require.NotNil(t, r, "expected a panic")
				assert.Contains(t, fmt.Sprint(r), tc.msg)
			}()
			tc.f()
		})
	}
}

func TestSetPath(t *testing.T) {
	old := Path()
	defer func() { require.NoError(t, SetPath(old)) }()
	require.Error(t, SetPath("nonesuch"))
	assert.Equal(t, old, Path())
	for _, p := range cpufeat.Available() {
		if err := SetPath(p); err != nil {
			// Only Accelerate may be listed yet fail to load.
			assert.Equal(t, cpufeat.Accelerate, p, "%v", err)
			continue
		}
		assert.Equal(t, p, Path())
	}
}

func TestConcurrentCallers(t *testing.T) {
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(11, uint64(g)))
			for i := range 5 {
				s := 40 + 37*g + 11*i
				if !checkCase(t, testCase{m: s, n: s + 3, k: s - 7, alpha: 1, beta: 0, transA: g%2 == 0}, rng) {
					errs <- "mismatch"
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	assert.Empty(t, errs)
}

func TestNoAllocsWhenWarm(t *testing.T) {
	for _, p := range cpufeat.Available() {
		withPath(t, p, false, func() {
			for _, s := range [][3]int{{8, 8, 8}, {300, 300, 300}, {64, 512, 512}} {
				m, n, k := s[0], s[1], s[2]
				a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
				Sgemm(false, true, m, n, k, 1, a, k, b, k, 0, c, n)
				allocs := testing.AllocsPerRun(5, func() {
					Sgemm(false, true, m, n, k, 1, a, k, b, k, 0, c, n)
				})
				assert.Zero(t, allocs, "path %s shape %v", p, s)
			}
		})
	}
}

// FuzzSgemm checks random shapes, transposes, paddings and scalars on every
// path against the float64 reference.
func FuzzSgemm(f *testing.F) {
	f.Add(uint8(17), uint8(33), uint8(7), uint8(3), uint8(1), uint8(0))
	f.Add(uint8(1), uint8(65), uint8(129), uint8(0), uint8(2), uint8(1))
	f.Add(uint8(0), uint8(5), uint8(0), uint8(2), uint8(0), uint8(2))
	alphas := []float32{1, -1, 0.5, 0, 3}
	betas := []float32{0, 1, -2, 0.25}
	f.Fuzz(func(t *testing.T, m, n, k, flags, pad, sc uint8) {
		rng := rand.New(rand.NewPCG(uint64(m)<<16|uint64(n)<<8|uint64(k), uint64(flags)))
		tc := testCase{transA: flags&1 != 0, transB: flags&2 != 0, m: int(m), n: int(n), k: int(k),
			alpha: alphas[int(sc)%len(alphas)], beta: betas[int(sc/8)%len(betas)],
			padA: int(pad % 5), padB: int(pad/5) % 5, padC: int(pad/25) % 3}
		for _, p := range cpufeat.Available() {
			withPath(t, p, flags&4 != 0, func() { checkCase(t, tc, rng) })
		}
	})
}

// TestSgemmSkinny covers the matrix-vector paths (skinny.go) and the narrow
// tile (n ≤ 16 on AVX-512) in every transpose combination, at sizes that
// split across workers.
func TestSgemmSkinny(t *testing.T) {
	shapes := [][3]int{{1, 700, 600}, {700, 1, 600}, {1, 1, 3000}, {40, 16, 3000}, {300, 7, 513}, {2, 3, 700}}
	rng := rand.New(rand.NewPCG(5, 6))
	n := 0
	for _, s := range shapes {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				n++
				tc := testCase{transA: ta, transB: tb, m: s[0], n: s[1], k: s[2],
					alpha: []float32{1, -0.5}[n%2], beta: []float32{0, 1, 0.25}[n%3], padA: n % 3, padB: (n + 1) % 3, padC: n % 2}
				if !checkCase(t, tc, rng) {
					return
				}
			}
		}
	}
}

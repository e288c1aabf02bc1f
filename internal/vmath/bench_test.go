package vmath

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ingotml/ingot/internal/cpufeat"
	"github.com/ingotml/ingot/internal/parallel"
)

// Elementwise throughput, reported as elements per second (elem/s):
//
//	go test -run '^$' -bench 'Unary|Scalar' -benchtime 200ms ./internal/vmath
//
// n = 4096 stays in L1 and below the parallel threshold, so these are
// single-thread figures for each path; BenchmarkScalarLoop is the plain Go
// loop over package math that the kernels replace.

func benchInput(n int) []float32 {
	r := rand.New(rand.NewPCG(9, 10))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64() * 4)
	}
	return x
}

func reportElems(b *testing.B, n int) {
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "elem/s")
}

func BenchmarkUnary(b *testing.B) {
	orig := Path()
	defer SetPath(orig)
	const n = 4096
	x := benchInput(n)
	pos := make([]float32, n)
	for i, v := range x {
		pos[i] = float32(math.Abs(float64(v))) + 1e-3
	}
	dst := make([]float32, n)
	for _, c := range unaryCases {
		in := x
		if c.name == "Log" {
			in = pos
		}
		for _, p := range builtPaths() {
			b.Run(c.name+"/"+string(p), func(b *testing.B) {
				if err := SetPath(p); err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					c.f(dst, in)
				}
				reportElems(b, n)
			})
		}
	}
}

func BenchmarkScalarLoop(b *testing.B) {
	const n = 4096
	x := benchInput(n)
	dst := make([]float32, n)
	fs := []struct {
		name string
		f    func(float64) float64
	}{
		{"Exp", math.Exp},
		{"Log", func(v float64) float64 { return math.Log(math.Abs(v) + 1e-3) }},
		{"Tanh", math.Tanh},
		{"Sigmoid", func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }},
	}
	for _, f := range fs {
		b.Run(f.name, func(b *testing.B) {
			for b.Loop() {
				for i, v := range x {
					dst[i] = float32(f.f(float64(v)))
				}
			}
			reportElems(b, n)
		})
	}
}

// BenchmarkVector covers the plain vector ops and reductions at an L1 size
// and a size that is split across the pool.
func BenchmarkVector(b *testing.B) {
	orig := Path()
	defer SetPath(orig)
	for _, n := range []int{4096, 1 << 20} {
		x, y := benchInput(n), benchInput(n)
		dst := make([]float32, n)
		ops := []struct {
			name string
			f    func()
		}{
			{"Add", func() { Add(dst, x, y) }},
			{"Axpy", func() { Axpy(dst, x, 0.5) }},
			{"Sum", func() { Sum(x) }},
			{"Dot", func() { Dot(x, y) }},
			{"Max", func() { Max(x) }},
			{"Exp", func() { Exp(dst, x) }},
			{"Softmax", func() { SoftmaxRows(dst, x, n/1024, 1024) }},
		}
		for _, op := range ops {
			for _, p := range []cpufeat.Path{Path(), cpufeat.Generic} {
				b.Run(fmt.Sprintf("%s/%s/n=%d", op.name, p, n), func(b *testing.B) {
					if err := SetPath(p); err != nil {
						b.Fatal(err)
					}
					for b.Loop() {
						op.f()
					}
					reportElems(b, n)
				})
			}
			SetPath(orig)
		}
	}
}

// BenchmarkParallelGrain compares one thread with two pool parts on the
// best path, to place grainTranscendental and grainSimple: splitting pays
// from the n where "pool" beats "inline".
func BenchmarkParallelGrain(b *testing.B) {
	if parallel.Threads() < 2 {
		b.Skip("needs 2 threads")
	}
	for _, kind := range []taskKind{kindUnary, kindBinary} {
		for _, n := range []int{2 << 10, 4 << 10, 8 << 10, 16 << 10, 32 << 10, 64 << 10, 128 << 10} {
			x, y := benchInput(n), benchInput(n)
			dst := make([]float32, n)
			name := map[taskKind]string{kindUnary: "Exp", kindBinary: "Add"}[kind]
			for _, parts := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/n=%d/parts=%d", name, n, parts), func(b *testing.B) {
					t := getTask(kind, opExp, dst, x, y, 0)
					if kind == kindBinary {
						t.op = opAdd
					}
					for b.Loop() {
						if parts == 1 {
							t.Run(0, 1)
						} else {
							parallel.Run(t, parts)
						}
					}
					putTask(t)
					reportElems(b, n)
				})
			}
		}
	}
}

// BenchmarkSpeedup alternates the kernel (on the default, fastest path) and
// the scalar loop over package math in the same iterations and reports the
// ratio of their times ("x-scalar"), which stays meaningful on a busy
// machine where absolute rates swing:
//
//	go test -run '^$' -bench Speedup -benchtime 2s ./internal/vmath
func BenchmarkSpeedup(b *testing.B) {
	const n = 4096
	x := benchInput(n)
	pos := make([]float32, n)
	for i, v := range x {
		pos[i] = float32(math.Abs(float64(v))) + 1e-3
	}
	dst := make([]float32, n)
	cases := []struct {
		name string
		f    func(dst, x []float32)
		ref  func(float64) float64
		in   []float32
	}{
		{"Exp", Exp, math.Exp, x},
		{"Tanh", Tanh, math.Tanh, x},
		{"Sigmoid", Sigmoid, func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }, x},
		{"Log", Log, math.Log, pos},
	}
	for _, c := range cases {
		b.Run(c.name+"/"+string(Path()), func(b *testing.B) {
			var kern, scalar time.Duration
			for b.Loop() {
				t0 := time.Now()
				c.f(dst, c.in)
				t1 := time.Now()
				for i, v := range c.in {
					dst[i] = float32(c.ref(float64(v)))
				}
				kern += t1.Sub(t0)
				scalar += time.Since(t1)
			}
			b.ReportMetric(float64(scalar)/float64(kern), "x-scalar")
			b.ReportMetric(float64(n)*float64(b.N)/kern.Seconds(), "elem/s")
		})
	}
}

// branchyLoops are the scalar loops the activation kernels replace, as the
// CPU device ran them (tensor/cpu_fast.go): a branch per element on a
// random sign mispredicts about half the time.
var branchyLoops = map[string]func(dst, x, g []float32, alpha float32){
	"Relu": func(dst, x, _ []float32, _ float32) {
		for i := range x {
			v := x[i]
			if !(v > 0) && v == v {
				v = 0
			}
			dst[i] = v
		}
	},
	"LeakyRelu": func(dst, x, _ []float32, a float32) {
		for i := range x {
			v := x[i]
			if !(v > 0) {
				v *= a
			}
			dst[i] = v
		}
	},
	"ReluGrad": func(dst, a, b []float32, _ float32) {
		for i := range a {
			if a[i] > 0 {
				dst[i] = b[i]
			} else {
				dst[i] = 0
			}
		}
	},
	"LeakyReluGrad": func(dst, a, b []float32, alpha float32) {
		for i := range a {
			if a[i] > 0 {
				dst[i] = b[i]
			} else {
				dst[i] = alpha * b[i]
			}
		}
	},
	"TanhGrad": func(dst, a, b []float32, _ float32) {
		for i := range a {
			y := a[i]
			dst[i] = b[i] * (1 - y*y)
		}
	},
	"SigmoidGrad": func(dst, a, b []float32, _ float32) {
		for i := range a {
			y := a[i]
			dst[i] = b[i] * y * (1 - y)
		}
	},
}

// BenchmarkActivation: each activation kernel on each path and the
// branchy scalar loop it replaces, on random-signed data, at an L1 size
// (one thread) and at 1 M elements (memory-bound, split across the pool):
//
//	go test -run '^$' -bench Activation -benchtime 300ms ./internal/vmath
func BenchmarkActivation(b *testing.B) {
	orig := Path()
	defer SetPath(orig)
	for _, n := range []int{4096, 1 << 20} {
		x, g := benchInput(n), benchInput(n)
		dst := make([]float32, n)
		for _, c := range actCases {
			for _, p := range builtPaths() {
				b.Run(fmt.Sprintf("%s/%s/n=%d", c.name, p, n), func(b *testing.B) {
					if err := SetPath(p); err != nil {
						b.Fatal(err)
					}
					for b.Loop() {
						c.f(dst, x, g, 0.2)
					}
					reportElems(b, n)
				})
			}
			b.Run(fmt.Sprintf("%s/branchy/n=%d", c.name, n), func(b *testing.B) {
				loop := branchyLoops[c.name]
				for b.Loop() {
					loop(dst, x, g, 0.2)
				}
				reportElems(b, n)
			})
		}
	}
}

// BenchmarkActivationSpeedup alternates each kernel (default path, one
// thread: n = 4096) with its branchy scalar loop in the same iterations and
// reports the time ratio (x-scalar) and both costs per element, which
// stay comparable on a busy machine. Each iteration takes the next
// 4096-element window of 1 MB inputs, so the branch predictor cannot learn
// the signs of a window it saw a moment before (with one fixed window it
// partly does, and the scalar loop looks 3-5 times faster than in a real
// training step):
//
//	go test -run '^$' -bench ActivationSpeedup -benchtime 1s ./internal/vmath
func BenchmarkActivationSpeedup(b *testing.B) {
	const n, pool = 4096, 1 << 18
	x, g := benchInput(pool), benchInput(pool)
	dst := make([]float32, n)
	for _, c := range actCases {
		b.Run(c.name+"/"+string(Path()), func(b *testing.B) {
			loop := branchyLoops[c.name]
			var kern, scalar time.Duration
			off := 0
			for b.Loop() {
				xw, gw := x[off:off+n], g[off:off+n]
				off = (off + n) % pool
				t0 := time.Now()
				c.f(dst, xw, gw, 0.2)
				t1 := time.Now()
				loop(dst, xw, gw, 0.2)
				kern += t1.Sub(t0)
				scalar += time.Since(t1)
			}
			b.ReportMetric(float64(scalar)/float64(kern), "x-scalar")
			b.ReportMetric(float64(kern.Nanoseconds())/float64(n*b.N), "ns/elem")
			b.ReportMetric(float64(scalar.Nanoseconds())/float64(n*b.N), "scalar-ns/elem")
		})
	}
}

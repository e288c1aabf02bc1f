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

package tensor

import (
	"fmt"
	"math"
	"sync"

	"github.com/ingotml/ingot/internal/parallel"
	"github.com/ingotml/ingot/internal/vmath"
)

// cpuDevice is the reference device: kernels run synchronously in the
// calling goroutine, split across the internal/parallel worker pool when
// large. Its memory is Go memory, recycled by the caching allocator.
type cpuDevice struct {
	kernels KernelTable
	alloc   *Allocator
}

var cpu = sync.OnceValue(func() *cpuDevice {
	d := &cpuDevice{}
	d.alloc = NewAllocator(func(size int) (*Buffer, error) {
		return &Buffer{Device: d, Mem: make([]byte, size)}, nil
	})
	registerCPUKernels(&d.kernels)
	return d
})

func init() {
	RegisterDevice("cpu", 0, func() (Device, error) { return cpu(), nil })
}

// CPU returns the CPU device, which is always available.
func CPU() Device { return cpu() }

func (d *cpuDevice) Name() string                           { return "cpu" }
func (d *cpuDevice) Kernels() *KernelTable                  { return &d.kernels }
func (d *cpuDevice) Allocator() *Allocator                  { return d.alloc }
func (d *cpuDevice) HostBytes(b *Buffer, write bool) []byte { return b.Mem }
func (d *cpuDevice) Sync() error                            { return nil }

// forRange runs fn over [0, n) on the worker pool when n items of the
// given cost are worth splitting.
func forRange(n, cost int, fn func(lo, hi int)) { parallel.For(n, cost, 64, fn) }

func f32(v View, n int) []float32 {
	if n == 0 {
		return nil
	}
	return v.Buf.Float32s(v.Off + n)[v.Off:]
}

func i32(v View, n int) []int32 {
	if n == 0 {
		return nil
	}
	return v.Buf.Int32s(v.Off + n)[v.Off:]
}

// layoutSpan is the number of storage elements a layout may touch.
func layoutSpan(l *Layout) int {
	end := l.Off + 1
	for i := 0; i < l.Rank; i++ {
		if l.Shape[i] == 0 {
			return l.Off
		}
		end += (l.Shape[i] - 1) * l.Strides[i]
	}
	return end
}

// strided iterates a Layout's storage indices in row-major order.
type strided struct {
	l   *Layout
	idx [MaxRank]int
	off int
}

func newStrided(l *Layout, start int) strided {
	s := strided{l: l, off: l.Off}
	for d := l.Rank - 1; d >= 0; d-- {
		sz := l.Shape[d]
		s.idx[d] = start % sz
		s.off += s.idx[d] * l.Strides[d]
		start /= sz
	}
	return s
}

// advance moves s forward by n elements along the innermost dimension,
// which must not run past its end (n ≤ Shape[last] − idx[last]).
func (s *strided) advance(n int) {
	l, d := s.l, s.l.Rank-1
	s.idx[d] += n
	s.off += n * l.Strides[d]
	if s.idx[d] < l.Shape[d] {
		return
	}
	s.off -= s.idx[d] * l.Strides[d]
	s.idx[d] = 0
	for d--; d >= 0; d-- {
		s.idx[d]++
		s.off += l.Strides[d]
		if s.idx[d] < l.Shape[d] {
			return
		}
		s.off -= s.idx[d] * l.Strides[d]
		s.idx[d] = 0
	}
}

// coalesced merges adjacent dimensions of l that step through storage as
// one (a permuted copy's inner runs become as long as they can be).
func coalesced(l *Layout) Layout {
	c := Layout{Buf: l.Buf, Off: l.Off}
	for d := range l.Rank {
		if l.Shape[d] == 1 {
			continue
		}
		if c.Rank > 0 && c.Strides[c.Rank-1] == l.Strides[d]*l.Shape[d] {
			c.Shape[c.Rank-1] *= l.Shape[d]
			c.Strides[c.Rank-1] = l.Strides[d]
			continue
		}
		c.Shape[c.Rank], c.Strides[c.Rank] = l.Shape[d], l.Strides[d]
		c.Rank++
	}
	if c.Rank == 0 {
		c.Rank, c.Shape[0] = 1, 1
	}
	return c
}

// gatherLayout reads elements [lo, hi) of l into dst, a run of the
// innermost dimension at a time.
func gatherLayout(dst []float32, l *Layout, lo, hi int) {
	src := l.Buf.Float32s(layoutSpan(l))
	if l.Contiguous() {
		copy(dst, src[l.Off+lo:l.Off+hi])
		return
	}
	c := coalesced(l)
	last := c.Rank - 1
	inner, step := c.Shape[last], c.Strides[last]
	it := newStrided(&c, lo)
	for i, n := 0, hi-lo; i < n; {
		run := min(inner-it.idx[last], n-i)
		out := dst[i : i+run]
		switch step {
		case 1:
			copy(out, src[it.off:it.off+run])
		case 0:
			v := src[it.off]
			for j := range out {
				out[j] = v
			}
		default:
			in := src[it.off : it.off+(run-1)*step+1]
			for j := range out {
				out[j] = in[j*step]
			}
		}
		i += run
		it.advance(run)
	}
}

func registerCPUKernels(t *KernelTable) {
	Implement(t, GemmKernel, cpuGemm)
	Implement(t, UnaryKernel, cpuUnary)
	Implement(t, BinaryKernel, cpuBinary)
	Implement(t, WhereKernel, cpuWhere)
	Implement(t, ReduceKernel, cpuReduce)
	Implement(t, SoftmaxKernel, cpuSoftmax)
	Implement(t, GatherKernel, cpuGather)
	Implement(t, ScatterAddKernel, cpuScatterAdd)
	Implement(t, RandKernel, cpuRand)
	Implement(t, CopyKernel, cpuCopy)
	Implement(t, CastKernel, cpuCast)
	Implement(t, FillKernel, cpuFill)
}

func cpuGemm(_ Device, p GemmParams) {
	a := p.A.Buf.Float32s(len(p.A.Buf.Mem) / 4)[p.A.Off:]
	b := p.B.Buf.Float32s(len(p.B.Buf.Mem) / 4)[p.B.Off:]
	c := p.C.Buf.Float32s(len(p.C.Buf.Mem) / 4)[p.C.Off:]
	sgemmBatched(p.TransA, p.TransB, p.M, p.N, p.K, p.Alpha, a, p.LDA, p.StrideA, b, p.LDB, p.StrideB, p.Beta, c, p.LDC, p.StrideC, p.Batch)
}

// unaryFn is the scalar form of the ops unaryKernel has no vector kernel for.
func unaryFn(op UnaryOp, a, b float32) func(float32) float32 {
	switch op {
	case OpSqrt:
		return func(x float32) float32 { return float32(math.Sqrt(float64(x))) }
	case OpAbs:
		return func(x float32) float32 { return float32(math.Abs(float64(x))) }
	case OpSign:
		return func(x float32) float32 {
			switch {
			case x > 0:
				return 1
			case x < 0:
				return -1
			}
			return x // ±0 and NaN
		}
	case OpAffine: // α·x + β with α ≠ 1 and β ≠ 0 (unaryKernel has the others)
		return func(x float32) float32 { return a*x + b }
	case OpPowScalar:
		return func(x float32) float32 { return float32(math.Pow(float64(x), float64(a))) }
	case OpClamp:
		return func(x float32) float32 {
			if x < a {
				return a
			}
			if x > b {
				return b
			}
			return x
		}
	}
	panic(fmt.Sprintf("tensor: unknown unary op %d", op))
}

func sigmoid32(x float32) float32 {
	if x >= 0 {
		return float32(1 / (1 + math.Exp(-float64(x))))
	}
	e := math.Exp(float64(x))
	return float32(e / (1 + e))
}

func cpuUnary(_ Device, p UnaryParams) {
	if p.N == 0 {
		return
	}
	k := unaryKernel(p.Op, p.Alpha, p.Beta)
	out := f32(p.Out, p.N)
	if p.X.Contiguous() {
		k(out, f32(View{p.X.Buf, p.X.Off}, p.N))
		return
	}
	forRange(p.N, 4, func(lo, hi int) {
		o := out[lo:hi]
		gatherLayout(o, &p.X, lo, hi)
		k(o, o)
	})
}

// binaryFn is the scalar form of the ops binaryKernel has no vector kernel for.
func binaryFn(op BinaryOp, alpha, beta float32) func(a, b float32) float32 {
	switch op {
	case OpPow:
		return func(a, b float32) float32 { return float32(math.Pow(float64(a), float64(b))) }
	case OpMax:
		return func(a, b float32) float32 {
			if a != a || a > b {
				return a
			}
			return b
		}
	case OpMin:
		return func(a, b float32) float32 {
			if a != a || a < b {
				return a
			}
			return b
		}
	case OpGreater:
		return func(a, b float32) float32 { return b2f(a > b) }
	case OpEqual:
		return func(a, b float32) float32 { return b2f(a == b) }
	case OpSoftplusGrad:
		return func(x, g float32) float32 { return g * sigmoid32(x) }
	case OpAxpy:
		return func(a, b float32) float32 { return a + alpha*b }
	case OpClampGrad:
		return func(x, g float32) float32 {
			if x >= alpha && x <= beta {
				return g
			}
			return 0
		}
	}
	panic(fmt.Sprintf("tensor: unknown binary op %d", op))
}

func b2f(b bool) float32 {
	if b {
		return 1
	}
	return 0
}

func cpuBinary(_ Device, p BinaryParams) {
	if p.N == 0 || fastBinary(p) {
		return
	}
	k := binaryKernel(p.Op, p.Alpha, p.Beta)
	out := f32(p.Out, p.N)
	forRange(p.N, 2, func(lo, hi int) {
		var tmp [1024]float32
		for s := lo; s < hi; s += len(tmp) {
			e := min(s+len(tmp), hi)
			o, b := out[s:e], tmp[:e-s]
			gatherLayout(o, &p.A, s, e)
			gatherLayout(b, &p.B, s, e)
			k(o, o, b)
		}
	})
}

func cpuWhere(_ Device, p WhereParams) {
	out := f32(p.Out, p.N)
	forRange(p.N, 2, func(lo, hi int) {
		var c, b [256]float32
		for s := lo; s < hi; s += len(c) {
			e := min(s+len(c), hi)
			o := out[s:e]
			gatherLayout(c[:e-s], &p.Cond, s, e)
			gatherLayout(o, &p.A, s, e)
			gatherLayout(b[:e-s], &p.B, s, e)
			for i := range o {
				if c[i] == 0 {
					o[i] = b[i]
				}
			}
		}
	})
}

func cpuReduce(_ Device, p ReduceParams) {
	x := f32(p.X, p.Outer*p.Axis*p.Inner)
	out := f32(p.Out, p.Outer*p.Inner)
	forRange(p.Outer*p.Inner, max(p.Axis, 1), func(lo, hi int) {
		for oi := lo; oi < hi; oi++ {
			o, in := oi/p.Inner, oi%p.Inner
			base := o*p.Axis*p.Inner + in
			switch p.Op {
			case ReduceSum:
				if p.Inner == 1 {
					out[oi] = vmath.Sum(x[base : base+p.Axis])
					continue
				}
				// A run of outputs sharing o, summed row by row (each output
				// still adds its terms in axis order).
				n := min(hi-oi, p.Inner-in, 64)
				var acc [64]float64
				for k := range p.Axis {
					row := x[base+k*p.Inner : base+k*p.Inner+n]
					for j, v := range row {
						acc[j] += float64(v)
					}
				}
				for j := range n {
					out[oi+j] = float32(acc[j])
				}
				oi += n - 1
			case ReduceMax, ReduceMin:
				m := float32(math.Inf(-1))
				if p.Op == ReduceMin {
					m = float32(math.Inf(1))
				}
				for k := range p.Axis {
					v := x[base+k*p.Inner]
					if v != v || (p.Op == ReduceMax && v > m) || (p.Op == ReduceMin && v < m) {
						m = v
						if v != v {
							break
						}
					}
				}
				out[oi] = m
			default:
				panic(fmt.Sprintf("tensor: unknown reduction %d", p.Op))
			}
		}
	})
}

func cpuSoftmax(_ Device, p SoftmaxParams) {
	if p.Outer*p.Axis == 0 || fastSoftmax(p) {
		return
	}
	x := f32(p.X, p.Outer*p.Axis*p.Inner)
	out := f32(p.Out, p.Outer*p.Axis*p.Inner)
	forRange(p.Outer*p.Inner, 4*max(p.Axis, 1), func(lo, hi int) {
		for oi := lo; oi < hi; oi++ {
			o, in := oi/p.Inner, oi%p.Inner
			base := o*p.Axis*p.Inner + in
			m := math.Inf(-1)
			for k := range p.Axis {
				m = math.Max(m, float64(x[base+k*p.Inner]))
			}
			var s float64
			for k := range p.Axis {
				s += math.Exp(float64(x[base+k*p.Inner]) - m)
			}
			ls := math.Log(s)
			for k := range p.Axis {
				i := base + k*p.Inner
				v := float64(x[i]) - m - ls
				if p.Log {
					out[i] = float32(v)
				} else {
					out[i] = float32(math.Exp(v))
				}
			}
		}
	})
}

func cpuGather(_ Device, p GatherParams) {
	tab := f32(p.Table, p.Rows*p.Cols)
	idx := i32(p.Index, p.N)
	out := f32(p.Out, p.N*p.Cols)
	for i, r := range idx {
		if r < 0 || int(r) >= p.Rows {
			panic(fmt.Sprintf("tensor.Gather: index %d at position %d out of range [0, %d)", r, i, p.Rows))
		}
		copy(out[i*p.Cols:(i+1)*p.Cols], tab[int(r)*p.Cols:int(r+1)*p.Cols])
	}
}

func cpuScatterAdd(_ Device, p ScatterAddParams) {
	src := f32(p.Src, p.N*p.Cols)
	idx := i32(p.Index, p.N)
	out := f32(p.Out, p.Rows*p.Cols)
	for i, r := range idx {
		if r < 0 || int(r) >= p.Rows {
			panic(fmt.Sprintf("tensor.ScatterAdd: index %d at position %d out of range [0, %d)", r, i, p.Rows))
		}
		o := out[int(r)*p.Cols : int(r+1)*p.Cols]
		for j, v := range src[i*p.Cols : (i+1)*p.Cols] {
			o[j] += v
		}
	}
}

func cpuRand(_ Device, p RandParams) {
	out := f32(p.Out, p.N)
	forRange(p.N, 16, func(lo, hi int) {
		for i := lo; i < hi; {
			g := p.Counter + uint64(i)
			v := randomBlock(p.Dist, p.A, p.B, Philox(p.Seed, p.Stream, g/4))
			for l := g % 4; l < 4 && i < hi; l++ {
				out[i] = v[l]
				i++
			}
		}
	})
}

func cpuCopy(_ Device, p CopyParams) {
	out := f32(p.Out, p.N)
	forRange(p.N, 1, func(lo, hi int) { gatherLayout(out[lo:hi], &p.X, lo, hi) })
}

func cpuCast(_ Device, p CastParams) {
	switch {
	case p.XType == Float32 && p.OutType == Int32:
		out, x := i32(p.Out, p.N), f32(p.X, p.N)
		for i, v := range x {
			out[i] = int32(v)
		}
	case p.XType == Int32 && p.OutType == Float32:
		out, x := f32(p.Out, p.N), i32(p.X, p.N)
		for i, v := range x {
			out[i] = float32(v)
		}
	case p.XType == p.OutType:
		copy(i32(p.Out, p.N), i32(p.X, p.N))
	default:
		panic(fmt.Sprintf("tensor: cast %v to %v not supported", p.XType, p.OutType))
	}
}

func cpuFill(_ Device, p FillParams) {
	out := i32(p.Out, p.N)
	v := int32(p.Value)
	forRange(p.N, 1, func(lo, hi int) {
		o := out[lo:hi]
		for i := range o {
			o[i] = v
		}
	})
}

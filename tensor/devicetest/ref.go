package devicetest

import (
	"math"
	"slices"
)

// arr is a dense float64 array: the independent reference every device is
// checked against.
type arr struct {
	shape []int
	data  []float64
}

func numel(shape []int) int {
	n := 1
	for _, s := range shape {
		n *= s
	}
	return n
}

func newArr(shape ...int) *arr {
	return &arr{shape: slices.Clone(shape), data: make([]float64, numel(shape))}
}

func (a *arr) clone() *arr { return &arr{shape: slices.Clone(a.shape), data: slices.Clone(a.data)} }

// strides of a dense row-major shape.
func strides(shape []int) []int {
	st := make([]int, len(shape))
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = s
		s *= shape[i]
	}
	return st
}

// unravel converts a flat index into a multi-index.
func unravel(i int, shape []int) []int {
	idx := make([]int, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		idx[d] = i % shape[d]
		i /= shape[d]
	}
	return idx
}

func bshape(a, b []int) []int {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := range n {
		da, db := 1, 1
		if j := len(a) - n + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - n + i; j >= 0 {
			db = b[j]
		}
		out[i] = max(da, db)
		if da == 0 || db == 0 {
			out[i] = 0
		}
	}
	return out
}

// at reads a at a multi-index of a broadcast shape.
func (a *arr) at(idx []int) float64 {
	st := strides(a.shape)
	off := 0
	lead := len(idx) - len(a.shape)
	for i, s := range a.shape {
		if s != 1 {
			off += idx[lead+i] * st[i]
		}
	}
	return a.data[off]
}

func refMap(a *arr, f func(float64) float64) *arr {
	o := a.clone()
	for i, v := range o.data {
		o.data[i] = f(v)
	}
	return o
}

func refZip(xs []*arr, f func(v []float64) float64) *arr {
	shape := xs[0].shape
	for _, x := range xs[1:] {
		shape = bshape(shape, x.shape)
	}
	o := newArr(shape...)
	v := make([]float64, len(xs))
	for i := range o.data {
		idx := unravel(i, shape)
		for j, x := range xs {
			v[j] = x.at(idx)
		}
		o.data[i] = f(v)
	}
	return o
}

func refBinary(a, b *arr, f func(x, y float64) float64) *arr {
	return refZip([]*arr{a, b}, func(v []float64) float64 { return f(v[0], v[1]) })
}

// refReduce reduces over axes with f starting from init.
func refReduce(a *arr, axes []int, keep bool, init float64, f func(acc, v float64) float64) *arr {
	if len(axes) == 0 {
		for i := range a.shape {
			axes = append(axes, i)
		}
	}
	var oshape, kshape []int
	for i, s := range a.shape {
		if slices.Contains(axes, i) {
			kshape = append(kshape, 1)
			if keep {
				oshape = append(oshape, 1)
			}
		} else {
			kshape = append(kshape, s)
			oshape = append(oshape, s)
		}
	}
	o := newArr(kshape...)
	for i := range o.data {
		o.data[i] = init
	}
	ks := strides(kshape)
	for i, v := range a.data {
		idx := unravel(i, a.shape)
		off := 0
		for d, x := range idx {
			if kshape[d] != 1 {
				off += x * ks[d]
			}
		}
		o.data[off] = f(o.data[off], v)
	}
	o.shape = oshape
	return o
}

func refMatMul(a, b *arr) *arr {
	ra, rb := len(a.shape), len(b.shape)
	m, k, n := a.shape[ra-2], a.shape[ra-1], b.shape[rb-1]
	batch := bshape(a.shape[:ra-2], b.shape[:rb-2])
	o := newArr(append(slices.Clone(batch), m, n)...)
	for bi := range numel(batch) {
		bidx := unravel(bi, batch)
		for i := range m {
			for j := range n {
				var s float64
				for p := range k {
					s += a.at(append(slices.Clone(bidx), i, p)) * b.at(append(slices.Clone(bidx), p, j))
				}
				o.data[(bi*m+i)*n+j] = s
			}
		}
	}
	return o
}

func refSoftmax(a *arr, axis int, log bool) *arr {
	o := a.clone()
	outer, n, inner := numel(a.shape[:axis]), a.shape[axis], numel(a.shape[axis+1:])
	for ou := range outer {
		for in := range inner {
			m := math.Inf(-1)
			for k := range n {
				m = math.Max(m, a.data[(ou*n+k)*inner+in])
			}
			var s float64
			for k := range n {
				s += math.Exp(a.data[(ou*n+k)*inner+in] - m)
			}
			for k := range n {
				i := (ou*n+k)*inner + in
				v := a.data[i] - m - math.Log(s)
				if !log {
					v = math.Exp(v)
				}
				o.data[i] = v
			}
		}
	}
	return o
}

// refPermute permutes dimensions.
func refPermute(a *arr, perm []int) *arr {
	shape := make([]int, len(perm))
	for i, p := range perm {
		shape[i] = a.shape[p]
	}
	o := newArr(shape...)
	st := strides(a.shape)
	for i := range o.data {
		idx := unravel(i, shape)
		off := 0
		for d, p := range perm {
			off += idx[d] * st[p]
		}
		o.data[i] = a.data[off]
	}
	return o
}

// refSlice takes [start, end) along axis.
func refSlice(a *arr, axis, start, end int) *arr {
	shape := slices.Clone(a.shape)
	shape[axis] = end - start
	o := newArr(shape...)
	st := strides(a.shape)
	for i := range o.data {
		idx := unravel(i, shape)
		idx[axis] += start
		off := 0
		for d, x := range idx {
			off += x * st[d]
		}
		o.data[i] = a.data[off]
	}
	return o
}

func refConcat(axis int, xs ...*arr) *arr {
	shape := slices.Clone(xs[0].shape)
	shape[axis] = 0
	for _, x := range xs {
		shape[axis] += x.shape[axis]
	}
	o := newArr(shape...)
	for i := range o.data {
		idx := unravel(i, shape)
		k := idx[axis]
		for _, x := range xs {
			if k < x.shape[axis] {
				idx[axis] = k
				o.data[i] = x.at(idx)
				break
			}
			k -= x.shape[axis]
		}
	}
	return o
}

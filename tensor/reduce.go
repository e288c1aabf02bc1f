package tensor

import (
	"fmt"
	"slices"
)

// normAxes returns sorted unique axes (all axes when none are given).
func (t *Tensor) normAxes(op string, axes []int) []int {
	if len(axes) == 0 {
		all := make([]int, t.rank)
		for i := range all {
			all[i] = i
		}
		return all
	}
	out := make([]int, len(axes))
	for i, a := range axes {
		out[i] = t.axis(op, a)
	}
	slices.Sort(out)
	if len(slices.Compact(slices.Clone(out))) != len(out) {
		panic(fmt.Sprintf("tensor.%s: repeated axis in %v", op, axes))
	}
	return out
}

func keptShape(shape, axes []int, keep bool) []int {
	var out []int
	for i, s := range shape {
		if slices.Contains(axes, i) {
			if keep {
				out = append(out, 1)
			}
			continue
		}
		out = append(out, s)
	}
	return out
}

// reduce applies a reduction over axes without recording.
func reduce(op ReduceOp, x *Tensor, keep bool, axes []int) *Tensor {
	axes = x.normAxes("Sum", axes)
	d := x.Device()
	cur, _ := dense(x) // released below whenever it is not x
	shape := slices.Clone(x.Shape())
	// Reduce runs of consecutive axes at once, innermost first, keeping dims.
	for i := len(axes) - 1; i >= 0; {
		j := i
		for j > 0 && axes[j-1] == axes[j]-1 {
			j--
		}
		lo, hi := axes[j], axes[i]+1
		outer, axis, inner := numel(shape[:lo]), numel(shape[lo:hi]), numel(shape[hi:])
		for k := lo; k < hi; k++ {
			shape[k] = 1
		}
		next := Empty(d, Float32, shape...)
		ReduceKernel.Run(d, ReduceParams{Op: op, Out: next.view(), X: cur.view(), Outer: outer, Axis: axis, Inner: inner})
		if cur != x {
			cur.Release()
		}
		cur = next
		i = j - 1
	}
	if cur == x { // no axes (rank 0): still return a new tensor
		cur = copyOf(x)
	}
	if !keep {
		v := cur.nograd().Reshape(keptShape(x.Shape(), axes, false)...)
		cur.Release()
		cur = v
	}
	return cur
}

// Sum adds t's elements over axes (all axes when none are given); keepDims
// keeps reduced dimensions with size 1.
func Sum(t *Tensor, keepDims bool, axes ...int) *Tensor {
	floatOnly("Sum", t)
	axes = t.normAxes("Sum", axes)
	y := reduce(ReduceSum, t, keepDims, axes)
	if needsGrad(t) {
		shape := slices.Clone(t.Shape())
		kept := keptShape(shape, axes, true)
		record(y, "Sum", []*Tensor{t}, func(g *Tensor) []*Tensor {
			gk := g.Reshape(kept...)
			out := Empty(g.Device(), Float32, shape...)
			CopyKernel.Run(g.Device(), CopyParams{Out: out.view(), X: gk.layoutAs(shape), N: out.Len()})
			gk.Release()
			return []*Tensor{out}
		})
	}
	return y
}

// Mean averages t's elements over axes (all when none are given).
func Mean(t *Tensor, keepDims bool, axes ...int) *Tensor {
	axes = t.normAxes("Mean", axes)
	n := 1
	for _, a := range axes {
		n *= t.shape[a]
	}
	s := Sum(t, keepDims, axes...)
	m := Scale(s, 1/float32(n))
	if !needsGrad(t) {
		s.Release()
	}
	return m
}

// Max is the largest element over axes (all when none are given). The
// gradient is split evenly among tied maxima. NaN propagates.
func Max(t *Tensor, keepDims bool, axes ...int) *Tensor {
	return extremum(ReduceMax, "Max", t, keepDims, axes)
}

// Min is the smallest element over axes (all when none are given).
func Min(t *Tensor, keepDims bool, axes ...int) *Tensor {
	return extremum(ReduceMin, "Min", t, keepDims, axes)
}

func extremum(op ReduceOp, name string, t *Tensor, keep bool, axes []int) *Tensor {
	floatOnly(name, t)
	axes = t.normAxes(name, axes)
	y := reduce(op, t, keep, axes)
	if needsGrad(t) {
		tb, yb := t.nograd(), y.nograd()
		kept := keptShape(t.Shape(), axes, true)
		record(y, name, []*Tensor{t}, func(g *Tensor) []*Tensor {
			yk := yb.Reshape(kept...)
			mask := binary(OpEqual, tb, yk, 0, 0)
			cnt := reduce(ReduceSum, mask, true, axes)
			gk := g.Reshape(kept...)
			share := binary(OpDiv, gk, cnt, 0, 0)
			out := binary(OpMul, mask, share, 0, 0)
			for _, x := range []*Tensor{yk, mask, cnt, gk, share} {
				x.Release()
			}
			return []*Tensor{out}
		})
	}
	return y
}

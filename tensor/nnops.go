package tensor

import (
	"fmt"
	"slices"
)

func (t *Tensor) splitAt(a int) (outer, axis, inner int) {
	return numel(t.shape[:a]), t.shape[a], numel(t.shape[a+1 : t.rank])
}

func softmax(x *Tensor, axis int, log bool) *Tensor {
	c, owned := dense(x)
	y := Empty(x.Device(), Float32, x.Shape()...)
	o, a, i := x.splitAt(axis)
	SoftmaxKernel.Run(x.Device(), SoftmaxParams{Log: log, Out: y.view(), X: c.view(), Outer: o, Axis: a, Inner: i})
	if owned {
		c.Release()
	}
	return y
}

// Softmax normalises exp(x) along axis, computed stably.
func Softmax(x *Tensor, axis int) *Tensor {
	floatOnly("Softmax", x)
	a := x.axis("Softmax", axis)
	y := softmax(x, a, false)
	if needsGrad(x) {
		yb := y.nograd()
		record(y, "Softmax", []*Tensor{x}, func(g *Tensor) []*Tensor {
			gy := binary(OpMul, g, yb, 0, 0)
			s := reduce(ReduceSum, gy, true, []int{a})
			ys := binary(OpMul, yb, s, 0, 0)
			out := binary(OpSub, gy, ys, 0, 0)
			for _, t := range []*Tensor{gy, s, ys} {
				t.Release()
			}
			return []*Tensor{out}
		})
	}
	return y
}

// LogSoftmax is log(Softmax(x)) along axis, computed stably.
func LogSoftmax(x *Tensor, axis int) *Tensor {
	floatOnly("LogSoftmax", x)
	a := x.axis("LogSoftmax", axis)
	y := softmax(x, a, true)
	if needsGrad(x) {
		yb := y.nograd()
		record(y, "LogSoftmax", []*Tensor{x}, func(g *Tensor) []*Tensor {
			s := reduce(ReduceSum, g, true, []int{a})
			p := unary(OpExp, yb, 0, 0)
			ps := binary(OpMul, p, s, 0, 0)
			out := binary(OpSub, g, ps, 0, 0)
			for _, t := range []*Tensor{s, p, ps} {
				t.Release()
			}
			return []*Tensor{out}
		})
	}
	return y
}

// Gather looks up rows of a [rows, cols] table by int32 indices of any
// shape, giving [indices..., cols] (an embedding lookup). Its gradient
// scatter-adds into the table's gradient. An index out of range panics on
// the CPU device and is reported by Sync on others.
func Gather(table, index *Tensor) *Tensor {
	floatOnly("Gather", table)
	d := sameDevice("Gather", table, index)
	if table.rank != 2 || index.dtype != Int32 {
		panic(fmt.Sprintf("tensor.Gather: want a float32 [rows, cols] table and int32 indices, have %v and %v", table, index))
	}
	tc, ownT := dense(table)
	ic, ownI := dense(index)
	rows, cols, n := table.shape[0], table.shape[1], index.Len()
	shape := append(slices.Clone(index.Shape()), cols)
	y := Empty(d, Float32, shape...)
	GatherKernel.Run(d, GatherParams{Out: y.view(), Table: tc.view(), Index: ic.view(), N: n, Rows: rows, Cols: cols})
	if ownT {
		tc.Release()
	}
	if !needsGrad(table) {
		if ownI {
			ic.Release()
		}
		return y
	}
	// The backward scatters by the indices: it keeps a reference of its own
	// (the dense copy, or a share of index), released by the garbage
	// collector with the graph.
	if !ownI {
		ic = index.share()
	}
	record(y, "Gather", []*Tensor{table}, func(g *Tensor) []*Tensor {
		gt := Zeros(d, rows, cols)
		gc, ownG := dense(g)
		ScatterAddKernel.Run(d, ScatterAddParams{Out: gt.view(), Src: gc.view(), Index: ic.view(), N: n, Rows: rows, Cols: cols})
		if ownG {
			gc.Release()
		}
		return []*Tensor{gt}
	})
	return y
}

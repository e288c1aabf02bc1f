package tensor

import (
	"fmt"
	"slices"
)

// gemmOperand describes how the GEMM kernel reads a matrix operand of
// shape [batch..., rows, cols] in place: trans when its last two
// dimensions are column-major, ld its leading dimension, stride the step
// between matrices (0 when broadcast). ok is false when it must be copied.
func gemmOperand(t *Tensor) (trans bool, ld, stride int, ok bool) {
	r := t.rank
	rows, cols := t.shape[r-2], t.shape[r-1]
	rs, cs := t.strides[r-2], t.strides[r-1]
	switch {
	case (cs == 1 || cols <= 1) && (rows <= 1 || rs >= cols):
		trans, ld = false, max(cols, 1)
		if rows > 1 {
			ld = max(rs, 1)
		}
	case (rs == 1 || rows <= 1) && (cols <= 1 || cs >= rows):
		trans, ld = true, max(rows, 1)
		if cols > 1 {
			ld = max(cs, 1)
		}
	default:
		return false, 0, 0, false
	}
	// The batch dimensions must collapse to a single stride.
	stride = 0
	expect := -1
	for i := r - 3; i >= 0; i-- {
		if t.shape[i] == 1 {
			continue
		}
		if expect < 0 {
			stride = t.strides[i]
		} else if t.strides[i] != expect {
			return false, 0, 0, false
		}
		expect = t.strides[i] * t.shape[i]
	}
	return trans, ld, stride, true
}

// MatMul multiplies matrices: a [..., m, k] times b [..., k, n] gives
// [..., m, n], broadcasting the batch dimensions. Transposed views (T,
// Transpose) are read in place without a copy. 1-D operands are not
// promoted: reshape them to matrices.
func MatMul(a, b *Tensor) *Tensor {
	floatOnly("MatMul", a, b)
	d := sameDevice("MatMul", a, b)
	if a.rank < 2 || b.rank < 2 || a.shape[a.rank-1] != b.shape[b.rank-2] {
		panic(fmt.Sprintf("tensor.MatMul: shapes %v and %v do not multiply", a.Shape(), b.Shape()))
	}
	m, n := a.shape[a.rank-2], b.shape[b.rank-1]
	batch := BroadcastShapes("MatMul", a.shape[:a.rank-2], b.shape[:b.rank-2])
	shape := append(slices.Clone(batch), m, n)
	y := Empty(d, Float32, shape...)
	matmulInto(y, a, b, batch, 0)
	if needsGrad(a, b) {
		ab, bb := a.nograd(), b.nograd()
		record(y, "MatMul", []*Tensor{a, b}, func(g *Tensor) []*Tensor {
			var ga, gb *Tensor
			if a.requiresGrad {
				bt := bb.T()
				ga = matmulReduced(g, bt, ab.Shape())
				bt.Release()
			}
			if b.requiresGrad {
				gb = matmulGradB(ab, bb, g)
			}
			return []*Tensor{ga, gb}
		})
	}
	return y
}

// matmulReduced computes x·y and sums broadcast batch dimensions down to
// shape (for gradients of broadcast operands).
func matmulReduced(x, y *Tensor, shape []int) *Tensor {
	batch := BroadcastShapes("MatMul", x.shape[:x.rank-2], y.shape[:y.rank-2])
	full := append(slices.Clone(batch), x.shape[x.rank-2], y.shape[y.rank-1])
	out := Empty(x.Device(), Float32, full...)
	matmulInto(out, x, y, batch, 0)
	r := sumTo(out, shape)
	if r != out {
		out.Release()
	}
	return r
}

// matmulInto computes out = a·b + beta·out for contiguous out of shape
// [batch..., m, n].
func matmulInto(out, a, b *Tensor, batch []int, beta float32) {
	d := out.Device()
	full := func(t *Tensor) *Tensor { // broadcast the batch dims as a view
		s := append(slices.Clone(batch), t.shape[t.rank-2], t.shape[t.rank-1])
		l := t.layoutAs(s)
		v := *t
		v.requiresGrad, v.grad, v.node = false, nil, nil
		v.rank = len(s)
		copy(v.shape[:], s)
		v.strides = l.Strides
		return &v
	}
	av, bv := full(a), full(b)
	var tmp []*Tensor
	ta, lda, sa, ok := gemmOperand(av)
	if !ok {
		av = copyOf(av)
		tmp = append(tmp, av)
		ta, lda, sa, _ = gemmOperand(av)
	}
	tb, ldb, sb, ok := gemmOperand(bv)
	if !ok {
		bv = copyOf(bv)
		tmp = append(tmp, bv)
		tb, ldb, sb, _ = gemmOperand(bv)
	}
	m, k, n := av.shape[av.rank-2], av.shape[av.rank-1], bv.shape[bv.rank-1]
	GemmKernel.Run(d, GemmParams{
		TransA: ta, TransB: tb, M: m, N: n, K: k, Alpha: 1, Beta: beta,
		A: av.view(), B: bv.view(), C: out.view(), LDA: lda, LDB: ldb, LDC: max(n, 1),
		Batch: numel(batch), StrideA: sa, StrideB: sb, StrideC: m * n,
	})
	for _, t := range tmp {
		t.Release()
	}
}

// matmulGradB is the gradient aᵀ·g of b. When b is a transposed 2-D view
// (Linear's weight), it computes (gᵀ·a) in b's storage order and returns
// its transposed view, so the gradient reaching the stored weight is dense.
func matmulGradB(a, b, g *Tensor) *Tensor {
	if a.rank == 2 && b.rank == 2 && g.rank == 2 {
		if trans, _, _, ok := gemmOperand(b); ok && trans && b.shape[0] > 1 && b.shape[1] > 1 {
			gt := g.T()
			out := Empty(g.Device(), Float32, b.shape[1], b.shape[0])
			matmulInto(out, gt, a, nil, 0)
			gt.Release()
			v := out.T()
			out.Release()
			return v
		}
	}
	at := a.T()
	gb := matmulReduced(at, g, b.Shape())
	at.Release()
	return gb
}

package tensor

import (
	"fmt"
	"slices"
)

// viewOp makes a recorded view of t with a new shape/strides/offset; the
// gradient goes back through grad.
func viewOp(name string, t *Tensor, shape, strides []int, offset int, grad func(g *Tensor) *Tensor) *Tensor {
	v := t.share()
	v.rank = len(shape)
	v.shape, v.strides = [MaxRank]int{}, [MaxRank]int{}
	copy(v.shape[:], shape)
	copy(v.strides[:], strides)
	v.offset = offset
	if needsGrad(t) {
		record(v, name, []*Tensor{t}, func(g *Tensor) []*Tensor { return []*Tensor{grad(g)} })
	}
	return v
}

// Contiguous returns t if it is dense row-major, else a dense copy
// (recorded, so gradients flow through it).
func (t *Tensor) Contiguous() *Tensor {
	if t.IsContiguous() {
		return t
	}
	out := Empty(t.Device(), t.dtype, t.Shape()...)
	CopyKernel.Run(t.Device(), CopyParams{Out: out.view(), X: t.layout(), N: out.Len()})
	if needsGrad(t) {
		record(out, "Contiguous", []*Tensor{t}, func(g *Tensor) []*Tensor { return []*Tensor{g} })
	}
	return out
}

// dense returns t if it is contiguous, else an unrecorded contiguous copy;
// owned says whether the caller must release the result.
func dense(t *Tensor) (c *Tensor, owned bool) {
	if t.IsContiguous() {
		return t, false
	}
	return copyOf(t), true
}

// copyOf returns a contiguous copy of t that is not recorded.
func copyOf(t *Tensor) *Tensor {
	out := Empty(t.Device(), t.dtype, t.Shape()...)
	CopyKernel.Run(t.Device(), CopyParams{Out: out.view(), X: t.layout(), N: out.Len()})
	return out
}

// Reshape returns t with a new shape of the same size; one dimension may be
// −1 (inferred). It is a view when t is contiguous, else a copy.
func (t *Tensor) Reshape(shape ...int) *Tensor {
	shape = slices.Clone(shape)
	infer, n := -1, 1
	for i, s := range shape {
		switch {
		case s == -1 && infer < 0:
			infer = i
		case s < 0:
			panic(fmt.Sprintf("tensor.Reshape: invalid shape %v for %v", shape, t))
		default:
			n *= s
		}
	}
	if infer >= 0 {
		if n == 0 || t.Len()%n != 0 {
			panic(fmt.Sprintf("tensor.Reshape: cannot infer shape %v for %v", shape, t))
		}
		shape[infer] = t.Len() / n
		n *= shape[infer]
	}
	checkShape("Reshape", shape)
	if n != t.Len() {
		panic(fmt.Sprintf("tensor.Reshape: shape %v has %d elements, %v has %d", shape, n, t, t.Len()))
	}
	src := t
	if !t.IsContiguous() {
		src = t.Contiguous()
	}
	strides := make([]int, len(shape))
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		strides[i] = s
		s *= shape[i]
	}
	old := t.Shape()
	v := viewOp("Reshape", src, shape, strides, src.offset, func(g *Tensor) *Tensor { return g.Reshape(old...) })
	if src != t {
		// The view holds its own reference; the graph keeps src alive.
		if !needsGrad(src) {
			src.Release()
		}
	}
	return v
}

// Flatten reshapes t to [Dim(0), rest].
func (t *Tensor) Flatten() *Tensor {
	if t.rank == 0 {
		return t.Reshape(1, 1)
	}
	return t.Reshape(t.shape[0], -1)
}

// Permute reorders the dimensions: dimension i of the result is dimension
// perm[i] of t. It is a view.
func (t *Tensor) Permute(perm ...int) *Tensor {
	if len(perm) != t.rank {
		panic(fmt.Sprintf("tensor.Permute: permutation %v for shape %v", perm, t.Shape()))
	}
	seen := make([]bool, t.rank)
	shape, strides := make([]int, t.rank), make([]int, t.rank)
	inv := make([]int, t.rank)
	for i, p := range perm {
		if p < 0 || p >= t.rank || seen[p] {
			panic(fmt.Sprintf("tensor.Permute: invalid permutation %v for shape %v", perm, t.Shape()))
		}
		seen[p] = true
		shape[i], strides[i] = t.shape[p], t.strides[p]
		inv[p] = i
	}
	return viewOp("Permute", t, shape, strides, t.offset, func(g *Tensor) *Tensor { return g.Permute(inv...) })
}

// Transpose swaps two dimensions (a view).
func (t *Tensor) Transpose(i, j int) *Tensor {
	i, j = t.axis("Transpose", i), t.axis("Transpose", j)
	perm := make([]int, t.rank)
	for k := range perm {
		perm[k] = k
	}
	perm[i], perm[j] = j, i
	return t.Permute(perm...)
}

// T transposes a matrix's last two dimensions (a view).
func (t *Tensor) T() *Tensor {
	if t.rank < 2 {
		panic(fmt.Sprintf("tensor.T: need at least 2 dimensions, have %v", t.Shape()))
	}
	return t.Transpose(-1, -2)
}

// Slice returns elements [start, end) along axis (a view).
func (t *Tensor) Slice(axis, start, end int) *Tensor {
	a := t.axis("Slice", axis)
	if start < 0 || end < start || end > t.shape[a] {
		panic(fmt.Sprintf("tensor.Slice: range [%d, %d) out of bounds for axis %d of shape %v", start, end, axis, t.Shape()))
	}
	shape := slices.Clone(t.Shape())
	shape[a] = end - start
	full := slices.Clone(t.Shape())
	return viewOp("Slice", t, shape, t.Strides(), t.offset+start*t.strides[a], func(g *Tensor) *Tensor {
		// Pad the gradient with zeros back to the full shape.
		z := Zeros(g.Device(), full...)
		copyStrided(z.sliceRaw(a, start, end), g)
		return z
	})
}

// Unsqueeze inserts a dimension of size 1 at axis (a view).
func (t *Tensor) Unsqueeze(axis int) *Tensor {
	if axis < 0 {
		axis += t.rank + 1
	}
	if axis < 0 || axis > t.rank {
		panic(fmt.Sprintf("tensor.Unsqueeze: axis %d out of range for shape %v", axis, t.Shape()))
	}
	shape := slices.Insert(slices.Clone(t.Shape()), axis, 1)
	return t.Reshape(shape...)
}

// Squeeze removes dimension axis, which must have size 1.
func (t *Tensor) Squeeze(axis int) *Tensor {
	a := t.axis("Squeeze", axis)
	if t.shape[a] != 1 {
		panic(fmt.Sprintf("tensor.Squeeze: axis %d of shape %v is not 1", axis, t.Shape()))
	}
	return t.Reshape(slices.Delete(slices.Clone(t.Shape()), a, a+1)...)
}

// BroadcastTo expands t to shape by NumPy broadcasting (a view with zero
// strides); its gradient sums over the expanded dimensions.
func (t *Tensor) BroadcastTo(shape ...int) *Tensor {
	s := BroadcastShapes("BroadcastTo", t.Shape(), shape)
	if !slices.Equal(s, shape) {
		panic(fmt.Sprintf("tensor.BroadcastTo: %v cannot broadcast to %v", t.Shape(), shape))
	}
	l := t.layoutAs(shape)
	old := slices.Clone(t.Shape())
	return viewOp("BroadcastTo", t, shape, l.Strides[:l.Rank], t.offset, func(g *Tensor) *Tensor {
		r := sumTo(g, old)
		if r == g {
			return g
		}
		return r
	})
}

// Concat joins tensors along axis; all other dimensions must agree.
func Concat(axis int, ts ...*Tensor) *Tensor {
	if len(ts) == 0 {
		panic("tensor.Concat: no tensors")
	}
	d := sameDevice("Concat", ts...)
	a := ts[0].axis("Concat", axis)
	shape := slices.Clone(ts[0].Shape())
	shape[a] = 0
	for _, t := range ts {
		if t.rank != len(shape) || t.dtype != ts[0].dtype {
			panic(fmt.Sprintf("tensor.Concat: %v does not match %v", t, ts[0]))
		}
		for i := range shape {
			if i != a && t.shape[i] != shape[i] {
				panic(fmt.Sprintf("tensor.Concat: shapes %v and %v differ outside axis %d", ts[0].Shape(), t.Shape(), axis))
			}
		}
		shape[a] += t.shape[a]
	}
	out := Empty(d, ts[0].dtype, shape...)
	// Copy each part into its slice of out: out is contiguous, so a part's
	// destination is the contiguous tensor formed by moving axis a first.
	off := 0
	for _, t := range ts {
		dst := out.sliceRaw(a, off, off+t.shape[a])
		copyStrided(dst, t)
		off += t.shape[a]
	}
	if needsGrad(ts...) {
		sizes := make([]int, len(ts))
		for i, t := range ts {
			sizes[i] = t.shape[a]
		}
		record(out, "Concat", ts, func(g *Tensor) []*Tensor {
			gs := make([]*Tensor, len(sizes))
			off := 0
			for i, s := range sizes {
				v := g.nograd().sliceRaw(a, off, off+s)
				gs[i] = copyOf(v)
				off += s
			}
			return gs
		})
	}
	return out
}

// sliceRaw is an unrecorded borrowed slice view (no reference held).
func (t *Tensor) sliceRaw(a, start, end int) *Tensor {
	v := *t
	v.requiresGrad, v.grad, v.node = false, nil, nil
	v.shape[a] = end - start
	v.offset += start * t.strides[a]
	return &v
}

// copyStrided copies src into dst (same shape), where dst is a strided view
// of a contiguous tensor: elements are copied in blocks along dst's
// innermost contiguous run.
func copyStrided(dst, src *Tensor) {
	if dst.IsContiguous() {
		CopyKernel.Run(dst.Device(), CopyParams{Out: dst.view(), X: src.layout(), N: src.Len()})
		return
	}
	// Find the outer dimensions that make dst non-contiguous and copy one
	// contiguous block per outer index.
	k := dst.rank
	want := 1
	for k > 0 && (dst.shape[k-1] == 1 || dst.strides[k-1] == want) {
		want *= dst.shape[k-1]
		k--
	}
	outer := numel(dst.shape[:k])
	idx := make([]int, k)
	for o := range outer {
		rem := o
		for i := k - 1; i >= 0; i-- {
			idx[i] = rem % dst.shape[i]
			rem /= dst.shape[i]
		}
		dOff, sOff := dst.offset, src.offset
		for i := range k {
			dOff += idx[i] * dst.strides[i]
			sOff += idx[i] * src.strides[i]
		}
		sl := Layout{Buf: src.live().buf, Off: sOff, Rank: src.rank - k}
		copy(sl.Shape[:], src.shape[k:src.rank])
		copy(sl.Strides[:], src.strides[k:src.rank])
		CopyKernel.Run(dst.Device(), CopyParams{Out: View{Buf: dst.live().buf, Off: dOff}, X: sl, N: want})
	}
}

// Stack joins same-shaped tensors along a new axis.
func Stack(axis int, ts ...*Tensor) *Tensor {
	if len(ts) == 0 {
		panic("tensor.Stack: no tensors")
	}
	us := make([]*Tensor, len(ts))
	for i, t := range ts {
		if !slices.Equal(t.Shape(), ts[0].Shape()) {
			panic(fmt.Sprintf("tensor.Stack: shapes %v and %v differ", ts[0].Shape(), t.Shape()))
		}
		us[i] = t.Unsqueeze(axis)
	}
	out := Concat(axis, us...)
	if !needsGrad(us...) {
		for _, u := range us {
			u.Release()
		}
	}
	return out
}

// Split cuts t along axis into parts of the given sizes (views).
func (t *Tensor) Split(axis int, sizes ...int) []*Tensor {
	a := t.axis("Split", axis)
	total := 0
	for _, s := range sizes {
		if s < 0 {
			panic(fmt.Sprintf("tensor.Split: negative size in %v", sizes))
		}
		total += s
	}
	if total != t.shape[a] {
		panic(fmt.Sprintf("tensor.Split: sizes %v do not sum to %d (axis %d of %v)", sizes, t.shape[a], axis, t.Shape()))
	}
	parts := make([]*Tensor, len(sizes))
	off := 0
	for i, s := range sizes {
		parts[i] = t.Slice(a, off, off+s)
		off += s
	}
	return parts
}

// Assign copies src's values into t in place (same shape and dtype, any
// layout of src; src may be on another device). It is not recorded: use it
// on leaves — loading weights into parameters keeps the parameter tensors
// (and so an optimizer's references to them) the same.
func (t *Tensor) Assign(src *Tensor) {
	if !slices.Equal(t.Shape(), src.Shape()) || t.dtype != src.dtype || t.node != nil || !t.IsContiguous() {
		panic(fmt.Sprintf("tensor.Assign: %v into %v (want the same shape and dtype, into a contiguous leaf)", src, t))
	}
	if src.Device() != t.Device() {
		src = src.To(t.Device())
		defer src.Release()
	}
	CopyKernel.Run(t.Device(), CopyParams{Out: t.view(), X: src.layout(), N: t.Len()})
}

package tensor

import "github.com/ingotml/ingot/internal/vmath"

// Fast paths of the CPU kernels for the layouts training uses most: dense
// operands go straight to internal/vmath's vectorised kernels (which split
// large slices across the worker pool themselves); everything else takes
// the general strided loops in cpu.go.

// vmathUnary maps unary ops to vmath kernels.
var vmathUnary = map[UnaryOp]func(dst, x []float32){
	OpExp: vmath.Exp, OpLog: vmath.Log, OpLog1p: vmath.Log1p,
	OpTanh: vmath.Tanh, OpSigmoid: vmath.Sigmoid, OpSoftplus: vmath.Softplus,
}

// unaryKernel is op over dense slices (out may be x): a vector kernel, or,
// for the ops without one, a parallel loop over the scalar form.
func unaryKernel(op UnaryOp, alpha, beta float32) func(out, x []float32) {
	if fn := vmathUnary[op]; fn != nil {
		return fn
	}
	switch op {
	case OpAffine:
		if beta == 0 {
			return func(out, x []float32) { vmath.Scale(out, x, alpha) }
		}
		if alpha == 1 {
			return func(out, x []float32) { vmath.AddConst(out, x, beta) }
		}
	case OpNeg:
		return func(out, x []float32) { vmath.Scale(out, x, -1) }
	case OpRelu:
		return vmath.Relu
	case OpLeakyRelu:
		return func(out, x []float32) { vmath.LeakyRelu(out, x, alpha) }
	}
	fn := unaryFn(op, alpha, beta)
	return func(out, x []float32) {
		forRange(len(x), 4, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				out[i] = fn(x[i])
			}
		})
	}
}

// binaryKernel is op over dense slices (out may be a or b): a vector
// kernel, or, for the ops without one, a parallel loop over the scalar
// form. For the activation gradients a is the activation's input or output
// and b the upstream gradient.
func binaryKernel(op BinaryOp, alpha, beta float32) func(out, a, b []float32) {
	if fn := vmathBinary[op]; fn != nil {
		return fn
	}
	switch op {
	case OpReluGrad:
		return vmath.ReluGrad
	case OpLeakyReluGrad:
		return func(out, a, b []float32) { vmath.LeakyReluGrad(out, a, b, alpha) }
	case OpTanhGrad:
		return vmath.TanhGrad
	case OpSigmoidGrad:
		return vmath.SigmoidGrad
	}
	fn := binaryFn(op, alpha, beta)
	return func(out, a, b []float32) {
		forRange(len(a), 2, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				out[i] = fn(a[i], b[i])
			}
		})
	}
}

var vmathBinary = map[BinaryOp]func(dst, a, b []float32){
	OpAdd: vmath.Add, OpSub: vmath.Sub, OpMul: vmath.Mul, OpDiv: vmath.Div,
}

// rowBroadcast reports whether l repeats a dense vector of its innermost
// `inner` elements (a bias row broadcast over the leading dimensions), and
// that inner length.
func rowBroadcast(l *Layout) (inner int, ok bool) {
	inner = 1
	i := l.Rank - 1
	for ; i >= 0 && l.Strides[i] == inner; i-- {
		inner *= l.Shape[i]
	}
	for ; i >= 0; i-- {
		if l.Strides[i] != 0 && l.Shape[i] != 1 {
			return 0, false
		}
	}
	return inner, inner > 0
}

// fastBinary handles dense operands and a dense A with a broadcast row B.
func fastBinary(p BinaryParams) bool {
	if !p.A.Contiguous() {
		if p.B.Contiguous() {
			return fastMidBroadcast(p.Op, p.N, f32(p.Out, p.N), f32(View{p.B.Buf, p.B.Off}, p.N), &p.A, true)
		}
		return false
	}
	out, a := f32(p.Out, p.N), f32(View{p.A.Buf, p.A.Off}, p.N)
	if p.Op == OpAxpy && p.B.Contiguous() && p.Out.Buf == p.A.Buf && p.Out.Off == p.A.Off {
		vmath.Axpy(out, f32(View{p.B.Buf, p.B.Off}, p.N), p.Alpha)
		return true
	}
	if p.B.Contiguous() {
		binaryKernel(p.Op, p.Alpha, p.Beta)(out, a, f32(View{p.B.Buf, p.B.Off}, p.N))
		return true
	}
	fn := vmathBinary[p.Op]
	if fn == nil {
		return false
	}
	inner, ok := rowBroadcast(&p.B)
	if !ok || inner < 16 {
		return fastMidBroadcast(p.Op, p.N, out, a, &p.B, false)
	}
	b := f32(View{p.B.Buf, p.B.Off}, inner)
	forRange(p.N/inner, inner, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			fn(out[r*inner:(r+1)*inner], a[r*inner:(r+1)*inner], b)
		}
	})
	return true
}

// fastSoftmax handles softmax over the last axis.
func fastSoftmax(p SoftmaxParams) bool {
	if p.Inner != 1 || p.Axis == 0 {
		return false
	}
	n := p.Outer * p.Axis
	out, x := f32(p.Out, n), f32(p.X, n)
	if p.Log {
		vmath.LogSoftmaxRows(out, x, p.Outer, p.Axis)
	} else {
		vmath.SoftmaxRows(out, x, p.Outer, p.Axis)
	}
	return true
}

// midBroadcast reports whether l is a dense block of `mid` elements spread
// over the middle dimensions of its shape and broadcast over `outer`
// leading and `inner` trailing elements — a convolution's bias [C,1,1]
// against [N,C,H,W], or a scalar (mid = 1).
func midBroadcast(l *Layout) (outer, mid, inner int, ok bool) {
	lo, hi := -1, -1
	for d := 0; d < l.Rank; d++ {
		if l.Strides[d] != 0 && l.Shape[d] != 1 {
			if lo < 0 {
				lo = d
			}
			hi = d
		}
	}
	if lo < 0 { // a scalar broadcast everywhere
		return 1, 1, numel(l.Shape[:l.Rank]), true
	}
	want := 1
	for d := hi; d >= lo; d-- {
		if l.Shape[d] != 1 && l.Strides[d] != want {
			return 0, 0, 0, false
		}
		want *= l.Shape[d]
	}
	return numel(l.Shape[:lo]), want, numel(l.Shape[hi+1 : l.Rank]), true
}

// fastMidBroadcast computes out = dense op l (or l op dense when swapped)
// where l is constant along runs of at least 16 elements:
// out[o,m,i] = dense[o,m,i] op l[m] — biases and BatchNorm's per-channel
// terms. It reports false when the shapes or the op do
// not fit.
func fastMidBroadcast(op BinaryOp, n int, out, dense []float32, l *Layout, swapped bool) bool {
	outer, mid, inner, ok := midBroadcast(l)
	if !ok || inner < 16 || outer*mid*inner != n {
		return false
	}
	var fn func(dst, x []float32, v float32)
	switch op {
	case OpAdd:
		fn = vmath.AddConst
	case OpMul:
		fn = vmath.Scale
	case OpSub:
		if swapped { // v − x = (−x) + v exactly
			fn = func(dst, x []float32, v float32) {
				vmath.Scale(dst, x, -1)
				vmath.AddConst(dst, dst, v)
			}
		} else { // x − v = x + (−v) exactly
			fn = func(dst, x []float32, v float32) { vmath.AddConst(dst, x, -v) }
		}
	case OpDiv:
		if swapped {
			fn = func(dst, x []float32, v float32) {
				for i, e := range x {
					dst[i] = v / e
				}
			}
		} else {
			fn = func(dst, x []float32, v float32) {
				for i, e := range x {
					dst[i] = e / v
				}
			}
		}
	default:
		return false
	}
	b := f32(View{l.Buf, l.Off}, mid)
	forRange(outer*mid, inner, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			fn(out[r*inner:(r+1)*inner], dense[r*inner:(r+1)*inner], b[r%mid])
		}
	})
	return true
}

package tensor

import (
	"fmt"
	"slices"
)

// BroadcastShapes returns the NumPy broadcast of two shapes, or panics naming
// op and both shapes.
func BroadcastShapes(op string, a, b []int) []int {
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
		switch {
		case da == db, db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			panic(fmt.Sprintf("tensor.%s: shapes %v and %v do not broadcast", op, a, b))
		}
	}
	return out
}

// sumTo sums g over the dimensions broadcasting added, giving shape. It
// returns g itself when no reduction is needed.
func sumTo(g *Tensor, shape []int) *Tensor {
	gs := g.Shape()
	if slices.Equal(gs, shape) {
		return g
	}
	lead := len(gs) - len(shape)
	var axes []int
	for i := range gs {
		if i < lead || (shape[i-lead] == 1 && gs[i] != 1) {
			axes = append(axes, i)
		}
	}
	s := reduce(ReduceSum, g.nograd(), true, axes)
	r := s.Reshape(shape...)
	s.Release()
	return r
}

func floatOnly(op string, ts ...*Tensor) {
	for _, t := range ts {
		if t.dtype != Float32 {
			panic(fmt.Sprintf("tensor.%s: want float32 operands, have %v", op, t))
		}
	}
}

// unary applies op without recording.
func unary(op UnaryOp, x *Tensor, alpha, beta float32) *Tensor {
	out := Empty(x.Device(), Float32, x.Shape()...)
	UnaryKernel.Run(x.Device(), UnaryParams{Op: op, Alpha: alpha, Beta: beta, Out: out.view(), X: x.layout(), N: out.Len()})
	return out
}

// binary applies op with broadcasting, without recording.
func binary(op BinaryOp, a, b *Tensor, alpha, beta float32) *Tensor {
	d := sameDevice(binaryName[op], a, b)
	shape := BroadcastShapes(binaryName[op], a.Shape(), b.Shape())
	out := Empty(d, Float32, shape...)
	BinaryKernel.Run(d, BinaryParams{Op: op, Alpha: alpha, Beta: beta, Out: out.view(), A: a.layoutAs(shape), B: b.layoutAs(shape), N: out.Len()})
	return out
}

var binaryName = map[BinaryOp]string{
	OpAdd: "Add", OpSub: "Sub", OpMul: "Mul", OpDiv: "Div", OpPow: "Pow", OpMax: "Maximum", OpMin: "Minimum",
	OpGreater: "Greater", OpEqual: "Equal", OpTanhGrad: "TanhGrad", OpSigmoidGrad: "SigmoidGrad",
	OpReluGrad: "ReluGrad", OpLeakyReluGrad: "LeakyReluGrad", OpSoftplusGrad: "SoftplusGrad", OpClampGrad: "ClampGrad", OpAxpy: "Axpy",
}

// unaryOp is a recorded unary op; grad computes the input gradient from the
// borrowed input x, output y and upstream gradient g.
func unaryOp(name string, op UnaryOp, x *Tensor, alpha, beta float32, grad func(x, y, g *Tensor) *Tensor) *Tensor {
	floatOnly(name, x)
	y := unary(op, x, alpha, beta)
	if needsGrad(x) && grad != nil {
		xb, yb := x.nograd(), y.nograd()
		record(y, name, []*Tensor{x}, func(g *Tensor) []*Tensor { return []*Tensor{grad(xb, yb, g)} })
	}
	return y
}

func gradBinary(op BinaryOp, alpha float32) func(x, y, g *Tensor) *Tensor {
	return func(x, y, g *Tensor) *Tensor {
		in := x
		if op == OpTanhGrad || op == OpSigmoidGrad {
			in = y
		}
		return binary(op, in, g, alpha, 0)
	}
}

// Neg returns −x.
func Neg(x *Tensor) *Tensor {
	return unaryOp("Neg", OpNeg, x, 0, 0, func(_, _, g *Tensor) *Tensor { return unary(OpNeg, g, 0, 0) })
}

// Exp returns eˣ.
func Exp(x *Tensor) *Tensor {
	return unaryOp("Exp", OpExp, x, 0, 0, func(_, y, g *Tensor) *Tensor { return binary(OpMul, g, y, 0, 0) })
}

// Log returns ln x.
func Log(x *Tensor) *Tensor {
	return unaryOp("Log", OpLog, x, 0, 0, func(x, _, g *Tensor) *Tensor { return binary(OpDiv, g, x, 0, 0) })
}

// Log1p returns ln(1+x), accurate near 0.
func Log1p(x *Tensor) *Tensor {
	return unaryOp("Log1p", OpLog1p, x, 0, 0, func(x, _, g *Tensor) *Tensor {
		x1 := unary(OpAffine, x, 1, 1)
		defer x1.Release()
		return binary(OpDiv, g, x1, 0, 0)
	})
}

// Sqrt returns √x.
func Sqrt(x *Tensor) *Tensor {
	return unaryOp("Sqrt", OpSqrt, x, 0, 0, func(_, y, g *Tensor) *Tensor {
		h := binary(OpDiv, g, y, 0, 0)
		defer h.Release()
		return unary(OpAffine, h, 0.5, 0)
	})
}

// Abs returns |x|; its gradient at 0 is 0.
func Abs(x *Tensor) *Tensor {
	return unaryOp("Abs", OpAbs, x, 0, 0, func(x, _, g *Tensor) *Tensor {
		s := unary(OpSign, x, 0, 0)
		defer s.Release()
		return binary(OpMul, g, s, 0, 0)
	})
}

// Sign returns −1, 0 or 1 (no gradient flows through it).
func Sign(x *Tensor) *Tensor { return unaryOp("Sign", OpSign, x, 0, 0, nil) }

// Tanh returns tanh x.
func Tanh(x *Tensor) *Tensor { return unaryOp("Tanh", OpTanh, x, 0, 0, gradBinary(OpTanhGrad, 0)) }

// Sigmoid returns 1/(1+e⁻ˣ).
func Sigmoid(x *Tensor) *Tensor {
	return unaryOp("Sigmoid", OpSigmoid, x, 0, 0, gradBinary(OpSigmoidGrad, 0))
}

// Relu returns max(x, 0); its gradient at 0 is 0.
func Relu(x *Tensor) *Tensor { return unaryOp("Relu", OpRelu, x, 0, 0, gradBinary(OpReluGrad, 0)) }

// LeakyRelu returns x for x > 0, else slope·x.
func LeakyRelu(x *Tensor, slope float32) *Tensor {
	return unaryOp("LeakyRelu", OpLeakyRelu, x, slope, 0, gradBinary(OpLeakyReluGrad, slope))
}

// Softplus returns ln(1+eˣ), computed stably.
func Softplus(x *Tensor) *Tensor {
	return unaryOp("Softplus", OpSoftplus, x, 0, 0, gradBinary(OpSoftplusGrad, 0))
}

// PowScalar returns xᵖ.
func PowScalar(x *Tensor, p float32) *Tensor {
	return unaryOp("PowScalar", OpPowScalar, x, p, 0, func(x, _, g *Tensor) *Tensor {
		d := unary(OpPowScalar, x, p-1, 0)
		defer d.Release()
		d2 := unary(OpAffine, d, p, 0)
		defer d2.Release()
		return binary(OpMul, g, d2, 0, 0)
	})
}

// Clamp limits x to [lo, hi]; the gradient is zero outside.
func Clamp(x *Tensor, lo, hi float32) *Tensor {
	if !(lo <= hi) {
		panic(fmt.Sprintf("tensor.Clamp: lo %v > hi %v", lo, hi))
	}
	return unaryOp("Clamp", OpClamp, x, lo, hi, func(x, _, g *Tensor) *Tensor { return binary(OpClampGrad, x, g, lo, hi) })
}

// Affine returns a·x + b.
func Affine(x *Tensor, a, b float32) *Tensor {
	return unaryOp("Affine", OpAffine, x, a, b, func(_, _, g *Tensor) *Tensor { return unary(OpAffine, g, a, 0) })
}

// Scale returns s·x.
func Scale(x *Tensor, s float32) *Tensor { return Affine(x, s, 0) }

// AddScalar returns x + s.
func AddScalar(x *Tensor, s float32) *Tensor { return Affine(x, 1, s) }

// binaryOp is a recorded broadcasting binary op; grad returns the
// gradients for a and b at the broadcast shape (nil for none).
func binaryOp(op BinaryOp, a, b *Tensor, grad func(a, b, y, g *Tensor) (ga, gb *Tensor)) *Tensor {
	name := binaryName[op]
	floatOnly(name, a, b)
	y := binary(op, a, b, 0, 0)
	if needsGrad(a, b) && grad != nil {
		ab, bb, yb := a.nograd(), b.nograd(), y.nograd()
		record(y, name, []*Tensor{a, b}, func(g *Tensor) []*Tensor {
			ga, gb := grad(ab, bb, yb, g)
			return []*Tensor{reduceGrad(ga, g, ab), reduceGrad(gb, g, bb)}
		})
	}
	return y
}

// reduceGrad sums a broadcast-shaped gradient back to x's shape.
func reduceGrad(gx, g, x *Tensor) *Tensor {
	if gx == nil {
		return nil
	}
	r := sumTo(gx, x.Shape())
	if r != gx && gx != g {
		gx.Release()
	}
	return r
}

// Add returns a + b with broadcasting.
func Add(a, b *Tensor) *Tensor {
	return binaryOp(OpAdd, a, b, func(_, _, _, g *Tensor) (*Tensor, *Tensor) { return g, g })
}

// Sub returns a − b with broadcasting.
func Sub(a, b *Tensor) *Tensor {
	return binaryOp(OpSub, a, b, func(_, _, _, g *Tensor) (*Tensor, *Tensor) { return g, unary(OpNeg, g, 0, 0) })
}

// Mul returns a·b with broadcasting.
func Mul(a, b *Tensor) *Tensor {
	return binaryOp(OpMul, a, b, func(a, b, _, g *Tensor) (*Tensor, *Tensor) {
		return binary(OpMul, g, b, 0, 0), binary(OpMul, g, a, 0, 0)
	})
}

// Div returns a/b with broadcasting.
func Div(a, b *Tensor) *Tensor {
	return binaryOp(OpDiv, a, b, func(a, b, y, g *Tensor) (*Tensor, *Tensor) {
		ga := binary(OpDiv, g, b, 0, 0)
		t := binary(OpMul, ga, y, 0, 0)
		gb := unary(OpNeg, t, 0, 0)
		t.Release()
		return ga, gb
	})
}

// Pow returns aᵇ with broadcasting.
func Pow(a, b *Tensor) *Tensor {
	return binaryOp(OpPow, a, b, func(a, b, y, g *Tensor) (*Tensor, *Tensor) {
		bm1 := unary(OpAffine, b, 1, -1)
		p := binary(OpPow, a, bm1, 0, 0)
		t := binary(OpMul, p, b, 0, 0)
		ga := binary(OpMul, g, t, 0, 0)
		la := unary(OpLog, a, 0, 0)
		t2 := binary(OpMul, y, la, 0, 0)
		gb := binary(OpMul, g, t2, 0, 0)
		for _, x := range []*Tensor{bm1, p, t, la, t2} {
			x.Release()
		}
		return ga, gb
	})
}

// Maximum returns the elementwise larger of a and b; at ties the gradient
// is split evenly.
func Maximum(a, b *Tensor) *Tensor {
	return binaryOp(OpMax, a, b, func(a, b, _, g *Tensor) (*Tensor, *Tensor) { return splitGrad(a, b, g) })
}

// Minimum returns the elementwise smaller of a and b; at ties the gradient
// is split evenly.
func Minimum(a, b *Tensor) *Tensor {
	return binaryOp(OpMin, a, b, func(a, b, _, g *Tensor) (*Tensor, *Tensor) { return splitGrad(b, a, g) })
}

// splitGrad routes g to a where a > b, to b where b > a, half each at ties.
func splitGrad(a, b, g *Tensor) (*Tensor, *Tensor) {
	gt := binary(OpGreater, a, b, 0, 0)
	eq := binary(OpEqual, a, b, 0, 0)
	h := unary(OpAffine, eq, 0.5, 0)
	w := binary(OpAdd, gt, h, 0, 0)
	ga := binary(OpMul, g, w, 0, 0)
	gb := binary(OpSub, g, ga, 0, 0)
	for _, x := range []*Tensor{gt, eq, h, w} {
		x.Release()
	}
	return ga, gb
}

// Greater returns 1 where a > b, else 0 (no gradient).
func Greater(a, b *Tensor) *Tensor { return binaryOp(OpGreater, a, b, nil) }

// Equal returns 1 where a == b, else 0 (no gradient).
func Equal(a, b *Tensor) *Tensor { return binaryOp(OpEqual, a, b, nil) }

// Where returns a where cond is nonzero, else b, with broadcasting over all
// three. cond receives no gradient.
func Where(cond, a, b *Tensor) *Tensor {
	floatOnly("Where", cond, a, b)
	d := sameDevice("Where", cond, a, b)
	shape := BroadcastShapes("Where", BroadcastShapes("Where", cond.Shape(), a.Shape()), b.Shape())
	y := Empty(d, Float32, shape...)
	WhereKernel.Run(d, WhereParams{Out: y.view(), Cond: cond.layoutAs(shape), A: a.layoutAs(shape), B: b.layoutAs(shape), N: y.Len()})
	if needsGrad(a, b) {
		cb, ab, bb := cond.nograd(), a.nograd(), b.nograd()
		record(y, "Where", []*Tensor{a, b}, func(g *Tensor) []*Tensor {
			z := Zeros(d)
			defer z.Release()
			ga := whereNoGrad(cb, g, z, shape)
			gb := whereNoGrad(cb, z, g, shape)
			return []*Tensor{reduceGrad(ga, g, ab), reduceGrad(gb, g, bb)}
		})
	}
	return y
}

func whereNoGrad(cond, a, b *Tensor, shape []int) *Tensor {
	y := Empty(cond.Device(), Float32, shape...)
	WhereKernel.Run(y.Device(), WhereParams{Out: y.view(), Cond: cond.layoutAs(shape), A: a.layoutAs(shape), B: b.layoutAs(shape), N: y.Len()})
	return y
}

// Cast converts between float32 and int32 (float to int truncates toward
// zero). No gradient flows through it.
func Cast(t *Tensor, dt DType) *Tensor {
	c, owned := dense(t)
	out := Empty(t.Device(), dt, t.Shape()...)
	CastKernel.Run(t.Device(), CastParams{Out: out.view(), OutType: dt, X: c.view(), XType: t.dtype, N: t.Len()})
	if owned {
		c.Release()
	}
	return out
}

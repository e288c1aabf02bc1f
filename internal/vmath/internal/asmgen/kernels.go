package main

import "math"

// Polynomial coefficients: the same float32 values as generic.go.
var (
	expPoly  = []float32{0x1.fffffcp-2, 0x1.555492p-3, 0x1.5558f2p-5, 0x1.123ap-7, 0x1.6a2404p-10}
	logPoly  = []float32{-0x1.fffff8p-2, 0x1.55555p-2, -0x1.000426p-2, 0x1.99a3f4p-3, -0x1.54276ap-3, 0x1.22718ap-3, -0x1.0f3768p-3, 0x1.0848d2p-3, -0x1.383116p-4}
	tanhPoly = []float32{-0x1.55554ep-2, 0x1.110f5p-3, -0x1.b9cd64p-5, 0x1.6308b2p-6, -0x1.0f2d6ap-7, 0x1.53d878p-9, -0x1.e160dcp-12}
)

const (
	signBit  = 0x80000000
	absMask  = 0x7fffffff
	infBits  = 0x7f800000
	ninfBits = 0xff800000
	nanBits  = 0x7fc00000
)

var (
	ln2Hi = float32(math.Ln2)
	ln2Lo = float32(math.Ln2 - float64(float32(math.Ln2)))
)

// poly evaluates c[0] + c[1] t + ... by Horner into d (d must differ from t).
func poly(b Backend, d, t Operand, c []float32) {
	k := len(c) - 1
	b.FMA(d, t, C(c[k]), C(c[k-1]))
	for i := k - 2; i >= 0; i-- {
		b.FMA(d, d, t, C(c[i]))
	}
}

// expCore sets d = e**x (x is clobbered: clamped to [-104, 89], where e**x
// has overflowed or underflowed completely; NaN passes through because max
// and min propagate their second operand's NaN on amd64 and any NaN on
// arm64). n, r, p, t1, t2 are temporaries; t2 may be r.
func expCore(b Backend, d, x, n, r, p, t1, t2 Operand) {
	b.Bin("max", x, C(-104), x)
	b.Bin("min", x, C(89), x)
	b.Bin("mul", n, x, C(math.Log2E))
	b.Round(n, n)
	b.FNMA(r, n, C(ln2Hi), x)
	b.FNMA(r, n, C(ln2Lo), r)
	// 1 + r·(1 + r·(e0 + …)): the last step rounds once, and the one
	// before it contributes at most |r| ≤ 0.35 of its half-ulp.
	poly(b, p, r, append([]float32{1, 1}, expPoly...))
	b.Scalef(d, p, n, t1, t2)
}

// scalefEmu is Scalef for targets without VSCALEFPS: p·2**n1·2**n2 with
// n1 = n>>1, n2 = n-n1, both normal exponents for n in [-150, 129], so a
// subnormal result is rounded once (by the second product).
func scalefEmu(b Backend, d, p, n, t1, t2 Operand) {
	b.CvtFI(t1, n)
	b.Sar(t2, t1, 1)
	b.Bin("isub", t1, t1, t2)
	b.Bin("iadd", t2, t2, CI(127))
	b.Shl(t2, t2, 23)
	b.Bin("iadd", t1, t1, CI(127))
	b.Shl(t1, t1, 23)
	b.Bin("mul", d, p, t2)
	b.Bin("mul", d, d, t1)
}

// logCore sets d = ln u for positive finite u (u ≥ 2**-126 unless eadj
// rescales it), plus corr if given (a correction far smaller than the
// result's last digits before it is added). t0..t3 are temporaries.
func logCore(b Backend, d, u Operand, eadj, corr *Operand, t0, t1, t2, t3 Operand) {
	b.Bin("isub", t0, u, CI(0x3f3504f3)) // bits of √½
	b.Sar(t1, t0, 23)
	b.CvtIF(t1, t1) // e: u = 2**e·m, m in [√½, √2)
	if eadj != nil {
		b.Bin("sub", t1, t1, *eadj)
	}
	b.Bin("and", t0, t0, CI(0x007fffff))
	b.Bin("iadd", t0, t0, CI(0x3f3504f3))
	b.Bin("sub", t2, t0, C(1)) // f = m-1, exact
	poly(b, t3, t2, logPoly)
	b.Bin("mul", t0, t2, t2)
	b.Bin("mul", t3, t3, t0) // f²·q
	if corr != nil {
		b.Bin("add", t3, t3, *corr)
	}
	b.FMA(t3, t1, C(ln2Lo), t3)
	b.Bin("add", t3, t3, t2)
	b.FMA(d, t1, C(ln2Hi), t3)
}

// log1pCore sets d = ln(1+x) for x in [0, 1] without special cases (used
// for log1p(e**-|x|)); clobbers t0..t5.
func log1pCore(b Backend, d, x, t0, t1, t2, t3, t4, t5 Operand) {
	b.Bin("add", t0, x, C(1)) // u = 1+x rounded
	b.Bin("sub", t1, t0, C(1))
	b.Bin("sub", t1, x, t1) // c = x-(u-1), the rounding error
	b.Bin("div", t1, t1, t0)
	logCore(b, d, t0, nil, &t1, t2, t3, t4, t5)
}

var unaryKernels = []Kernel{
	{Name: "exp", Ptrs: []string{"dst", "x"}, Body: func(b Backend) {
		b.Load(V(0), 1)
		expCore(b, V(0), V(0), V(1), V(2), V(3), V(4), V(5))
		b.Store(0, V(0))
	}},
	{Name: "log", Ptrs: []string{"dst", "x"}, Body: func(b Backend) {
		b.Load(V(0), 1)
		b.Cmp("lt", 0, V(0), C(0x1p-126)) // subnormal (or ≤ 0, fixed below)
		b.Bin("mul", V(1), V(0), C(0x1p23))
		b.Sel(V(1), 0, V(1), V(0))
		b.Sel(V(2), 0, C(23), C(0))
		e := V(2)
		logCore(b, V(3), V(1), &e, nil, V(4), V(5), V(6), V(7))
		b.Cmp("gt", 0, V(0), C(0))
		b.Sel(V(3), 0, V(3), CI(nanBits)) // x < 0, NaN
		b.Cmp("eq", 1, V(0), C(0))
		b.Sel(V(3), 1, CI(ninfBits), V(3))
		b.Cmp("eq", 0, V(0), CI(infBits))
		b.Sel(V(3), 0, CI(infBits), V(3))
		b.Store(0, V(3))
	}},
	{Name: "log1p", Ptrs: []string{"dst", "x"}, Body: func(b Backend) {
		b.Load(V(0), 1)
		b.Bin("add", V(1), V(0), C(1))
		b.Bin("sub", V(2), V(1), C(1))
		b.Bin("sub", V(2), V(0), V(2))
		b.Bin("div", V(2), V(2), V(1))
		c := V(2)
		logCore(b, V(3), V(1), nil, &c, V(4), V(5), V(6), V(7))
		b.Cmp("gt", 0, V(1), C(0))
		b.Sel(V(3), 0, V(3), CI(nanBits)) // x < -1, NaN
		b.Cmp("eq", 1, V(1), C(0))
		b.Sel(V(3), 1, CI(ninfBits), V(3)) // x = -1
		b.Cmp("eq", 0, V(1), CI(infBits))
		b.Sel(V(3), 0, CI(infBits), V(3))
		b.Cmp("eq", 1, V(0), C(0))
		b.Sel(V(3), 1, V(0), V(3)) // ±0 keeps its sign
		b.Store(0, V(3))
	}},
	{Name: "tanh", Ptrs: []string{"dst", "x"}, Body: func(b Backend) {
		b.Load(V(0), 1)
		b.Bin("and", V(1), V(0), CI(absMask)) // a = |x|
		b.Bin("mul", V(2), V(1), V(1))
		poly(b, V(3), V(2), tanhPoly)
		b.Bin("mul", V(2), V(2), V(1))
		b.FMA(V(2), V(2), V(3), V(1)) // small |x|: a + a³·p(a²)
		b.Bin("add", V(3), V(1), V(1))
		expCore(b, V(3), V(3), V(4), V(5), V(6), V(7), V(5))
		b.Bin("add", V(3), V(3), C(1))
		b.Bin("div", V(3), C(2), V(3))
		b.Bin("sub", V(3), C(1), V(3)) // 1 - 2/(e**2a + 1)
		b.Cmp("le", 0, V(1), C(0.9))
		b.Sel(V(1), 0, V(2), V(3))
		b.Bin("and", V(0), V(0), CI(signBit))
		b.Bin("or", V(0), V(0), V(1))
		b.Store(0, V(0))
	}},
	{Name: "sigmoid", Ptrs: []string{"dst", "x"}, Body: func(b Backend) {
		// e = e**-|x|; σ = num/(1+e) with num = e for x < 0, else 1. The
		// rounding error δ of 1+e is put back: σ ≈ q - q·δ/(1+e), where
		// 1/(1+e) is q itself for x ≥ 0 and 1-q for x < 0.
		b.Load(V(0), 1)
		b.Bin("or", V(1), V(0), CI(signBit)) // -|x|
		expCore(b, V(1), V(1), V(2), V(3), V(4), V(5), V(6))
		b.Bin("add", V(2), V(1), C(1)) // den
		b.Cmp("lt", 0, V(0), C(0))
		b.Sel(V(3), 0, V(1), C(1))
		b.Bin("div", V(4), V(3), V(2)) // q
		b.Bin("sub", V(5), C(1), V(2))
		b.Bin("add", V(5), V(5), V(1)) // δ = (1-den)+e, exact
		b.Bin("sub", V(6), C(1), V(4))
		b.Sel(V(6), 0, V(6), V(4)) // ≈ 1/den
		b.Bin("mul", V(5), V(4), V(5))
		b.FNMA(V(0), V(5), V(6), V(4))
		b.Store(0, V(0))
	}},
	{Name: "softplus", Ptrs: []string{"dst", "x"}, Body: func(b Backend) {
		b.Load(V(0), 1)
		b.Bin("or", V(1), V(0), CI(signBit))
		expCore(b, V(1), V(1), V(2), V(3), V(4), V(5), V(6))
		log1pCore(b, V(1), V(1), V(2), V(3), V(4), V(5), V(6), V(7))
		b.Bin("max", V(2), C(0), V(0))
		b.Bin("add", V(0), V(2), V(1))
		b.Store(0, V(0))
	}},
	{Name: "relu", Ptrs: []string{"dst", "x"}, Body: func(b Backend) {
		// x <= 0 (ordered: false for NaN, which passes through) gives +0.
		b.Load(V(0), 1)
		b.Cmp("le", 0, V(0), C(0))
		b.Sel(V(0), 0, C(0), V(0))
		b.Store(0, V(0))
	}},
}

var binaryKernels = []Kernel{
	{Name: "add", Ptrs: []string{"dst", "a", "b"}, Body: binOp("add")},
	{Name: "sub", Ptrs: []string{"dst", "a", "b"}, Body: binOp("sub")},
	{Name: "mul", Ptrs: []string{"dst", "a", "b"}, Body: binOp("mul")},
	{Name: "div", Ptrs: []string{"dst", "a", "b"}, Body: binOp("div")},
	{Name: "bce", Ptrs: []string{"dst", "a", "b"}, Body: func(b Backend) {
		b.Load(V(0), 1)
		b.Bin("or", V(1), V(0), CI(signBit))
		expCore(b, V(1), V(1), V(2), V(3), V(4), V(5), V(6))
		log1pCore(b, V(1), V(1), V(2), V(3), V(4), V(5), V(6), V(7))
		b.Bin("max", V(2), C(0), V(0))
		b.Load(V(3), 2)
		b.FNMA(V(2), V(0), V(3), V(2)) // max(x,0) - x·t, one rounding
		b.Bin("add", V(0), V(2), V(1))
		b.Store(0, V(0))
	}},
	// The activation gradients: a is the forward input (ReLU) or output
	// (tanh, sigmoid), b the incoming gradient. Each operation rounds once
	// in the order of the scalar Go definition, with no fused steps, so
	// the results equal it bit for bit.
	{Name: "reluGrad", Ptrs: []string{"dst", "a", "b"}, Body: func(b Backend) {
		b.Load(V(0), 1)
		b.Load(V(1), 2)
		b.Cmp("gt", 0, V(0), C(0)) // false for NaN: gives +0 like a <= 0
		b.Sel(V(0), 0, V(1), C(0)) // selected, not multiplied: Inf·0 would be NaN
		b.Store(0, V(0))
	}},
	{Name: "tanhGrad", Ptrs: []string{"dst", "a", "b"}, Body: func(b Backend) {
		b.Load(V(0), 1)
		b.Load(V(1), 2)
		b.Bin("mul", V(0), V(0), V(0))
		b.Bin("sub", V(0), C(1), V(0))
		b.Bin("mul", V(0), V(1), V(0)) // b·(1 - y·y)
		b.Store(0, V(0))
	}},
	{Name: "sigmoidGrad", Ptrs: []string{"dst", "a", "b"}, Body: func(b Backend) {
		b.Load(V(0), 1)
		b.Load(V(1), 2)
		b.Bin("mul", V(1), V(1), V(0))
		b.Bin("sub", V(0), C(1), V(0))
		b.Bin("mul", V(0), V(1), V(0)) // (b·y)·(1 - y)
		b.Store(0, V(0))
	}},
}

func binOp(op string) func(Backend) {
	return func(b Backend) {
		b.Load(V(0), 1)
		b.Load(V(1), 2)
		b.Bin(op, V(0), V(0), V(1))
		b.Store(0, V(0))
	}
}

var scalarKernels = []Kernel{
	{Name: "scale", Ptrs: []string{"dst", "x"}, Scalars: []string{"s"}, Body: func(b Backend) {
		b.Load(V(0), 1)
		b.Bin("mul", V(0), V(0), S(0))
		b.Store(0, V(0))
	}},
	{Name: "axpy", Ptrs: []string{"dst", "x"}, Scalars: []string{"s"}, Body: func(b Backend) {
		b.Load(V(0), 0)
		b.Load(V(1), 1)
		b.FMA(V(0), V(1), S(0), V(0))
		b.Store(0, V(0))
	}},
	{Name: "addConst", Ptrs: []string{"dst", "x"}, Scalars: []string{"s"}, Body: func(b Backend) {
		b.Load(V(0), 1)
		b.Bin("add", V(0), V(0), S(0))
		b.Store(0, V(0))
	}},
	{Name: "leakyRelu", Ptrs: []string{"dst", "x"}, Scalars: []string{"s"}, Body: func(b Backend) {
		b.Load(V(0), 1)
		b.Bin("mul", V(1), V(0), S(0))
		b.Cmp("gt", 0, V(0), C(0)) // false for NaN: NaN·s is NaN
		b.Sel(V(0), 0, V(0), V(1))
		b.Store(0, V(0))
	}},
	{Name: "leakyReluGrad", Ptrs: []string{"dst", "a", "b"}, Scalars: []string{"s"}, Body: func(b Backend) {
		b.Load(V(0), 1)
		b.Load(V(1), 2)
		b.Bin("mul", V(2), V(1), S(0))
		b.Cmp("gt", 0, V(0), C(0))
		b.Sel(V(0), 0, V(1), V(2))
		b.Store(0, V(0))
	}},
}

var reduceKernels = []Kernel{
	{Name: "expShiftSum", Ptrs: []string{"dst", "x"}, Scalars: []string{"c"}, Accs: []Acc{{Kind: "f64"}}, Body: func(b Backend) {
		b.Load(V(0), 1)
		b.Bin("add", V(0), V(0), S(0))
		expCore(b, V(0), V(0), V(1), V(2), V(3), V(4), V(5))
		b.Store(0, V(0))
		b.AccAddF64(0, V(0))
	}},
	{Name: "expSum", Ptrs: []string{"x"}, Scalars: []string{"c"}, Accs: []Acc{{Kind: "f64"}}, Body: func(b Backend) {
		b.Load(V(0), 0)
		b.Bin("add", V(0), V(0), S(0))
		expCore(b, V(0), V(0), V(1), V(2), V(3), V(4), V(5))
		b.AccAddF64(0, V(0))
	}},
	{Name: "sum", Ptrs: []string{"x"}, Accs: []Acc{{Kind: "f64"}}, Body: func(b Backend) {
		b.Load(V(0), 0)
		b.AccAddF64(0, V(0))
	}},
	{Name: "dot", Ptrs: []string{"a", "b"}, Accs: []Acc{{Kind: "f64"}}, Body: func(b Backend) {
		b.Load(V(0), 0)
		b.Load(V(1), 1)
		b.AccDotF64(0, V(0), V(1))
	}},
	{Name: "max", Ptrs: []string{"x"}, Accs: []Acc{{Kind: "f32", Init: float32(math.Inf(-1))}, {Kind: "f32"}}, Body: func(b Backend) {
		b.Load(V(0), 0)
		b.AccMaxF32(0, V(0))
		b.Bin("sub", V(1), V(0), V(0)) // NaN iff x is NaN or ±Inf
		b.AccAddF32(1, V(1))
	}},
}

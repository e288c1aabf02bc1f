package tensor

// The primitive kernels every device implements. Tensor ops lower to these;
// fused kernels (recurrent cells, optimizer updates, im2col) are declared
// by the packages that use them, in the same way.
//
// Conventions: outputs are contiguous Views; inputs that may be strided or
// broadcast are Layouts; sizes are element counts; float32 unless stated.

// UnaryOp selects a unary elementwise function.
type UnaryOp uint8

// Unary ops. Alpha and Beta are the op's constants where it has any.
const (
	OpNeg       UnaryOp = iota + 1
	OpExp               // e^x
	OpLog               // ln x
	OpSqrt              // √x
	OpAbs               // |x|
	OpSign              // -1, 0 or 1 (NaN stays NaN)
	OpTanh              // tanh x
	OpSigmoid           // 1/(1+e^-x)
	OpRelu              // max(x, 0)
	OpLeakyRelu         // x if x > 0 else Alpha·x
	OpSoftplus          // ln(1+e^x), stable
	OpPowScalar         // x^Alpha
	OpClamp             // min(max(x, Alpha), Beta)
	OpAffine            // Alpha·x + Beta
	OpLog1p             // ln(1+x)
)

// BinaryOp selects a binary elementwise function of (a, b). The *Grad ops
// are the backward passes of unary ops fused with the chain rule: a is the
// op's input or output as named, b the upstream gradient.
type BinaryOp uint8

// Binary ops.
const (
	OpAdd BinaryOp = iota + 1
	OpSub
	OpMul
	OpDiv
	OpPow           // a^b
	OpMax           // max(a, b)
	OpMin           // min(a, b)
	OpGreater       // 1 if a > b else 0
	OpEqual         // 1 if a == b else 0
	OpTanhGrad      // a = tanh output y: b·(1−y²)
	OpSigmoidGrad   // a = sigmoid output y: b·y·(1−y)
	OpReluGrad      // a = input x: b if x > 0 else 0
	OpLeakyReluGrad // a = input x: b if x > 0 else Alpha·b
	OpSoftplusGrad  // a = input x: b·σ(x)
	OpClampGrad     // a = input x: b if Alpha ≤ x ≤ Beta else 0
	OpAxpy          // a + Alpha·b
)

// ReduceOp selects a reduction.
type ReduceOp uint8

// Reductions.
const (
	ReduceSum ReduceOp = iota + 1
	ReduceMax
	ReduceMin
)

// Dist selects a random distribution.
type Dist uint8

// Distributions of RandParams.
const (
	DistUniform   Dist = iota + 1 // uniform on [A, B)
	DistNormal                    // mean A, standard deviation B
	DistBernoulli                 // 1 with probability A, else 0
)

// GemmParams: C = Alpha·op(A)·op(B) + Beta·C for Batch row-major matrices;
// op(A) is M×K, op(B) K×N, C M×N; a Stride of 0 broadcasts an operand.
// Beta = 0 ignores C's old contents, even NaN.
type GemmParams struct {
	TransA, TransB            bool
	M, N, K                   int
	Alpha, Beta               float32
	A, B, C                   View
	LDA, LDB, LDC             int
	Batch                     int
	StrideA, StrideB, StrideC int
}

// UnaryParams: Out[i] = op(X[i]) for N elements.
type UnaryParams struct {
	Op          UnaryOp
	Alpha, Beta float32
	Out         View
	X           Layout
	N           int
}

// BinaryParams: Out[i] = op(A[i], B[i]); A and B are broadcast to one shape.
type BinaryParams struct {
	Op          BinaryOp
	Alpha, Beta float32
	Out         View
	A, B        Layout
	N           int
}

// WhereParams: Out[i] = A[i] if Cond[i] != 0 else B[i].
type WhereParams struct {
	Out        View
	Cond, A, B Layout
	N          int
}

// ReduceParams reduces the middle axis of a contiguous [Outer, Axis, Inner]
// array into Out [Outer, Inner]. An empty axis gives 0 for sums and −Inf/+Inf
// for max/min.
type ReduceParams struct {
	Op                 ReduceOp
	Out, X             View
	Outer, Axis, Inner int
}

// SoftmaxParams: (log-)softmax along the middle axis of [Outer, Axis, Inner].
type SoftmaxParams struct {
	Log                bool
	Out, X             View
	Outer, Axis, Inner int
}

// GatherParams: Out[i,:] = Table[Index[i],:] for N int32 indices into a
// Rows×Cols table. An index out of range is reported by the device.
type GatherParams struct {
	Out, Table, Index View
	N, Rows, Cols     int
}

// ScatterAddParams: Out[Index[i],:] += Src[i,:], deterministically (no
// float atomics): Out is Rows×Cols, Src N×Cols.
type ScatterAddParams struct {
	Out, Src, Index View
	N, Rows, Cols   int
}

// RandParams fills N elements with values of a distribution from the
// counter-based generator: element i is a pure function of (Seed, Stream,
// Counter+i) — see Philox.
type RandParams struct {
	Dist                  Dist
	A, B                  float32
	Seed, Stream, Counter uint64
	Out                   View
	N                     int
}

// CopyParams copies N 4-byte elements from a strided layout to a contiguous
// output, bit for bit (any 4-byte dtype).
type CopyParams struct {
	Out View
	X   Layout
	N   int
}

// CastParams converts N contiguous elements between float32 and int32
// (float to int truncates toward zero).
type CastParams struct {
	Out     View
	OutType DType
	X       View
	XType   DType
	N       int
}

// FillParams sets N 4-byte elements to the bit pattern Value.
type FillParams struct {
	Out   View
	N     int
	Value uint32
}

// The primitive kernels.
var (
	GemmKernel       = NewKernel[GemmParams]("gemm")
	UnaryKernel      = NewKernel[UnaryParams]("unary")
	BinaryKernel     = NewKernel[BinaryParams]("binary")
	WhereKernel      = NewKernel[WhereParams]("where")
	ReduceKernel     = NewKernel[ReduceParams]("reduce")
	SoftmaxKernel    = NewKernel[SoftmaxParams]("softmax")
	GatherKernel     = NewKernel[GatherParams]("gather")
	ScatterAddKernel = NewKernel[ScatterAddParams]("scatter_add")
	RandKernel       = NewKernel[RandParams]("rand")
	CopyKernel       = NewKernel[CopyParams]("copy")
	CastKernel       = NewKernel[CastParams]("cast")
	FillKernel       = NewKernel[FillParams]("fill")
)

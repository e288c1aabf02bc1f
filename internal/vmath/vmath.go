package vmath

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"

	"github.com/ingotml/ingot/internal/cpufeat"
	"github.com/ingotml/ingot/internal/parallel"
)

// Unary kernels, indices into kernels.unary.
const (
	opExp = iota
	opLog
	opLog1p
	opTanh
	opSigmoid
	opSoftplus
	opRelu
	numUnary
)

// Binary kernels, indices into kernels.binary.
const (
	opAdd = iota
	opSub
	opMul
	opDiv
	opBCE
	opReluGrad
	opTanhGrad
	opSigmoidGrad
	numBinary
)

// kernels is one path's implementation of every kernel. Each function works
// on any length (the asm paths finish a tail that is not a whole vector in a
// padded buffer) and never splits work across threads; the exported
// functions do that.
type kernels struct {
	path   cpufeat.Path
	unary  func(op int, dst, x []float32)
	binary func(op int, dst, a, b []float32)
	// scalar forms: dst = alpha*x; dst += alpha*x; dst = x + c; leaky ReLU.
	scale, axpy, addConst, leakyRelu func(dst, x []float32, s float32)
	leakyReluGrad                    func(dst, a, b []float32, s float32)
	// expShiftSum stores exp(x+c) in dst and returns the sum of what it stored.
	expShiftSum func(dst, x []float32, c float32) float64
	expSum      func(x []float32, c float32) float64 // the same sum, nothing stored
	sum         func(x []float32) float64            // float64 accumulation
	dot         func(a, b []float32) float64
	max         func(x []float32) float32 // NaN if any element is NaN
}

var active atomic.Pointer[kernels]

var negInf = math.Inf(-1)

func init() {
	p, err := cpufeat.Choose()
	if err != nil {
		p = cpufeat.Best()
	}
	if SetPath(p) != nil {
		active.Store(&genericKernels)
	}
}

// Path reports the kernel path in use.
func Path() cpufeat.Path { return active.Load().path }

// SetPath switches every kernel to path p (Accelerate means NEON here).
// It fails, changing nothing, if this CPU or build cannot run p. It is meant
// for tests and benchmarks; calls running concurrently may use either path.
func SetPath(p cpufeat.Path) error {
	if p == cpufeat.Accelerate {
		p = cpufeat.NEON
	}
	if !cpufeat.Has(p) {
		return fmt.Errorf("vmath: kernel path %q is not available on this CPU (have %v)", p, cpufeat.Available())
	}
	k := pathKernels(p)
	if k == nil {
		return fmt.Errorf("vmath: kernel path %q is not built for this architecture", p)
	}
	active.Store(k)
	return nil
}

// Work below these sizes (elements) runs on the calling goroutine alone;
// larger work is split into parts of at least this many elements. The
// choice: one thread runs exp at about 2 G elements/s and Add at about
// 10 G/s (AVX-512, L1-resident; BenchmarkUnary, BenchmarkVector), and
// handing a part to a pool worker costs a few microseconds (wake-up and
// cache transfer), so a second part pays for itself from about 16 K
// transcendental or 64 K simple elements (8 µs and 6 µs of work).
// BenchmarkParallelGrain measures inline against two parts; on the shared
// development machine (load average above 10 on 2 cores) the second part
// never won, so re-measure on a quiet machine before tuning.
const (
	grainTranscendental = 16 << 10
	grainSimple         = 64 << 10
	grainAlign          = 64 // parts start on a multiple of this many elements
	maxParts            = 64
)

func numParts(n, grain int) int {
	p := min(n/grain, parallel.Threads(), maxParts)
	return max(p, 1)
}

type taskKind uint8

const (
	kindUnary taskKind = iota
	kindBinary
	kindScale
	kindAxpy
	kindAddConst
	kindLeakyRelu
	kindLeakyReluGrad
	kindSum
	kindDot
	kindMax
	kindSoftmax
	kindLogSoftmax
)

// task is the parallel.Task every exported function hands to the pool.
// Tasks are recycled through taskPool so a call allocates nothing.
type task struct {
	k          *kernels
	kind       taskKind
	op         int
	dst, a, b  []float32
	s          float32
	rows, cols int
	acc        [maxParts]float64
	accMax     [maxParts]float32
}

var taskPool = sync.Pool{New: func() any { return new(task) }}

func getTask(kind taskKind, op int, dst, a, b []float32, s float32) *task {
	t := taskPool.Get().(*task)
	t.k, t.kind, t.op, t.dst, t.a, t.b, t.s = active.Load(), kind, op, dst, a, b, s
	return t
}

func putTask(t *task) {
	t.dst, t.a, t.b, t.k = nil, nil, nil, nil
	taskPool.Put(t)
}

func (t *task) Run(part, parts int) {
	if t.kind == kindSoftmax || t.kind == kindLogSoftmax {
		lo, hi := parallel.Split(t.rows, part, parts, 1)
		for r := lo; r < hi; r++ {
			o := r * t.cols
			t.softmaxRow(t.dst[o:o+t.cols], t.a[o:o+t.cols], t.kind == kindLogSoftmax)
		}
		return
	}
	n := len(t.a)
	lo, hi := parallel.Split(n, part, parts, grainAlign)
	a := t.a[lo:hi]
	switch t.kind {
	case kindUnary:
		t.k.unary(t.op, t.dst[lo:hi], a)
	case kindBinary:
		t.k.binary(t.op, t.dst[lo:hi], a, t.b[lo:hi])
	case kindScale:
		t.k.scale(t.dst[lo:hi], a, t.s)
	case kindAxpy:
		t.k.axpy(t.dst[lo:hi], a, t.s)
	case kindAddConst:
		t.k.addConst(t.dst[lo:hi], a, t.s)
	case kindLeakyRelu:
		t.k.leakyRelu(t.dst[lo:hi], a, t.s)
	case kindLeakyReluGrad:
		t.k.leakyReluGrad(t.dst[lo:hi], a, t.b[lo:hi], t.s)
	case kindSum:
		t.acc[part] = t.k.sum(a)
	case kindDot:
		t.acc[part] = t.k.dot(a, t.b[lo:hi])
	case kindMax:
		t.accMax[part] = t.k.max(a)
	}
}

// run executes t inline or on the pool and recycles it.
func run(t *task, n, grain int) (parts int) {
	parts = numParts(n, grain)
	if parts == 1 {
		t.Run(0, 1)
	} else {
		parallel.Run(t, parts)
	}
	return parts
}

func check2(name string, dst, x []float32) {
	if len(dst) != len(x) {
		panic(fmt.Sprintf("vmath.%s: len(dst)=%d != len(x)=%d", name, len(dst), len(x)))
	}
}

func check3(name string, dst, a, b []float32) {
	if len(dst) != len(a) || len(a) != len(b) {
		panic(fmt.Sprintf("vmath.%s: lengths differ: len(dst)=%d, len(a)=%d, len(b)=%d", name, len(dst), len(a), len(b)))
	}
}

func unary(name string, op, grain int, dst, x []float32) {
	check2(name, dst, x)
	if len(x) < grain {
		active.Load().unary(op, dst, x)
		return
	}
	t := getTask(kindUnary, op, dst, x, nil, 0)
	run(t, len(x), grain)
	putTask(t)
}

func binary(name string, op, grain int, dst, a, b []float32) {
	check3(name, dst, a, b)
	if len(a) < grain {
		active.Load().binary(op, dst, a, b)
		return
	}
	t := getTask(kindBinary, op, dst, a, b, 0)
	run(t, len(a), grain)
	putTask(t)
}

func scalarOp(name string, kind taskKind, dst, x []float32, s float32) {
	check2(name, dst, x)
	if len(x) < grainSimple {
		k := active.Load()
		switch kind {
		case kindScale:
			k.scale(dst, x, s)
		case kindAxpy:
			k.axpy(dst, x, s)
		case kindAddConst:
			k.addConst(dst, x, s)
		case kindLeakyRelu:
			k.leakyRelu(dst, x, s)
		}
		return
	}
	t := getTask(kind, 0, dst, x, nil, s)
	run(t, len(x), grainSimple)
	putTask(t)
}

// Exp sets dst[i] = e**x[i].
func Exp(dst, x []float32) { unary("Exp", opExp, grainTranscendental, dst, x) }

// Log sets dst[i] = ln x[i] (-Inf at ±0, NaN below 0).
func Log(dst, x []float32) { unary("Log", opLog, grainTranscendental, dst, x) }

// Log1p sets dst[i] = ln(1+x[i]), accurate for x near 0.
func Log1p(dst, x []float32) { unary("Log1p", opLog1p, grainTranscendental, dst, x) }

// Tanh sets dst[i] = tanh x[i].
func Tanh(dst, x []float32) { unary("Tanh", opTanh, grainTranscendental, dst, x) }

// Sigmoid sets dst[i] = 1/(1+e**-x[i]), with full relative accuracy for
// very negative x (where the result is tiny).
func Sigmoid(dst, x []float32) { unary("Sigmoid", opSigmoid, grainTranscendental, dst, x) }

// Softplus sets dst[i] = ln(1+e**x[i]), computed as
// max(x,0) + log1p(e**-|x|) so it neither overflows nor loses tiny results.
func Softplus(dst, x []float32) { unary("Softplus", opSoftplus, grainTranscendental, dst, x) }

// BCEWithLogits sets dst[i] to the binary cross-entropy of logit x = logits[i]
// against target t = targets[i]: max(x,0) - x*t + log1p(e**-|x|), which is
// -t*ln σ(x) - (1-t)*ln(1-σ(x)) without overflow or cancellation.
func BCEWithLogits(dst, logits, targets []float32) {
	binary("BCEWithLogits", opBCE, grainTranscendental, dst, logits, targets)
}

// Add sets dst[i] = a[i] + b[i].
func Add(dst, a, b []float32) { binary("Add", opAdd, grainSimple, dst, a, b) }

// Sub sets dst[i] = a[i] - b[i].
func Sub(dst, a, b []float32) { binary("Sub", opSub, grainSimple, dst, a, b) }

// Mul sets dst[i] = a[i] * b[i].
func Mul(dst, a, b []float32) { binary("Mul", opMul, grainSimple, dst, a, b) }

// Div sets dst[i] = a[i] / b[i] (correctly rounded, IEEE special cases).
func Div(dst, a, b []float32) { binary("Div", opDiv, grainSimple, dst, a, b) }

// Scale sets dst[i] = alpha * x[i].
func Scale(dst, x []float32, alpha float32) { scalarOp("Scale", kindScale, dst, x, alpha) }

// Axpy sets dst[i] += alpha * x[i], with one rounding (fused multiply-add)
// on the SIMD paths; generic Go rounds the product and the sum separately
// on amd64 (the compiler fuses on arm64).
func Axpy(dst, x []float32, alpha float32) { scalarOp("Axpy", kindAxpy, dst, x, alpha) }

// AddConst sets dst[i] = x[i] + c.
func AddConst(dst, x []float32, c float32) { scalarOp("AddConst", kindAddConst, dst, x, c) }

// The activation kernels below compute exactly (bit for bit, on every
// path) the scalar float32 definitions given with each: every operation
// rounds once, in the order written, and none is fused. NaN results are NaN
// but their payload bits are not specified.

// Relu sets dst[i] = x[i] if x[i] > 0, else +0 (also for -0); NaN stays
// the same NaN.
func Relu(dst, x []float32) { unary("Relu", opRelu, grainSimple, dst, x) }

// LeakyRelu sets dst[i] = x[i] if x[i] > 0, else alpha*x[i] (NaN gives NaN).
func LeakyRelu(dst, x []float32, alpha float32) {
	scalarOp("LeakyRelu", kindLeakyRelu, dst, x, alpha)
}

// ReluGrad sets dst[i] = g[i] if a[i] > 0, else +0: selected, not
// multiplied, so an infinite or NaN g[i] where a[i] <= 0 (or a[i] is NaN)
// gives 0.
func ReluGrad(dst, a, g []float32) { binary("ReluGrad", opReluGrad, grainSimple, dst, a, g) }

// LeakyReluGrad sets dst[i] = g[i] if a[i] > 0, else alpha*g[i].
func LeakyReluGrad(dst, a, g []float32, alpha float32) {
	check3("LeakyReluGrad", dst, a, g)
	if len(a) < grainSimple {
		active.Load().leakyReluGrad(dst, a, g, alpha)
		return
	}
	t := getTask(kindLeakyReluGrad, 0, dst, a, g, alpha)
	run(t, len(a), grainSimple)
	putTask(t)
}

// TanhGrad sets dst[i] = g[i] * (1 - y[i]*y[i]) for y = tanh(x) the forward
// output: t = y*y, t = 1-t, then g*t, each rounded to float32.
func TanhGrad(dst, y, g []float32) { binary("TanhGrad", opTanhGrad, grainSimple, dst, y, g) }

// SigmoidGrad sets dst[i] = (g[i]*y[i]) * (1 - y[i]) for y = σ(x) the
// forward output, each operation rounded to float32.
func SigmoidGrad(dst, y, g []float32) {
	binary("SigmoidGrad", opSigmoidGrad, grainSimple, dst, y, g)
}

// Sum returns the sum of x, accumulated in float64 (several float64 lanes
// per thread, then the per-thread sums), so the only error of any
// consequence is the final rounding to float32 unless len(x) is beyond 2**28
// or the sum cancels to far below the magnitudes summed. Sum of nothing is 0.
func Sum(x []float32) float32 {
	if len(x) < grainSimple {
		return float32(active.Load().sum(x))
	}
	t := getTask(kindSum, 0, nil, x, nil, 0)
	parts := run(t, len(x), grainSimple)
	s := 0.0
	for _, v := range t.acc[:parts] {
		s += v
	}
	putTask(t)
	return float32(s)
}

// Dot returns the sum of a[i]*b[i]; the products are exact in float64 and
// are accumulated like Sum.
func Dot(a, b []float32) float32 {
	if len(a) != len(b) {
		panic(fmt.Sprintf("vmath.Dot: len(a)=%d != len(b)=%d", len(a), len(b)))
	}
	if len(a) < grainSimple {
		return float32(active.Load().dot(a, b))
	}
	t := getTask(kindDot, 0, nil, a, b, 0)
	parts := run(t, len(a), grainSimple)
	s := 0.0
	for _, v := range t.acc[:parts] {
		s += v
	}
	putTask(t)
	return float32(s)
}

// Max returns the largest element of x: NaN if any element is NaN, -Inf
// for an empty slice. When the largest values are +0 and -0, either may be
// returned.
func Max(x []float32) float32 {
	if len(x) < grainSimple {
		return active.Load().max(x)
	}
	t := getTask(kindMax, 0, nil, x, nil, 0)
	parts := run(t, len(x), grainSimple)
	m := float32(math.Inf(-1))
	for _, v := range t.accMax[:parts] {
		if v != v {
			m = v
			break
		}
		m = max(m, v)
	}
	putTask(t)
	return m
}

func checkRows(name string, dst, x []float32, rows, cols int) {
	if rows < 0 || cols < 0 || len(x) != rows*cols || len(dst) != len(x) {
		panic(fmt.Sprintf("vmath.%s: rows=%d cols=%d need len %d, have len(dst)=%d len(x)=%d",
			name, rows, cols, rows*cols, len(dst), len(x)))
	}
}

// SoftmaxRows sets each row of dst (rows×cols, row-major) to the softmax of
// the same row of x, subtracting the row maximum first so nothing
// overflows. A row containing +Inf or NaN, or all -Inf, gives NaN (as
// PyTorch does).
func SoftmaxRows(dst, x []float32, rows, cols int) {
	checkRows("SoftmaxRows", dst, x, rows, cols)
	rowsOp(kindSoftmax, dst, x, rows, cols)
}

// LogSoftmaxRows sets each row of dst to the log-softmax of the same row of
// x: x - max - ln Σ e**(x-max), exact for the row maximum's own entry up to
// the rounding of the logarithm.
func LogSoftmaxRows(dst, x []float32, rows, cols int) {
	checkRows("LogSoftmaxRows", dst, x, rows, cols)
	rowsOp(kindLogSoftmax, dst, x, rows, cols)
}

func rowsOp(kind taskKind, dst, x []float32, rows, cols int) {
	t := getTask(kind, 0, dst, x, nil, 0)
	t.rows, t.cols = rows, cols
	parts := 1
	if cols > 0 {
		parts = min(numParts(rows*cols, grainTranscendental), rows)
	}
	if parts <= 1 {
		t.Run(0, 1)
	} else {
		parallel.Run(t, parts)
	}
	putTask(t)
}

// softmaxRow does one row on the calling goroutine.
func (t *task) softmaxRow(dst, x []float32, logOut bool) {
	k := t.k
	if len(x) == 0 {
		return
	}
	m := k.max(x)
	if !logOut {
		s := k.expShiftSum(dst, x, -m)
		k.scale(dst, dst, float32(1/s))
		return
	}
	s := k.expSum(x, -m)   // nothing stored: dst may alias x
	k.addConst(dst, x, -m) // x-m first: adding a rounded m+ln(s) would lose digits
	k.addConst(dst, dst, -float32(math.Log(s)))
}

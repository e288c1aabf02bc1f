// Package vmath owns the CPU device's vectorised elementwise kernels:
// exp, log, log1p, tanh, sigmoid, softplus, the fused forms training needs
// (BCE with logits, row softmax and log-softmax), the activations and
// activation gradients (Relu, LeakyRelu, ReluGrad, LeakyReluGrad,
// TanhGrad, SigmoidGrad) and plain float32 vector arithmetic and
// reductions (Add, Sub, Mul, Div, Scale, Axpy, AddConst, Sum, Dot, Max).
//
// Each kernel exists in Go assembly for amd64 AVX-512 and AVX2+FMA and for
// arm64 NEON, and in portable Go. The assembly of all three instruction
// sets is generated from one description per kernel by internal/asmgen
// (go generate), so the SIMD paths run the same algorithm and agree bit
// for bit. The path is chosen once from the CPU (internal/cpufeat;
// INGOT_CPU forces one; Accelerate counts as NEON) and can be switched
// with SetPath. Slices above a few ten thousand elements are split across
// the shared worker pool (internal/parallel). No call allocates.
//
// All functions take dst first; dst may be the same slice as an input (but
// must not partly overlap one). Mismatched lengths panic with a message
// naming the function and the lengths. All functions are safe for
// concurrent use.
//
// # Method
//
// exp: n = round(x·log2 e), r = x - n·ln2 (ln2 in two parts, each step one
// fused multiply-add), e**r = 1 + r·(1 + r·(c0 + … + c4·r⁴)) with c fitted
// minimax on |r| ≤ ln2/2, then times 2**n with VSCALEFPS or in two
// exact steps, so subnormal results are rounded once. log: x = 2**e·m with
// m in [√½, √2) (subnormal x scaled by 2**23 first), ln x = e·ln2 + f +
// f²·q(f) with f = m-1 exact and q of degree 8. log1p: u = 1+x rounded,
// ln u as for log, plus the rounding error (x-(u-1))/u, so tiny x keep
// full accuracy. tanh: |x| + |x|³·p(x²) (p of degree 6) for |x| ≤ 0.9, else
// 1 - 2/(e**2|x| + 1), with the sign put back. sigmoid: e = e**-|x|, then
// 1/(1+e) or e/(1+e) (no overflow, tiny results for very negative x kept),
// with the rounding error of 1+e put back. softplus:
// max(x,0) + log1p(e**-|x|); BCE: (max(x,0) - x·t) + log1p(e**-|x|), the
// first part rounded once, so hard targets lose nothing to cancellation.
// Softmax subtracts the row maximum, sums e**(x-max) in float64 and scales
// by the reciprocal; log-softmax is (x - max) - ln Σ.
//
// The generic path evaluates the same reductions and polynomials in float64
// (scalar Go gains nothing from float32), so it is the most accurate path.
//
// # Accuracy
//
// Largest error in float32 ulps against package math in float64, measured
// on every float32 of the dense range (where the result is not trivially
// x, ±1, 0 or ±Inf) and on every 307th float32 of the whole range;
// INGOT_VMATH_SWEEP=full go test -run ULPBounds ./internal/vmath repeats
// the measurement, and TestULPBounds asserts the bound on the sample:
//
//	          whole range      dense range (both signs)  SIMD    generic  bound
//	exp       [-104, 89]       [2⁻¹², 104]               0.894   0.545    1
//	log       (0, MaxFloat32]  [2⁻¹⁰, 2¹⁰]               0.887   0.577    1
//	log1p     (-1, MaxFloat32] [2⁻¹², 2¹⁰]               0.980   0.577    1
//	tanh      [-10, 10]        [2⁻¹², 10]                1.020   0.568    1.1
//	sigmoid   [-105, 20]       [2⁻¹², 105]               1.967   0.545    2
//	softplus  [-105, 100]      [2⁻¹², 105]               1.728   0.600    2
//	BCE t=0,1 [-105, 100]      (every 1228th)            1.527   0.594    2
//
// The SIMD column was measured on the AVX-512 path; AVX2 and NEON compute
// the same bits (TestSIMDGolden checks hashes of every kernel's outputs
// over a sample of its range on each SIMD path, NEON under qemu-aarch64). Beyond the
// whole range each result is a constant or x itself and is checked exactly.
// Soft BCE targets are within 4 ulps of max(|result|, |x|), since x·t
// itself is rounded. Add, Sub, Mul, Div, Scale and AddConst are correctly
// rounded; Axpy is fused on the SIMD paths. Sum and Dot accumulate in
// float64 lanes (products exact), so their only error of note is the final
// rounding unless the sum cancels far below its terms.
//
// The activation kernels are exact: on every path they equal their scalar
// float32 definitions (given with each function; the CPU device's former
// loops and the Metal shaders) bit for bit, for every input including ±0,
// ±Inf, NaN and subnormals, because each step is one correctly rounded
// operation in the definition's order and nothing is fused (TanhGrad is
// g·(1-y·y) with y·y rounded first). They select instead of branching, so
// random signs cost nothing. NaN results are NaN; only Relu promises the
// input's NaN bits.
//
// Special values follow package math: exp(+Inf)=+Inf, exp(-Inf)=+0,
// exp overflows to +Inf above 88.72 and underflows through the subnormals
// to 0; log(±0)=-Inf, log(x<0)=NaN, log(+Inf)=+Inf; log1p(-1)=-Inf,
// log1p(x<-1)=NaN, log1p(±0)=±0; tanh(±Inf)=±1, tanh(±0)=±0;
// sigmoid(-Inf)=0, sigmoid(+Inf)=1; softplus(-Inf)=0, softplus(+Inf)=+Inf;
// NaN in gives NaN out.
package vmath

//go:generate go run ./internal/asmgen -out .

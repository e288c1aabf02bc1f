// Package vmath owns the CPU device's vectorised elementwise kernels:
// exp, log, log1p, tanh, sigmoid, softplus, the fused forms training needs
// (BCE with logits, row softmax and log-softmax) and plain float32 vector
// arithmetic and reductions.
//
// Each kernel exists in Go assembly for amd64 AVX-512 and AVX2+FMA and for
// arm64 NEON, and in portable Go. The path is chosen once from the CPU
// (internal/cpufeat; INGOT_CPU forces one) and can be switched with SetPath.
// Slices of more than a few ten thousand elements are split across the
// shared worker pool (internal/parallel). No call allocates.
//
// All functions take dst first; dst may be the same slice as an input (but
// must not partly overlap one). Mismatched lengths panic with a message naming
// the function and the lengths.
//
// # Method
//
// exp: n = round(x/ln2), r = x - n·ln2 (two-part ln2), e**r by a degree-6
// polynomial fitted minimax on |r| ≤ ln2/2, times 2**n applied in two
// steps (or VSCALEFPS) so results that are subnormal are rounded once.
// log: x = 2**e·m with m in [√½, √2), ln x = e·ln2 + f + f²·q(f) with f = m-1
// and q of degree 8; subnormal inputs are scaled by 2**23 first. log1p:
// u = 1+x rounded, the same split applied to u, and the rounding error
// x-(u-1) added back to f, so log1p(x) is accurate for tiny x. tanh:
// x + x³·p(x²) for |x| ≤ 0.625, else 1 - 2/(e**2|x| + 1). sigmoid:
// e = e**-|x|, then 1/(1+e) or e/(1+e), so it neither overflows nor loses
// the tiny results of very negative x. softplus and BCE use
// max(x,0) + log1p(e**-|x|).
//
// The generic path evaluates the same reductions and polynomials in float64
// (scalar Go cannot use SIMD anyway), so it is the most accurate path.
//
// # Accuracy
//
// ACCURACY_TABLE
//
// Special values follow package math: exp(+Inf)=+Inf, exp(-Inf)=+0,
// exp overflows to +Inf above 88.72 and underflows through the subnormals
// to 0; log(±0)=-Inf, log(x<0)=NaN, log(+Inf)=+Inf; log1p(-1)=-Inf,
// log1p(x<-1)=NaN, log1p(±0)=±0; tanh(±Inf)=±1, tanh(±0)=±0;
// sigmoid(-Inf)=0, sigmoid(+Inf)=1; softplus(-Inf)=0, softplus(+Inf)=+Inf;
// NaN in gives NaN out.
package vmath

//go:generate go run ./internal/asmgen -out .

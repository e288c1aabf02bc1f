package tensor

import (
	"math"
	"sync/atomic"
)

// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2,
// 3", SC 2011): a counter-based generator. Element g of stream s under seed k
// comes from block g/4 (lane g%4) of Philox(k, counter = (g/4, s)), so any
// device computes any element independently and the same seed gives the
// same numbers everywhere. shaders/rng.metal implements the same functions
// with the same float32 operation order (no contraction), so results are
// bit-identical.

const (
	philoxM0 = 0xD2511F53
	philoxM1 = 0xCD9E8D57
	philoxW0 = 0x9E3779B9
	philoxW1 = 0xBB67AE85
)

// Philox returns the four 32-bit words of block `block` of stream `stream`.
func Philox(seed, stream, block uint64) [4]uint32 {
	c := [4]uint32{uint32(block), uint32(block >> 32), uint32(stream), uint32(stream >> 32)}
	k0, k1 := uint32(seed), uint32(seed>>32)
	for range 10 {
		p0 := uint64(philoxM0) * uint64(c[0])
		p1 := uint64(philoxM1) * uint64(c[2])
		c = [4]uint32{uint32(p1>>32) ^ c[1] ^ k0, uint32(p1), uint32(p0>>32) ^ c[3] ^ k1, uint32(p0)}
		k0 += philoxW0
		k1 += philoxW1
	}
	return c
}

const inv24 = 1.0 / (1 << 24)

// uniform01 maps 32 random bits to [0, 1) with 24 bits of precision.
func uniform01(x uint32) float32 { return float32(x>>8) * inv24 }

// RandomValue is the value of element g (counter g) of a distribution; the
// CPU's rand kernel and the conformance suite use it as the definition.
func RandomValue(dist Dist, a, b float32, seed, stream, g uint64) float32 {
	return randomBlock(dist, a, b, Philox(seed, stream, g/4))[g%4]
}

// randomBlock is the four values of the elements that share the Philox
// block w (a normal pair comes from two adjacent words).
func randomBlock(dist Dist, a, b float32, w [4]uint32) (v [4]float32) {
	switch dist {
	case DistUniform:
		for i, x := range w {
			v[i] = float32(float32(b-a)*uniform01(x)) + a
		}
	case DistBernoulli:
		for i, x := range w {
			if uniform01(x) < a {
				v[i] = 1
			}
		}
	case DistNormal:
		for p := 0; p < 4; p += 2 {
			u1 := float32((w[p]>>8)+1) * inv24 // (0, 1]
			u2 := uniform01(w[p+1])
			r := float32(math.Sqrt(float64(float32(-2) * logUnit(u1))))
			s, c := sinCosTurn(u2)
			v[p] = float32(float32(r*c)*b) + a
			v[p+1] = float32(float32(r*s)*b) + a
		}
	default:
		panic("tensor: unknown distribution")
	}
	return v
}

// logUnit is ln u for u in (0, 1] using only correctly rounded float32
// operations in a fixed order, so that MSL reproduces it bit for bit.
// Error below 2 ulp.
func logUnit(u float32) float32 {
	bits := math.Float32bits(u)
	e := int32(bits>>23) - 127
	m := math.Float32frombits(bits&0x007FFFFF | 0x3F800000) // [1, 2)
	if m > 1.4142135 {
		m = float32(m * 0.5)
		e++
	}
	s := float32(m-1) / float32(m+1)
	s2 := float32(s * s)
	p := float32(float32(s2*(1.0/11)) + 1.0/9)
	p = float32(float32(s2*p) + 1.0/7)
	p = float32(float32(s2*p) + 1.0/5)
	p = float32(float32(s2*p) + 1.0/3)
	p = float32(float32(s2*p) + 1)
	lnm := float32(float32(2*s) * p)
	return float32(float32(e)*0.6931472) + lnm
}

// sinCosTurn returns sin and cos of 2π·t for t in [0, 1), with float32
// operations in a fixed order (see logUnit).
func sinCosTurn(t float32) (sin, cos float32) {
	f := float32(t * 4) // exact
	q := int(f)
	f = float32(f - float32(q)) // [0, 1), exact
	x := float32(f * 1.5707964) // [0, π/2)
	x2 := float32(x * x)
	sp := float32(float32(x2*(-1.0/39916800)) + 1.0/362880)
	sp = float32(float32(x2*sp) - 1.0/5040)
	sp = float32(float32(x2*sp) + 1.0/120)
	sp = float32(float32(x2*sp) - 1.0/6)
	s := float32(float32(float32(x*x2)*sp) + x)
	cp := float32(float32(x2*(1.0/479001600)) - 1.0/3628800)
	cp = float32(float32(x2*cp) + 1.0/40320)
	cp = float32(float32(x2*cp) - 1.0/720)
	cp = float32(float32(x2*cp) + 1.0/24)
	cp = float32(float32(x2*cp) - 0.5)
	c := float32(float32(x2*cp) + 1)
	switch q {
	case 0:
		return s, c
	case 1:
		return c, -s
	case 2:
		return -s, -c
	}
	return -c, s
}

// RNG draws random tensors from the counter-based generator. Each draw
// takes the next range of counters, so a sequence of draws is reproducible
// from (seed, stream) alone, and State/SetState capture it for checkpoints.
// RNG is safe for concurrent use (concurrent draws get disjoint counters,
// in an unspecified order).
type RNG struct {
	seed, stream uint64
	counter      atomic.Uint64
}

// NewRNG returns a generator of stream 0 for seed.
func NewRNG(seed uint64) *RNG { return &RNG{seed: seed} }

// Stream returns an independent generator: same seed, another stream.
func (r *RNG) Stream(s uint64) *RNG { return &RNG{seed: r.seed, stream: s} }

// State returns the generator's seed, stream and next counter.
func (r *RNG) State() (seed, stream, counter uint64) { return r.seed, r.stream, r.counter.Load() }

// SetState restores a state returned by State.
func (r *RNG) SetState(seed, stream, counter uint64) {
	r.seed, r.stream = seed, stream
	r.counter.Store(counter)
}

// take reserves n counters, aligned to Philox blocks.
func (r *RNG) take(n int) uint64 {
	k := uint64(n+3) &^ 3
	return r.counter.Add(k) - k
}

func (r *RNG) draw(d Device, dist Dist, a, b float32, shape []int) *Tensor {
	t := Empty(d, Float32, shape...)
	n := t.Len()
	RandKernel.Run(d, RandParams{Dist: dist, A: a, B: b, Seed: r.seed, Stream: r.stream, Counter: r.take(n), Out: t.view(), N: n})
	return t
}

// Uniform draws values uniform on [lo, hi).
func (r *RNG) Uniform(d Device, lo, hi float32, shape ...int) *Tensor {
	return r.draw(d, DistUniform, lo, hi, shape)
}

// Normal draws normal values with the given mean and standard deviation.
func (r *RNG) Normal(d Device, mean, std float32, shape ...int) *Tensor {
	return r.draw(d, DistNormal, mean, std, shape)
}

// Bernoulli draws 1 with probability p, else 0.
func (r *RNG) Bernoulli(d Device, p float32, shape ...int) *Tensor {
	return r.draw(d, DistBernoulli, p, 0, shape)
}

package kernels

import (
	"math"

	"github.com/ingotml/ingot/internal/parallel"
	"github.com/ingotml/ingot/internal/vmath"
	"github.com/ingotml/ingot/tensor"
)

func init() {
	k := tensor.CPU().Kernels()
	tensor.Implement(k, BatchNormStats, cpuBatchNormStats)
	tensor.Implement(k, BatchNormApply, cpuBatchNormApply)
	tensor.Implement(k, BatchNormGrad, cpuBatchNormGrad)
}

// The CPU kernels take one of two layouts, each with an assembly path (on
// amd64 with AVX2+FMA, norm_amd64.s) and an internal/vmath path (other
// CPUs and architectures). With Inner > 1 every channel is Outer
// contiguous runs of Inner values and the pool splits the channels (or,
// for the vmath apply, the runs): the run kernels cover a channel per call
// summing in float64 lanes, while the vmath path's vmath.Sum and vmath.Dot
// sum each run in float64 and round it to float32 once before the float64
// total. With Inner == 1 (BatchNorm1d on [N, C]) a channel is a column, so
// the pool splits the columns into blocks of at most bnBlock and each
// block walks the rows: the column kernels keep 8 columns' float64 sums
// down all rows, the vmath path accumulates rows in float32 vectors added
// into float64 every bnFlush rows. So a sum carries at most the error of a
// float32 sum of bnFlush terms (or one float32 rounding per run), relative
// to the magnitudes summed, besides its float64 accumulation.

const (
	bnBlock = 256 // columns of an Inner == 1 block: its accumulators stay in L1
	bnFlush = 16  // rows summed in float32 before a float64 accumulation
)

// bnForChannels runs fn over channel ranges [lo, hi) of per-channel cost n
// on the pool (pieces of whole cache lines of a row when cols).
func bnForChannels(c, n int, cols bool, fn func(lo, hi int)) {
	align := 1
	if cols {
		align = 16
	}
	parallel.For(c, n, align, fn)
}

// bnAcc is a column block's float32 partial sums and their float64
// totals: Add adds a row, Flush moves the partial sums to the totals.
type bnAcc struct {
	part [bnBlock]float32
	tot  [bnBlock]float64
}

func (a *bnAcc) reset(w int) {
	clear(a.part[:w])
	clear(a.tot[:w])
}

func (a *bnAcc) add(row []float32) { p := a.part[:len(row)]; vmath.Add(p, p, row) }

func (a *bnAcc) flush(w int) {
	p, t := a.part[:w], a.tot[:w]
	for j, v := range p {
		t[j] += float64(v)
	}
	clear(p)
}

// bnColStats is the two-pass mean m and the sums of x − m and (x − m)² of
// the column x[o·stride], o < rows, in float64.
func bnColStats(x []float32, rows, stride int) (m, sd, sq float64) {
	for o := range rows {
		m += float64(x[o*stride])
	}
	m /= float64(rows)
	for o := range rows {
		d := float64(x[o*stride]) - m
		sd += d
		sq += d * d
	}
	return m, sd, sq
}

// bnFinish turns a channel's sums about the shift m into its outputs:
// mean, invstd, and the running statistics when asked.
func bnFinish(p *BatchNormStatsParams, mean, invstd, rm, rv []float32, c int, m, sd, sq float64, n int) {
	fn := float64(n)
	dm := sd / fn
	v := max(sq/fn-dm*dm, 0)
	mu := m + dm
	mean[c] = float32(mu)
	invstd[c] = float32(1 / math.Sqrt(v+float64(p.Eps)))
	if p.UpdateRunning {
		m32, v32 := float32(mu), float32(v)
		vu := v32 * (float32(n) / float32(n-1))
		rm[c] += p.Momentum * (m32 - rm[c])
		rv[c] += p.Momentum * (vu - rv[c])
	}
}

func cpuBatchNormStats(_ tensor.Device, p BatchNormStatsParams) {
	C, L, n := p.C, p.Inner, p.Outer*p.Inner
	if C == 0 || n == 0 {
		return
	}
	x := f32(p.X, p.Outer*C*L)
	mean, invstd := f32(p.Mean, C), f32(p.InvStd, C)
	var rm, rv []float32
	if p.UpdateRunning {
		rm, rv = f32(p.RunningMean, C), f32(p.RunningVar, C)
	}
	if L > 1 && bnUseVector {
		bnForChannels(C, 2*n, false, func(lo, hi int) {
			for c := lo; c < hi; c++ {
				s, _ := bnDevSumsRuns(x[c*L:], p.Outer, L, C*L, 0)
				m := s / float64(n)
				sd, sq := bnDevSumsRuns(x[c*L:], p.Outer, L, C*L, m)
				bnFinish(&p, mean, invstd, rm, rv, c, m, sd, sq, n)
			}
		})
		return
	}
	if L > 1 {
		bnForChannels(C, 3*n, false, func(lo, hi int) { // 3 vector passes
			sp := getScratch(L)
			defer rnnScratch.Put(sp)
			d := *sp
			for c := lo; c < hi; c++ {
				s := 0.0
				for o := range p.Outer {
					s += float64(vmath.Sum(x[(o*C+c)*L : (o*C+c+1)*L]))
				}
				// Σ(x − m) from the run sums: each carries one float32
				// rounding, ~2⁻²⁴ of |mean| in the corrected mean, the
				// precision of the float32 mean written anyway.
				m := float32(s / float64(n))
				sd, sq := s-float64(n)*float64(m), 0.0
				for o := range p.Outer {
					vmath.AddConst(d, x[(o*C+c)*L:(o*C+c+1)*L], -m)
					sq += float64(vmath.Dot(d, d))
				}
				bnFinish(&p, mean, invstd, rm, rv, c, float64(m), sd, sq, n)
			}
		})
		return
	}
	if bnUseVector {
		bnForChannels(C, 2*n, true, func(lo, hi int) {
			var zero, m, s, q [bnBlock]float64
			for c0 := lo; c0 < hi; c0 += bnBlock {
				w := min(bnBlock, hi-c0)
				w8 := bnColVector(w)
				if w8 > 0 {
					bnColDevSums(x[c0:], p.Outer, C, zero[:w8], s[:w8], q[:w8])
					for j := range w8 {
						m[j] = s[j] / float64(n)
					}
					bnColDevSums(x[c0:], p.Outer, C, m[:w8], s[:w8], q[:w8])
				}
				for j := w8; j < w; j++ {
					m[j], s[j], q[j] = bnColStats(x[c0+j:], p.Outer, C)
				}
				for j := range w {
					bnFinish(&p, mean, invstd, rm, rv, c0+j, m[j], s[j], q[j], n)
				}
			}
		})
		return
	}
	bnForChannels(C, 4*n, true, func(lo, hi int) {
		var s, q bnAcc
		var mA, dA [bnBlock]float32
		for c0 := lo; c0 < hi; c0 += bnBlock {
			w := min(bnBlock, hi-c0)
			s.reset(w)
			q.reset(w)
			for o := range p.Outer {
				s.add(x[o*C+c0 : o*C+c0+w])
				if (o+1)%bnFlush == 0 || o == p.Outer-1 {
					s.flush(w)
				}
			}
			m, d := mA[:w], dA[:w]
			for j := range m {
				m[j] = float32(s.tot[j] / float64(n))
			}
			s.reset(w)
			for o := range p.Outer {
				vmath.Sub(d, x[o*C+c0:o*C+c0+w], m)
				s.add(d)
				vmath.Mul(d, d, d)
				q.add(d)
				if (o+1)%bnFlush == 0 || o == p.Outer-1 {
					s.flush(w)
					q.flush(w)
				}
			}
			for j := range w {
				bnFinish(&p, mean, invstd, rm, rv, c0+j, float64(m[j]), s.tot[j], q.tot[j], n)
			}
		}
	})
}

func cpuBatchNormApply(_ tensor.Device, p BatchNormApplyParams) {
	C, L := p.C, p.Inner
	total := p.Outer * C * L
	if total == 0 {
		return
	}
	y, x := f32(p.Y, total), f32(p.X, total)
	mean, invstd, w, b := f32(p.Mean, C), f32(p.InvStd, C), f32(p.Weight, C), f32(p.Bias, C)
	if L > 1 && bnUseVector {
		bnForChannels(C, p.Outer*L, false, func(lo, hi int) {
			for c := lo; c < hi; c++ {
				bnApplyRuns(y[c*L:], x[c*L:], p.Outer, L, C*L, mean[c], invstd[c]*w[c], b[c])
			}
		})
		return
	}
	if L > 1 {
		// Split the (row, channel) runs: there may be few channels.
		parallel.For(p.Outer*C, 3*L, 1, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				c := r % C
				xr, yr := x[r*L:(r+1)*L], y[r*L:(r+1)*L]
				vmath.AddConst(yr, xr, -mean[c])
				vmath.Scale(yr, yr, invstd[c]*w[c])
				vmath.AddConst(yr, yr, b[c])
			}
		})
		return
	}
	if bnUseVector {
		bnForChannels(C, p.Outer, true, func(lo, hi int) {
			var sA [bnBlock]float32
			for c0 := lo; c0 < hi; c0 += bnBlock {
				wd := min(bnBlock, hi-c0)
				sc := sA[:wd]
				for j := range sc {
					sc[j] = invstd[c0+j] * w[c0+j]
				}
				w8 := bnColVector(wd)
				if w8 > 0 {
					bnColApply(y[c0:], x[c0:], p.Outer, C, mean[c0:c0+w8], sc[:w8], b[c0:c0+w8])
				}
				for j := w8; j < wd; j++ {
					for o := range p.Outer {
						i := o*C + c0 + j
						y[i] = (x[i]-mean[c0+j])*sc[j] + b[c0+j]
					}
				}
			}
		})
		return
	}
	bnForChannels(C, 3*p.Outer, true, func(lo, hi int) {
		var sA [bnBlock]float32
		for c0 := lo; c0 < hi; c0 += bnBlock {
			wd := min(bnBlock, hi-c0)
			sc, mm, bb := sA[:wd], mean[c0:c0+wd], b[c0:c0+wd]
			vmath.Mul(sc, invstd[c0:c0+wd], w[c0:c0+wd])
			for o := range p.Outer {
				xr, yr := x[o*C+c0:o*C+c0+wd], y[o*C+c0:o*C+c0+wd]
				vmath.Sub(yr, xr, mm)
				vmath.Mul(yr, yr, sc)
				vmath.Add(yr, yr, bb)
			}
		}
	})
}

// bnGradCoef turns a channel's sums into dWeight, dBias and the DX
// coefficients: DX = a·g − a·k1 − a·k2·(x − mean).
func bnGradCoef(p *BatchNormGradParams, dw, db []float32, c int, is, wc float32, sg, sgd float64, n int) (a, ak1, ak2 float32) {
	fn, is64 := float64(n), float64(is)
	if p.NeedDWeight {
		dw[c] = float32(sgd * is64)
	}
	if p.NeedDBias {
		db[c] = float32(sg)
	}
	a64 := float64(wc) * is64
	return float32(a64), float32(a64 * sg / fn), float32(a64 * sgd * is64 * is64 / fn)
}

func cpuBatchNormGrad(_ tensor.Device, p BatchNormGradParams) {
	C, L, n := p.C, p.Inner, p.Outer*p.Inner
	total := p.Outer * C * L
	if total == 0 {
		return
	}
	g, x := f32(p.DY, total), f32(p.X, total)
	mean, invstd, w := f32(p.Mean, C), f32(p.InvStd, C), f32(p.Weight, C)
	var dx, dw, db []float32
	if p.NeedDX {
		dx = f32(p.DX, total)
	}
	if p.NeedDWeight {
		dw = f32(p.DWeight, C)
	}
	if p.NeedDBias {
		db = f32(p.DBias, C)
	}
	if L > 1 && bnUseVector {
		bnForChannels(C, 2*n, false, func(lo, hi int) {
			for c := lo; c < hi; c++ {
				m := mean[c]
				sg, sgd := bnGradSumsRuns(g[c*L:], x[c*L:], p.Outer, L, C*L, float64(m))
				a, ak1, ak2 := bnGradCoef(&p, dw, db, c, invstd[c], w[c], sg, sgd, n)
				if p.NeedDX {
					bnDXRuns(dx[c*L:], g[c*L:], x[c*L:], p.Outer, L, C*L, m, a, ak1, ak2)
				}
			}
		})
		return
	}
	if L > 1 {
		bnForChannels(C, 6*n, false, func(lo, hi int) {
			// The channel's x − mean, kept from the sums for DX.
			sp := getScratch(n)
			defer rnnScratch.Put(sp)
			for c := lo; c < hi; c++ {
				m := mean[c]
				var sg, sgd float64
				for o := range p.Outer {
					r := (o*C + c) * L
					gr, d := g[r:r+L], (*sp)[o*L:(o+1)*L]
					sg += float64(vmath.Sum(gr))
					vmath.AddConst(d, x[r:r+L], -m)
					sgd += float64(vmath.Dot(gr, d))
				}
				a, ak1, ak2 := bnGradCoef(&p, dw, db, c, invstd[c], w[c], sg, sgd, n)
				if !p.NeedDX {
					continue
				}
				for o := range p.Outer {
					r := (o*C + c) * L
					dr := dx[r : r+L]
					vmath.Scale(dr, g[r:r+L], a)
					vmath.Axpy(dr, (*sp)[o*L:(o+1)*L], -ak2)
					vmath.AddConst(dr, dr, -ak1)
				}
			}
		})
		return
	}
	if bnUseVector {
		bnForChannels(C, 2*p.Outer, true, func(lo, hi int) {
			var m64, sg, sgd [bnBlock]float64
			var aA, k1A, kA [bnBlock]float32
			for c0 := lo; c0 < hi; c0 += bnBlock {
				wd := min(bnBlock, hi-c0)
				w8 := bnColVector(wd)
				for j := range wd {
					m64[j] = float64(mean[c0+j])
				}
				if w8 > 0 {
					bnColGradSums(g[c0:], x[c0:], p.Outer, C, m64[:w8], sg[:w8], sgd[:w8])
				}
				for j := w8; j < wd; j++ {
					sg[j], sgd[j] = 0, 0
					for o := range p.Outer {
						i := o*C + c0 + j
						sg[j] += float64(g[i])
						sgd[j] += float64(g[i]) * (float64(x[i]) - m64[j])
					}
				}
				for j := range wd {
					aA[j], k1A[j], kA[j] = bnGradCoef(&p, dw, db, c0+j, invstd[c0+j], w[c0+j], sg[j], sgd[j], n)
				}
				if !p.NeedDX {
					continue
				}
				if w8 > 0 {
					bnColDX(dx[c0:], g[c0:], x[c0:], p.Outer, C, mean[c0:c0+w8], aA[:w8], k1A[:w8], kA[:w8])
				}
				for j := w8; j < wd; j++ {
					for o := range p.Outer {
						i := o*C + c0 + j
						dx[i] = aA[j]*g[i] - (k1A[j] + kA[j]*(x[i]-mean[c0+j]))
					}
				}
			}
		})
		return
	}
	bnForChannels(C, 9*p.Outer, true, func(lo, hi int) {
		var s, q bnAcc
		var aA, k1A, k2A, dA [bnBlock]float32
		for c0 := lo; c0 < hi; c0 += bnBlock {
			wd := min(bnBlock, hi-c0)
			s.reset(wd)
			q.reset(wd)
			mm, d := mean[c0:c0+wd], dA[:wd]
			for o := range p.Outer {
				gr := g[o*C+c0 : o*C+c0+wd]
				s.add(gr)
				vmath.Sub(d, x[o*C+c0:o*C+c0+wd], mm)
				vmath.Mul(d, d, gr)
				q.add(d)
				if (o+1)%bnFlush == 0 || o == p.Outer-1 {
					s.flush(wd)
					q.flush(wd)
				}
			}
			av, k1, k2 := aA[:wd], k1A[:wd], k2A[:wd]
			for j := range wd {
				av[j], k1[j], k2[j] = bnGradCoef(&p, dw, db, c0+j, invstd[c0+j], w[c0+j], s.tot[j], q.tot[j], n)
			}
			if !p.NeedDX {
				continue
			}
			for o := range p.Outer {
				gr, dr := g[o*C+c0:o*C+c0+wd], dx[o*C+c0:o*C+c0+wd]
				// dx = a·g − (a·k1 + a·k2·(x − mean)), written after g is read.
				vmath.Sub(d, x[o*C+c0:o*C+c0+wd], mm)
				vmath.Mul(d, d, k2)
				vmath.Add(d, d, k1)
				vmath.Mul(dr, gr, av)
				vmath.Sub(dr, dr, d)
			}
		}
	})
}

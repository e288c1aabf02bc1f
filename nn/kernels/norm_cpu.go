package kernels

import (
	"math"

	"github.com/ingotml/ingot/internal/parallel"
	"github.com/ingotml/ingot/tensor"
)

func init() {
	k := tensor.CPU().Kernels()
	tensor.Implement(k, BatchNormStats, cpuBatchNormStats)
	tensor.Implement(k, BatchNormApply, cpuBatchNormApply)
	tensor.Implement(k, BatchNormGrad, cpuBatchNormGrad)
}

// The CPU kernels take one of two shapes. With Inner > 1 every channel is
// Outer contiguous runs of Inner values, and the pool splits the channels.
// With Inner == 1 (BatchNorm1d on [N, C]) a channel is a column, so the
// pool splits the columns into blocks of bnBlock and each pass walks the
// rows, keeping that block's accumulators: every access is a contiguous
// run of a row.

// bnBlock is the column block of the Inner == 1 kernels: its float64
// accumulators (a few KB) stay in L1 beside the rows being read.
const bnBlock = 256

func bnF32(v tensor.View, n int) []float32 {
	if n == 0 || v.Buf == nil {
		return nil
	}
	return v.Buf.Float32s(v.Off + n)[v.Off:]
}

// bnForChannels runs fn over channel ranges [lo, hi) of per-channel cost n
// on the pool (blocks of bnBlock columns when cols).
func bnForChannels(c, n int, cols bool, fn func(lo, hi int)) {
	align := 1
	if cols {
		align = 16 // whole cache lines of a row per piece
	}
	parallel.For(c, n, align, fn)
}

// bnSum is Σ x in float64 (four chains so the additions overlap).
func bnSum(x []float32) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += float64(x[i])
		s1 += float64(x[i+1])
		s2 += float64(x[i+2])
		s3 += float64(x[i+3])
	}
	for ; i < len(x); i++ {
		s0 += float64(x[i])
	}
	return (s0 + s1) + (s2 + s3)
}

// bnDevSums is Σ (x − m) and Σ (x − m)² in float64.
func bnDevSums(x []float32, m float64) (s, q float64) {
	var s0, s1, q0, q1 float64
	i := 0
	for ; i+2 <= len(x); i += 2 {
		a, b := float64(x[i])-m, float64(x[i+1])-m
		s0 += a
		q0 += a * a
		s1 += b
		q1 += b * b
	}
	for ; i < len(x); i++ {
		a := float64(x[i]) - m
		s0 += a
		q0 += a * a
	}
	return s0 + s1, q0 + q1
}

// bnGradSums is Σ g and Σ g·(x − m) in float64.
func bnGradSums(g, x []float32, m float64) (sg, sgd float64) {
	x = x[:len(g)]
	var s0, s1, d0, d1 float64
	i := 0
	for ; i+2 <= len(g); i += 2 {
		a, b := float64(g[i]), float64(g[i+1])
		s0 += a
		d0 += a * (float64(x[i]) - m)
		s1 += b
		d1 += b * (float64(x[i+1]) - m)
	}
	for ; i < len(g); i++ {
		a := float64(g[i])
		s0 += a
		d0 += a * (float64(x[i]) - m)
	}
	return s0 + s1, d0 + d1
}

// bnFinish turns a channel's sums into its outputs: mean, invstd, and the
// running statistics when asked.
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
	x := bnF32(p.X, p.Outer*C*L)
	mean, invstd := bnF32(p.Mean, C), bnF32(p.InvStd, C)
	var rm, rv []float32
	if p.UpdateRunning {
		rm, rv = bnF32(p.RunningMean, C), bnF32(p.RunningVar, C)
	}
	if L > 1 {
		bnForChannels(C, 2*n, false, func(lo, hi int) {
			for c := lo; c < hi; c++ {
				s := 0.0
				for o := range p.Outer {
					s += bnSum(x[(o*C+c)*L : (o*C+c+1)*L])
				}
				m := s / float64(n)
				var sd, sq float64
				for o := range p.Outer {
					a, b := bnDevSums(x[(o*C+c)*L:(o*C+c+1)*L], m)
					sd += a
					sq += b
				}
				bnFinish(&p, mean, invstd, rm, rv, c, m, sd, sq, n)
			}
		})
		return
	}
	bnForChannels(C, 2*n, true, func(lo, hi int) {
		var sA, mA, qA [bnBlock]float64
		for c0 := lo; c0 < hi; c0 += bnBlock {
			w := min(bnBlock, hi-c0)
			s, q, mm := sA[:w], qA[:w], mA[:w]
			clear(s)
			clear(q)
			for o := range p.Outer {
				row := x[o*C+c0 : o*C+c0+w]
				for j, v := range row {
					s[j] += float64(v)
				}
			}
			for j := range mm {
				mm[j] = s[j] / float64(n)
			}
			clear(s)
			for o := range p.Outer {
				row := x[o*C+c0 : o*C+c0+w]
				for j, v := range row {
					d := float64(v) - mm[j]
					s[j] += d
					q[j] += d * d
				}
			}
			for j := range w {
				bnFinish(&p, mean, invstd, rm, rv, c0+j, mm[j], s[j], q[j], n)
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
	y, x := bnF32(p.Y, total), bnF32(p.X, total)
	mean, invstd, w, b := bnF32(p.Mean, C), bnF32(p.InvStd, C), bnF32(p.Weight, C), bnF32(p.Bias, C)
	if L > 1 {
		// Split the (row, channel) runs: there may be few channels.
		runs := p.Outer * C
		parallel.For(runs, L, 1, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				c := r % C
				m, s, sh := mean[c], invstd[c]*w[c], b[c]
				xr, yr := x[r*L:(r+1)*L], y[r*L:(r+1)*L]
				yr = yr[:len(xr)]
				for i, v := range xr {
					yr[i] = (v-m)*s + sh
				}
			}
		})
		return
	}
	bnForChannels(C, p.Outer, true, func(lo, hi int) {
		var s [bnBlock]float32
		for c0 := lo; c0 < hi; c0 += bnBlock {
			wd := min(bnBlock, hi-c0)
			sc := s[:wd]
			mm, bb := mean[c0:c0+wd], b[c0:c0+wd]
			for j := range sc {
				sc[j] = invstd[c0+j] * w[c0+j]
			}
			for o := range p.Outer {
				xr, yr := x[o*C+c0:o*C+c0+wd], y[o*C+c0:o*C+c0+wd]
				for j, v := range xr {
					yr[j] = (v-mm[j])*sc[j] + bb[j]
				}
			}
		}
	})
}

// bnGradCoef turns a channel's sums into dWeight, dBias and the DX
// coefficients: DX = a·(g − k1 − (x − mean)·k2).
func bnGradCoef(p *BatchNormGradParams, dw, db []float32, c int, is, wc float32, sg, sgd float64, n int) (a, k1, k2 float32) {
	fn, is64 := float64(n), float64(is)
	if p.NeedDWeight {
		dw[c] = float32(sgd * is64)
	}
	if p.NeedDBias {
		db[c] = float32(sg)
	}
	return wc * is, float32(sg / fn), float32(sgd * is64 * is64 / fn)
}

func cpuBatchNormGrad(_ tensor.Device, p BatchNormGradParams) {
	C, L, n := p.C, p.Inner, p.Outer*p.Inner
	total := p.Outer * C * L
	if total == 0 {
		return
	}
	g, x := bnF32(p.DY, total), bnF32(p.X, total)
	mean, invstd, w := bnF32(p.Mean, C), bnF32(p.InvStd, C), bnF32(p.Weight, C)
	var dx, dw, db []float32
	if p.NeedDX {
		dx = bnF32(p.DX, total)
	}
	if p.NeedDWeight {
		dw = bnF32(p.DWeight, C)
	}
	if p.NeedDBias {
		db = bnF32(p.DBias, C)
	}
	if L > 1 {
		bnForChannels(C, 2*n, false, func(lo, hi int) {
			for c := lo; c < hi; c++ {
				m := mean[c]
				var sg, sgd float64
				for o := range p.Outer {
					r := (o*C + c) * L
					a, b := bnGradSums(g[r:r+L], x[r:r+L], float64(m))
					sg += a
					sgd += b
				}
				a, k1, k2 := bnGradCoef(&p, dw, db, c, invstd[c], w[c], sg, sgd, n)
				if !p.NeedDX {
					continue
				}
				for o := range p.Outer {
					r := (o*C + c) * L
					gr, xr, dr := g[r:r+L], x[r:r+L], dx[r:r+L]
					xr, dr = xr[:len(gr)], dr[:len(gr)]
					for i, v := range gr {
						dr[i] = a * (v - k1 - (xr[i]-m)*k2)
					}
				}
			}
		})
		return
	}
	bnForChannels(C, 2*p.Outer, true, func(lo, hi int) {
		var sgA, sgdA [bnBlock]float64
		var aA, k1A, k2A [bnBlock]float32
		for c0 := lo; c0 < hi; c0 += bnBlock {
			wd := min(bnBlock, hi-c0)
			sg, sgd := sgA[:wd], sgdA[:wd]
			clear(sg)
			clear(sgd)
			mm := mean[c0 : c0+wd]
			for o := range p.Outer {
				gr, xr := g[o*C+c0:o*C+c0+wd], x[o*C+c0:o*C+c0+wd]
				for j, v := range gr {
					gv := float64(v)
					sg[j] += gv
					sgd[j] += gv * (float64(xr[j]) - float64(mm[j]))
				}
			}
			av, k1, k2 := aA[:wd], k1A[:wd], k2A[:wd]
			for j := range wd {
				av[j], k1[j], k2[j] = bnGradCoef(&p, dw, db, c0+j, invstd[c0+j], w[c0+j], sg[j], sgd[j], n)
			}
			if !p.NeedDX {
				continue
			}
			for o := range p.Outer {
				gr, xr, dr := g[o*C+c0:o*C+c0+wd], x[o*C+c0:o*C+c0+wd], dx[o*C+c0:o*C+c0+wd]
				for j, v := range gr {
					dr[j] = av[j] * (v - k1[j] - (xr[j]-mm[j])*k2[j])
				}
			}
		}
	})
}

package kernels

import (
	"sync"

	"github.com/ingotml/ingot/internal/parallel"
	"github.com/ingotml/ingot/internal/vmath"
	"github.com/ingotml/ingot/tensor"
)

func init() {
	k := tensor.CPU().Kernels()
	tensor.Implement(k, LSTMCell, cpuLSTMCell)
	tensor.Implement(k, LSTMCellGrad, cpuLSTMCellGrad)
	tensor.Implement(k, GRUCell, cpuGRUCell)
	tensor.Implement(k, GRUCellGrad, cpuGRUCellGrad)
}

// rnnSigmoidInPlace and rnnTanhTo are the cells' activations, vectorised
// by internal/vmath (within 2.5 and 1.5 ulp of float32).
func rnnSigmoidInPlace(x []float32) { vmath.Sigmoid(x, x) }

func rnnTanhTo(dst, x []float32) { vmath.Tanh(dst, x) }

// rnnScratch hands out per-goroutine scratch rows for the cell kernels.
var rnnScratch = sync.Pool{New: func() any { return new([]float32) }}

func getScratch(n int) *[]float32 {
	p := rnnScratch.Get().(*[]float32)
	if cap(*p) < n {
		*p = make([]float32, n)
	}
	*p = (*p)[:n]
	return p
}

// oneMinus sets dst = 1 − x.
func oneMinus(dst, x []float32) {
	vmath.Scale(dst, x, -1)
	vmath.AddConst(dst, dst, 1)
}

// The cell kernels work row by row (one batch element, H units per gate)
// with internal/vmath's vector operations, so every step is SIMD.

func cpuLSTMCell(_ tensor.Device, p LSTMCellParams) {
	H, G := p.Hidden, 4*p.Hidden
	gates := f32(p.Gates, p.N*G)
	cprev, c, h := f32(p.CPrev, p.N*H), f32(p.C, p.N*H), f32(p.H, p.N*H)
	var bih, bhh []float32
	if p.HasBias {
		bih, bhh = f32(p.BiasIH, G), f32(p.BiasHH, G)
	}
	parallel.For(p.N, G, 1, func(lo, hi int) {
		sp := getScratch(H)
		defer rnnScratch.Put(sp)
		t := *sp
		for b := lo; b < hi; b++ {
			g := gates[b*G : (b+1)*G]
			if bih != nil {
				vmath.Add(g, g, bih)
				vmath.Add(g, g, bhh)
			}
			rnnSigmoidInPlace(g[:2*H])
			rnnTanhTo(g[2*H:3*H], g[2*H:3*H])
			rnnSigmoidInPlace(g[3*H:])
			ig, fg, gg, og := g[:H], g[H:2*H], g[2*H:3*H], g[3*H:]
			cr, hr := c[b*H:(b+1)*H], h[b*H:(b+1)*H]
			vmath.Mul(cr, fg, cprev[b*H:(b+1)*H])
			vmath.Mul(t, ig, gg)
			vmath.Add(cr, cr, t)
			rnnTanhTo(hr, cr)
			vmath.Mul(hr, hr, og)
		}
	})
}

func cpuLSTMCellGrad(_ tensor.Device, p LSTMCellGradParams) {
	H, G := p.Hidden, 4*p.Hidden
	act, dgates := f32(p.Act, p.N*G), f32(p.DGates, p.N*G)
	c, cprev := f32(p.C, p.N*H), f32(p.CPrev, p.N*H)
	dy, dhrec, dc := f32(p.DY, p.N*H), f32(p.DHRec, p.N*H), f32(p.DC, p.N*H)
	parallel.For(p.N, G, 1, func(lo, hi int) {
		sp := getScratch(4 * H)
		defer rnnScratch.Put(sp)
		tc, dh, d, t := (*sp)[:H], (*sp)[H:2*H], (*sp)[2*H:3*H], (*sp)[3*H:]
		for b := lo; b < hi; b++ {
			a, dg := act[b*G:(b+1)*G], dgates[b*G:(b+1)*G]
			ig, fg, gg, og := a[:H], a[H:2*H], a[2*H:3*H], a[3*H:]
			di, df, dgg, do := dg[:H], dg[H:2*H], dg[2*H:3*H], dg[3*H:]
			dcr := dc[b*H : (b+1)*H]
			rnnTanhTo(tc, c[b*H:(b+1)*H])
			vmath.Add(dh, dy[b*H:(b+1)*H], dhrec[b*H:(b+1)*H])
			// d = dc + dh·o·(1 − tanh²c)
			vmath.Mul(t, tc, tc)
			oneMinus(t, t)
			vmath.Mul(t, t, og)
			vmath.Mul(t, t, dh)
			vmath.Add(d, dcr, t)
			// do = dh·tanh c·o(1−o)
			oneMinus(t, og)
			vmath.Mul(t, t, og)
			vmath.Mul(do, dh, tc)
			vmath.Mul(do, do, t)
			// di = d·g·i(1−i)
			oneMinus(t, ig)
			vmath.Mul(t, t, ig)
			vmath.Mul(t, t, gg)
			vmath.Mul(di, d, t)
			// df = d·c_prev·f(1−f)
			oneMinus(t, fg)
			vmath.Mul(t, t, fg)
			vmath.Mul(t, t, cprev[b*H:(b+1)*H])
			vmath.Mul(df, d, t)
			// dg = d·i·(1−g²)
			vmath.Mul(t, gg, gg)
			oneMinus(t, t)
			vmath.Mul(t, t, ig)
			vmath.Mul(dgg, d, t)
			// dc_prev = d·f
			vmath.Mul(dcr, d, fg)
		}
	})
}

func cpuGRUCell(_ tensor.Device, p GRUCellParams) {
	H, G := p.Hidden, 3*p.Hidden
	xg, hg := f32(p.XG, p.N*G), f32(p.HG, p.N*G)
	hprev, h := f32(p.HPrev, p.N*H), f32(p.H, p.N*H)
	var bih, bhh []float32
	if p.HasBias {
		bih, bhh = f32(p.BiasIH, G), f32(p.BiasHH, G)
	}
	parallel.For(p.N, G, 1, func(lo, hi int) {
		sp := getScratch(H)
		defer rnnScratch.Put(sp)
		t := *sp
		for b := lo; b < hi; b++ {
			x, r := xg[b*G:(b+1)*G], hg[b*G:(b+1)*G]
			if bih != nil {
				vmath.Add(x, x, bih)
				vmath.Add(r[2*H:], r[2*H:], bhh[2*H:])
				vmath.Add(x[:2*H], x[:2*H], bhh[:2*H])
			}
			vmath.Add(x[:2*H], x[:2*H], r[:2*H])
			rnnSigmoidInPlace(x[:2*H])
			rg, zg, n, hn := x[:H], x[H:2*H], x[2*H:], r[2*H:]
			vmath.Mul(t, rg, hn)
			vmath.Add(n, n, t)
			rnnTanhTo(n, n)
			// h = (1−z)·n + z·h_prev
			hr := h[b*H : (b+1)*H]
			oneMinus(t, zg)
			vmath.Mul(hr, t, n)
			vmath.Mul(t, zg, hprev[b*H:(b+1)*H])
			vmath.Add(hr, hr, t)
		}
	})
}

func cpuGRUCellGrad(_ tensor.Device, p GRUCellGradParams) {
	H, G := p.Hidden, 3*p.Hidden
	act, hg := f32(p.Act, p.N*G), f32(p.HG, p.N*G)
	dxg, dhg := f32(p.DXG, p.N*G), f32(p.DHG, p.N*G)
	hprev, dy, dhrec, dhprev := f32(p.HPrev, p.N*H), f32(p.DY, p.N*H), f32(p.DHRec, p.N*H), f32(p.DHPrev, p.N*H)
	parallel.For(p.N, G, 1, func(lo, hi int) {
		sp := getScratch(2 * H)
		defer rnnScratch.Put(sp)
		dh, t := (*sp)[:H], (*sp)[H:]
		for b := lo; b < hi; b++ {
			a, hn := act[b*G:(b+1)*G], hg[b*G+2*H:(b+1)*G]
			rg, zg, n := a[:H], a[H:2*H], a[2*H:]
			dx, dhh := dxg[b*G:(b+1)*G], dhg[b*G:(b+1)*G]
			vmath.Add(dh, dy[b*H:(b+1)*H], dhrec[b*H:(b+1)*H])
			// dn = dh·(1−z)·(1−n²)
			dn := dx[2*H:]
			vmath.Mul(t, n, n)
			oneMinus(t, t)
			oneMinus(dn, zg)
			vmath.Mul(dn, dn, t)
			vmath.Mul(dn, dn, dh)
			// dr = dn·hn·r(1−r)
			dr := dx[:H]
			oneMinus(t, rg)
			vmath.Mul(t, t, rg)
			vmath.Mul(t, t, hn)
			vmath.Mul(dr, dn, t)
			// dz = dh·(h_prev − n)·z(1−z)
			dz := dx[H : 2*H]
			oneMinus(t, zg)
			vmath.Mul(t, t, zg)
			vmath.Sub(dz, hprev[b*H:(b+1)*H], n)
			vmath.Mul(dz, dz, t)
			vmath.Mul(dz, dz, dh)
			copy(dhh[:2*H], dx[:2*H])
			vmath.Mul(dhh[2*H:], dn, rg)
			// The direct part of dh_prev: dh·z (DHPrev may alias DHRec,
			// which dh already holds).
			vmath.Mul(dhprev[b*H:(b+1)*H], dh, zg)
		}
	})
}

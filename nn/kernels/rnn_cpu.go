package kernels

import (
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

// rnnF32 views n float32 elements of v.
func rnnF32(v tensor.View, n int) []float32 {
	if n == 0 {
		return nil
	}
	return v.Buf.Float32s(v.Off + n)[v.Off:]
}

// rnnGrain is the number of hidden units (times rows) below which a cell
// kernel stays on the calling goroutine.
const rnnGrain = 1 << 13

// rnnTask runs fn over row ranges on the worker pool.
type rnnTask struct {
	n  int
	fn func(lo, hi int)
}

func (t *rnnTask) Run(part, parts int) {
	lo, hi := parallel.Split(t.n, part, parts, 1)
	if lo < hi {
		t.fn(lo, hi)
	}
}

// rnnForRows runs fn over the rows [0, n), split across the pool when n rows of
// `width` hidden units are worth it.
func rnnForRows(n, width int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if n*width < rnnGrain || parallel.Threads() == 1 || n == 1 {
		fn(0, n)
		return
	}
	parallel.Run(&rnnTask{n: n, fn: fn}, min(parallel.Threads(), n, max(1, n*width/rnnGrain)))
}

// rnnSigmoidInPlace and rnnTanhTo are the cells' activations, vectorised
// by internal/vmath (within 2.5 and 1.5 ulp of float32).
func rnnSigmoidInPlace(x []float32) { vmath.Sigmoid(x, x) }

func rnnTanhTo(dst, x []float32) { vmath.Tanh(dst, x) }

func cpuLSTMCell(_ tensor.Device, p LSTMCellParams) {
	H, G := p.Hidden, 4*p.Hidden
	gates := rnnF32(p.Gates, p.N*G)
	cprev, c, h := rnnF32(p.CPrev, p.N*H), rnnF32(p.C, p.N*H), rnnF32(p.H, p.N*H)
	var bih, bhh []float32
	if p.HasBias {
		bih, bhh = rnnF32(p.BiasIH, G), rnnF32(p.BiasHH, G)
	}
	rnnForRows(p.N, G, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			g := gates[b*G : (b+1)*G]
			if bih != nil {
				for j := range g {
					g[j] += bih[j] + bhh[j]
				}
			}
			rnnSigmoidInPlace(g[:2*H])
			rnnTanhTo(g[2*H:3*H], g[2*H:3*H])
			rnnSigmoidInPlace(g[3*H:])
			ig, fg, gg, og := g[:H], g[H:2*H], g[2*H:3*H], g[3*H:]
			cp, cr, hr := cprev[b*H:(b+1)*H], c[b*H:(b+1)*H], h[b*H:(b+1)*H]
			for j := range cr {
				cr[j] = fg[j]*cp[j] + ig[j]*gg[j]
			}
			rnnTanhTo(hr, cr)
			for j := range hr {
				hr[j] *= og[j]
			}
		}
	})
}

func cpuLSTMCellGrad(_ tensor.Device, p LSTMCellGradParams) {
	H, G := p.Hidden, 4*p.Hidden
	act, dgates := rnnF32(p.Act, p.N*G), rnnF32(p.DGates, p.N*G)
	c, cprev := rnnF32(p.C, p.N*H), rnnF32(p.CPrev, p.N*H)
	dy, dhrec, dc := rnnF32(p.DY, p.N*H), rnnF32(p.DHRec, p.N*H), rnnF32(p.DC, p.N*H)
	rnnForRows(p.N, G, func(lo, hi int) {
		var tcBuf [256]float32
		for b := lo; b < hi; b++ {
			a, dg := act[b*G:(b+1)*G], dgates[b*G:(b+1)*G]
			ig, fg, gg, og := a[:H], a[H:2*H], a[2*H:3*H], a[3*H:]
			di, df, dgg, do := dg[:H], dg[H:2*H], dg[2*H:3*H], dg[3*H:]
			cr, cp := c[b*H:(b+1)*H], cprev[b*H:(b+1)*H]
			dyr, dhr, dcr := dy[b*H:(b+1)*H], dhrec[b*H:(b+1)*H], dc[b*H:(b+1)*H]
			for j0 := 0; j0 < H; j0 += len(tcBuf) {
				j1 := min(j0+len(tcBuf), H)
				tc := tcBuf[:j1-j0]
				rnnTanhTo(tc, cr[j0:j1])
				for k, t := range tc {
					j := j0 + k
					dh := dyr[j] + dhr[j]
					o := og[j]
					d := dcr[j] + dh*o*(1-t*t)
					i, f, g := ig[j], fg[j], gg[j]
					di[j] = d * g * i * (1 - i)
					df[j] = d * cp[j] * f * (1 - f)
					dgg[j] = d * i * (1 - g*g)
					do[j] = dh * t * o * (1 - o)
					dcr[j] = d * f
				}
			}
		}
	})
}

func cpuGRUCell(_ tensor.Device, p GRUCellParams) {
	H, G := p.Hidden, 3*p.Hidden
	xg, hg := rnnF32(p.XG, p.N*G), rnnF32(p.HG, p.N*G)
	hprev, h := rnnF32(p.HPrev, p.N*H), rnnF32(p.H, p.N*H)
	var bih, bhh []float32
	if p.HasBias {
		bih, bhh = rnnF32(p.BiasIH, G), rnnF32(p.BiasHH, G)
	}
	rnnForRows(p.N, G, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			x, r := xg[b*G:(b+1)*G], hg[b*G:(b+1)*G]
			if bih != nil {
				for j := range 2 * H {
					x[j] += bih[j] + bhh[j]
				}
				for j := 2 * H; j < G; j++ {
					x[j] += bih[j]
					r[j] += bhh[j]
				}
			}
			for j := range 2 * H {
				x[j] += r[j]
			}
			rnnSigmoidInPlace(x[:2*H])
			rg, zg, n, hn := x[:H], x[H:2*H], x[2*H:], r[2*H:]
			for j := range n {
				n[j] += rg[j] * hn[j]
			}
			rnnTanhTo(n, n)
			hp, hr := hprev[b*H:(b+1)*H], h[b*H:(b+1)*H]
			for j := range hr {
				z := zg[j]
				hr[j] = (1-z)*n[j] + z*hp[j]
			}
		}
	})
}

func cpuGRUCellGrad(_ tensor.Device, p GRUCellGradParams) {
	H, G := p.Hidden, 3*p.Hidden
	act, hg := rnnF32(p.Act, p.N*G), rnnF32(p.HG, p.N*G)
	dxg, dhg := rnnF32(p.DXG, p.N*G), rnnF32(p.DHG, p.N*G)
	hprev, dy, dhrec, dhprev := rnnF32(p.HPrev, p.N*H), rnnF32(p.DY, p.N*H), rnnF32(p.DHRec, p.N*H), rnnF32(p.DHPrev, p.N*H)
	rnnForRows(p.N, G, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			a, hn := act[b*G:(b+1)*G], hg[b*G+2*H:(b+1)*G]
			dx, dhh := dxg[b*G:(b+1)*G], dhg[b*G:(b+1)*G]
			hp := hprev[b*H : (b+1)*H]
			dyr, dhr, dpr := dy[b*H:(b+1)*H], dhrec[b*H:(b+1)*H], dhprev[b*H:(b+1)*H]
			for j := range H {
				r, z, n := a[j], a[H+j], a[2*H+j]
				dh := dyr[j] + dhr[j]
				dn := dh * (1 - z) * (1 - n*n)
				dr := dn * hn[j] * r * (1 - r)
				dz := dh * (hp[j] - n) * z * (1 - z)
				dx[j], dx[H+j], dx[2*H+j] = dr, dz, dn
				dhh[j], dhh[H+j], dhh[2*H+j] = dr, dz, dn*r
				dpr[j] = dh * z
			}
		}
	})
}

package kernels

import "github.com/ingotml/ingot/internal/cpufeat"

// The row kernels of rows_amd64.s. Each does oh rows of outputs; dst
// (gather) or src (scatter) is the contiguous side, the other starts a row
// every rowStep elements. The callers check the bounds. Every load and
// store is masked to the elements the Go loop touches, so nothing outside
// them is read or written.

//go:noescape
func gatherRows1AVX512(dst, src *float32, oh, ow, rowStep int)

//go:noescape
func scatterRows1AVX512(dst, src *float32, oh, ow, rowStep int)

//go:noescape
func gatherRowsPermAVX512(dst, src *float32, oh, rowStep, full, tail int, p *rowsPlan, fullMasks, tailMasks uint64)

//go:noescape
func scatterRowsPermAVX512(dst, src *float32, oh, rowStep, full, tail int, p *rowsPlan, fullMasks, tailMasks uint64)

//go:noescape
func gatherRowsPermAVX2(dst, src *float32, oh, rowStep, full, tail int, p *rowsPlan2, fm, tm *rowsMasks2)

//go:noescape
func scatterRowsPermAVX2(dst, src *float32, oh, rowStep, full, tail int, p *rowsPlan2, fm, tm *rowsMasks2)

// maxPermStep is the largest step the permuting kernels take (chunks of 2
// outputs); larger steps run as Go.
const maxPermStep = 16

// rowsPlan is what the permuting kernels need for one step s; its layout
// is read by rows_amd64.s.
type rowsPlan struct {
	idx          [16]int32 // gather: output j is lane idx[j] = j·s of the 32-lane span
	dupLo, dupHi [16]int32 // scatter: lane l (16+l) of the span takes source l/s ((16+l)/s)
	stridedBytes int       // a chunk's extent on the strided side: 4·c·s
	contigBytes  int       // and on the contiguous side: 4·c
	chunk        int       // c, outputs per chunk
	step         int       // s
	lanes        uint32    // bit l set for the lanes l that are multiples of s
}

var rowsPlans = func() (ps [maxPermStep + 1]rowsPlan) {
	for s := 2; s <= maxPermStep; s++ {
		p := &ps[s]
		p.step, p.chunk = s, min(16, 31/s+1)
		p.stridedBytes, p.contigBytes = 4*p.chunk*s, 4*p.chunk
		for j := range p.chunk {
			p.idx[j] = int32(j * s)
		}
		for l := range 16 {
			p.dupLo[l], p.dupHi[l] = int32(l/s), int32((16+l)/s)
		}
		for l := 0; l < 32; l += s {
			p.lanes |= 1 << l
		}
	}
	return ps
}()

// masks packs a chunk of k outputs' masks as out | lo<<16 | hi<<32 (see
// rows_amd64.s): scatter loads and stores only the lanes j·s of the span,
// gather loads all of it.
func (p *rowsPlan) masks(k int, scatter bool) uint64 {
	span := uint64(1)<<((k-1)*p.step+1) - 1
	if scatter {
		span &= uint64(p.lanes)
	}
	return uint64(1)<<k - 1 | (span&0xffff)<<16 | (span>>16)<<32
}

// maxPermStep2 is the largest step the AVX2 kernels take (chunks of 2
// outputs).
const maxPermStep2 = 8

// rowsPlan2 is rowsPlan for the AVX2 kernels: chunks of c ≤ 8 outputs
// spanning ≤ 16 elements, read as two halves of 8. Its layout is read by
// rows_amd64.s.
type rowsPlan2 struct {
	idx          [8]int32 // gather: output j is lane j·s (mod 8) of its half
	sel          [8]int32 // gather: −1 where j·s ≥ 8, the upper half
	dupLo, dupHi [8]int32 // scatter: lane l (8+l) of the span takes source l/s ((8+l)/s)
	stridedBytes int      // a chunk's extent on the strided side: 4·c·s
	contigBytes  int      // and on the contiguous side: 4·c
	chunk        int      // c
	masks        [9]rowsMasks2
}

// rowsMasks2 are the vector masks (−1: the lane is on) of a chunk of k
// outputs for the AVX2 kernels: the strided halves to load for gather (the
// whole span) and to load and store for scatter (the lanes j·s), and the
// contiguous side's k elements. Its layout is read by rows_amd64.s.
type rowsMasks2 struct {
	gLo, gHi, sLo, sHi, out [8]int32
}

var rowsPlans2 = func() (ps [maxPermStep2 + 1]rowsPlan2) {
	for s := 1; s <= maxPermStep2; s++ {
		p := &ps[s]
		p.chunk = min(8, 15/s+1)
		p.stridedBytes, p.contigBytes = 4*p.chunk*s, 4*p.chunk
		for l := range 8 {
			p.idx[l] = int32(l * s % 8)
			if l*s >= 8 {
				p.sel[l] = -1
			}
			p.dupLo[l], p.dupHi[l] = int32(l/s%8), int32((8+l)/s%8)
		}
		for k := 1; k <= p.chunk; k++ {
			m := &p.masks[k]
			span := (k-1)*s + 1
			for l := range 16 {
				var g, sc int32
				if l < span {
					g = -1
					if l%s == 0 {
						sc = -1
					}
				}
				if l < 8 {
					m.gLo[l], m.sLo[l] = g, sc
					if l < k {
						m.out[l] = -1
					}
				} else {
					m.gHi[l-8], m.sHi[l-8] = g, sc
				}
			}
		}
	}
	return ps
}()

// rowsBounds panics, like the Go loops would, unless contig and strided
// hold every element the kernels touch.
func rowsBounds(contig, strided []float32, oh, ow, rowStep, step int) {
	_ = contig[oh*ow-1]
	_ = strided[(oh-1)*rowStep+(ow-1)*step]
}

// rowsAVX2 and rowsAVX512 say which kernels rowsPath allows. AVX-512 CPUs
// run the AVX2 kernels on rows that fit in one 8-lane chunk, where they
// measured faster (the 7×7 outputs of the DCGAN's second convolution:
// ~25% on Zen 4).
var rowsAVX2, rowsAVX512 bool

func setRowsPath(p cpufeat.Path) {
	rowsPath = p
	rowsAVX512 = p == cpufeat.AVX512
	rowsAVX2 = rowsAVX512 || p == cpufeat.AVX2
}

// split returns the full chunks and the outputs left of a row of ow.
func (p *rowsPlan2) split(ow int) (full, tail int) {
	if p.chunk == 8 {
		return ow >> 3, ow & 7
	}
	return ow / p.chunk, ow % p.chunk
}

// split returns the full chunks and the outputs left of a row of ow.
func (p *rowsPlan) split(ow int) (full, tail int) {
	if p.chunk == 16 {
		return ow >> 4, ow & 15
	}
	return ow / p.chunk, ow % p.chunk
}

// gatherRowsVec runs gatherRows on a vector path if there is one for this
// CPU and step, and reports whether it did.
func gatherRowsVec(dst, src []float32, oh, ow, rowStep, step int) bool {
	if step < 1 || rowStep < 0 {
		return false
	}
	if rowsAVX2 && step <= maxPermStep2 && (!rowsAVX512 || ow <= rowsPlans2[step].chunk) {
		rowsBounds(dst, src, oh, ow, rowStep, step)
		p := &rowsPlans2[step]
		full, tail := p.split(ow)
		gatherRowsPermAVX2(&dst[0], &src[0], oh, rowStep, full, tail, p, &p.masks[p.chunk], &p.masks[tail])
		return true
	}
	if !rowsAVX512 || step > maxPermStep {
		return false
	}
	rowsBounds(dst, src, oh, ow, rowStep, step)
	if step == 1 {
		gatherRows1AVX512(&dst[0], &src[0], oh, ow, rowStep)
		return true
	}
	p := &rowsPlans[step]
	full, tail := p.split(ow)
	var tm uint64
	if tail > 0 {
		tm = p.masks(tail, false)
	}
	gatherRowsPermAVX512(&dst[0], &src[0], oh, rowStep, full, tail, p, p.masks(p.chunk, false), tm)
	return true
}

// scatterRowsVec runs scatterRows on a vector path if there is one for this
// CPU and step, and reports whether it did.
func scatterRowsVec(dst, src []float32, oh, ow, rowStep, step int) bool {
	if step < 1 || rowStep < 0 {
		return false
	}
	if rowsAVX2 && step <= maxPermStep2 && (!rowsAVX512 || ow <= rowsPlans2[step].chunk) {
		rowsBounds(src, dst, oh, ow, rowStep, step)
		p := &rowsPlans2[step]
		full, tail := p.split(ow)
		scatterRowsPermAVX2(&dst[0], &src[0], oh, rowStep, full, tail, p, &p.masks[p.chunk], &p.masks[tail])
		return true
	}
	if !rowsAVX512 || step > maxPermStep {
		return false
	}
	rowsBounds(src, dst, oh, ow, rowStep, step)
	if step == 1 {
		scatterRows1AVX512(&dst[0], &src[0], oh, ow, rowStep)
		return true
	}
	p := &rowsPlans[step]
	full, tail := p.split(ow)
	var tm uint64
	if tail > 0 {
		tm = p.masks(tail, true)
	}
	scatterRowsPermAVX512(&dst[0], &src[0], oh, rowStep, full, tail, p, p.masks(p.chunk, true), tm)
	return true
}

package gemm

import (
	"sync"
	"unsafe"

	"github.com/ingotml/ingot/internal/cpufeat"
	"github.com/ingotml/ingot/internal/parallel"
)

// ukernel computes the tile acc[i][j] = Σ_p a[p·MR+i]·b[p·NR+j] over kc steps
// of a packed A micro-panel (MR rows, k-major) and a packed B micro-panel (NR
// columns, k-major), and stores C[i·ldc+j] = alpha·acc + beta·C for i < mr,
// j < nr. With load = 0, C is not read (beta is ignored). Kernels without
// partial support are only called with mr = MR and nr = NR.
type ukernel func(kc int, a, b, c *float32, ldc int, alpha, beta float32, load, mr, nr int)

// impl is one kernel path with its blocking (see the package doc): per
// chunk of rows, all K slices of op(A) are packed once into MR-row
// micro-panels shared by the workers; each worker then packs kc×nc blocks of
// op(B) into NR-column micro-panels (sized to stay in L2) and runs the
// micro-kernel for every A micro-panel (kept in L1) over the block.
type impl struct {
	path    cpufeat.Path
	mr, nr  int
	kc, nc  int // K slice; N block (packed B block kc×nc stays in L2)
	mcL3    int // most rows of A packed per chunk (see also apackBudget)
	partial bool
	kern    ukernel
	// packB64 packs full 64-column B panels in assembly when set.
	packB64 bool
	// small: below m·n·k = small, one thread does the whole call.
	small int
	// narrow takes calls with n ≤ narrowN: a tile that wide wastes fewer
	// lanes (a convolution's 32×16 weight gradient fills a quarter of
	// AVX-512's 64-wide tile).
	narrow *impl
	// direct replaces the blocked algorithm (Accelerate).
	direct func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
}

// narrowN is the widest C that the narrow tile takes (measured here with
// `ingot bench gemm`: at n = 16, AVX2's 16-wide tile is 1.5–1.8× faster
// than AVX-512's 64-wide; at n = 24–32 they are level).
const narrowN = 16

func (im *impl) sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	if im.direct != nil {
		im.direct(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if im.skinny(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
		return
	}
	if n <= narrowN && im.narrow != nil {
		im = im.narrow
	}
	j := jobs.Get().(*job)
	j.im = im
	j.transA, j.transB = transA, transB
	j.m, j.n, j.k = m, n, k
	j.alpha, j.beta = alpha, beta
	j.a, j.lda, j.b, j.ldb, j.c, j.ldc = a, lda, b, ldb, c, ldc
	j.run()
	j.a, j.b, j.c = nil, nil, nil
	jobs.Put(j)
}

// scaleC sets C = beta·C (C = 0 when beta = 0, whatever C held).
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// jobs recycles call state with its packing buffers (up to apackBudget plus
// one B block per part), so a warm call allocates nothing; concurrent calls
// each hold their own job.
var jobs = sync.Pool{New: func() any { return new(job) }}

const (
	phasePackA = iota
	phaseCompute
)

// job is the state of one blocked call; pooled with its packing buffers.
type job struct {
	im             *impl
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int

	phase   int
	i0, mc  int // current chunk of rows
	mPanels int // A micro-panels in the chunk
	kslices int // K is cut into kslices near-equal slices of at most kc
	kcMax   int
	pm, pn  int // compute grid over (A panels, B panels)
	apack   []float32
	bpack   [][]float32 // one per compute part
	tiles   [][]float32 // edge tiles for kernels without partial support
}

func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

// slice returns the start and length of K slice s.
func (j *job) slice(s int) (p0, kc int) {
	p0 = s * j.k / j.kslices
	return p0, (s+1)*j.k/j.kslices - p0
}

// apackBudget bounds the shared packed A (floats, 32 MiB) of one chunk of
// rows. Each chunk costs two barriers, and on shared cores a barrier can
// wait a whole scheduler slice for a descheduled worker, so chunks are big:
// 2048×2048 A is one chunk.
const apackBudget = 1 << 23

// run does the call in chunks of rows. Per chunk, all K slices of op(A) are
// packed first (one parallel phase), then every part computes its block of
// C over all K slices on its own (a second phase): two barriers per chunk.
func (j *job) run() {
	im := j.im
	threads := parallel.Threads()
	if j.m*j.n*j.k < im.small {
		threads = 1
	}
	nPanels := (j.n + im.nr - 1) / im.nr
	j.kslices = (j.k + im.kc - 1) / im.kc
	j.kcMax = (j.k + j.kslices - 1) / j.kslices
	// Rows per chunk: at most mcL3 and the A budget, balanced over chunks.
	mcMax := max(im.mr, min(im.mcL3, apackBudget/j.k)/im.mr*im.mr)
	chunks := (j.m + mcMax - 1) / mcMax
	mcStep := ((j.m+chunks-1)/chunks + im.mr - 1) / im.mr * im.mr
	for j.i0 = 0; j.i0 < j.m; j.i0 += mcStep {
		j.mc = min(mcStep, j.m-j.i0)
		j.mPanels = (j.mc + im.mr - 1) / im.mr
		j.grid(threads, j.mPanels, nPanels)
		parts := j.pm * j.pn
		j.apack = grow(j.apack, j.kslices*j.mPanels*im.mr*j.kcMax)
		for len(j.bpack) < parts {
			j.bpack = append(j.bpack, nil)
			j.tiles = append(j.tiles, nil)
		}
		for p := range parts {
			j.bpack[p] = grow(j.bpack[p], im.nc*j.kcMax)
			if !im.partial {
				j.tiles[p] = grow(j.tiles[p], im.mr*im.nr)
			}
		}
		j.phase = phasePackA
		packParts := 1
		if threads > 1 && j.mPanels*im.mr*j.k >= 1<<15 {
			packParts = min(threads, j.mPanels*j.kslices)
		}
		parallel.Run(j, packParts)
		j.phase = phaseCompute
		parallel.Run(j, parts)
	}
}

// grid splits the output of a chunk into pm×pn parts. Splitting along N costs
// nothing extra (each part packs its own B columns); splitting along M makes
// each M part repack the B block, so it is used only when N is too narrow.
// More parts than threads lets fast threads take over work from slow ones
// (this machine's cores are shared).
func (j *job) grid(threads, mPanels, nPanels int) {
	if threads <= 1 {
		j.pm, j.pn = 1, 1
		return
	}
	// Up to 4 parts per thread along N while each keeps at least 2 B panels
	// (an A micro-panel fetched into L1 serves at least 2 kernel calls).
	target := 4 * threads
	j.pn = max(1, min(nPanels/2, target))
	j.pm = 1
	if j.pn < threads {
		j.pn = min(nPanels, threads)
		j.pm = min(mPanels, (2*threads+j.pn-1)/j.pn)
	}
}

// apanel returns A micro-panel q of K slice s.
func (j *job) apanel(s, q, kc int) []float32 {
	off := (s*j.mPanels + q) * j.im.mr * j.kcMax
	return j.apack[off : off+j.im.mr*kc]
}

// Run implements parallel.Task.
func (j *job) Run(part, parts int) {
	im := j.im
	if j.phase == phasePackA {
		lo, hi := parallel.Split(j.mPanels*j.kslices, part, parts, 1)
		for x := lo; x < hi; x++ {
			s, q := x/j.mPanels, x%j.mPanels
			p0, kc := j.slice(s)
			row := j.i0 + q*im.mr
			packA(j.apanel(s, q, kc), j.a, j.lda, j.transA, row, min(im.mr, j.m-row), im.mr, p0, kc)
		}
		return
	}
	pi, pj := part/j.pn, part%j.pn
	qlo, qhi := parallel.Split(j.mPanels, pi, j.pm, 1)
	nPanels := (j.n + im.nr - 1) / im.nr
	jlo, jhi := parallel.Split(nPanels, pj, j.pn, 1)
	bp := j.bpack[part]
	panelsPerBlock := im.nc / im.nr
	for jb := jlo; jb < jhi; jb += panelsPerBlock {
		je := min(jhi, jb+panelsPerBlock)
		for s := range j.kslices {
			p0, kc := j.slice(s)
			betaK, load := j.beta, 1
			if s > 0 {
				betaK = 1
			} else if j.beta == 0 {
				load = 0
			}
			im.packBBlock(bp, j.b, j.ldb, j.transB, jb, je, j.n, p0, kc)
			for q := qlo; q < qhi; q++ {
				row := j.i0 + q*im.mr
				mr := min(im.mr, j.m-row)
				ap := &j.apanel(s, q, kc)[0]
				for jq := jb; jq < je; jq++ {
					col := jq * im.nr
					nr := min(im.nr, j.n-col)
					bpp := &bp[(jq-jb)*im.nr*kc]
					cp := &j.c[row*j.ldc+col]
					if im.partial || (mr == im.mr && nr == im.nr) {
						im.kern(kc, ap, bpp, cp, j.ldc, j.alpha, betaK, load, mr, nr)
						continue
					}
					t := j.tiles[part]
					im.kern(kc, ap, bpp, &t[0], im.nr, 1, 0, 0, im.mr, im.nr)
					mergeTile(t, im.nr, j.c[row*j.ldc+col:], j.ldc, mr, nr, j.alpha, betaK, load)
				}
			}
		}
	}
}

// mergeTile stores C = alpha·t + beta·C over an mr×nr edge tile.
func mergeTile(t []float32, ldt int, c []float32, ldc, mr, nr int, alpha, beta float32, load int) {
	for i := range mr {
		ti := t[i*ldt : i*ldt+nr]
		ci := c[i*ldc : i*ldc+nr]
		if load == 0 {
			for x, v := range ti {
				ci[x] = alpha * v
			}
			continue
		}
		for x, v := range ti {
			ci[x] = alpha*v + beta*ci[x]
		}
	}
}

// ptr returns &x[0] for the kernels.
func ptr(x []float32) *float32 { return (*float32)(unsafe.Pointer(unsafe.SliceData(x))) }

// packBBlock packs B panels [jb, je) of K slice (p0, kc) into dst, panel
// q-jb at (q-jb)·nr·kc.
func (im *impl) packBBlock(dst, b []float32, ldb int, trans bool, jb, je, n, p0, kc int) {
	if im.packB64 {
		full := min(je, n/64) // panels with all 64 columns
		if !trans && full > jb {
			np := full - jb
			_ = b[(p0+kc-1)*ldb+full*64-1] // bounds: the last element read
			_ = dst[np*64*kc-1]
			packB64(ptr(dst), &b[p0*ldb+jb*64], ldb, kc, np)
			jb = full
			dst = dst[np*64*kc:]
		}
		if trans && kc >= 16 {
			k16 := kc &^ 15
			for ; jb < full; jb++ {
				col := jb * 64
				_ = b[(col+63)*ldb+p0+k16-1]
				d := dst[:64*kc]
				packBT64(ptr(d), &b[col*ldb+p0], ldb, k16)
				if k16 < kc {
					packBTail(d[k16*64:], b, ldb, col, p0+k16, kc-k16)
				}
				dst = dst[64*kc:]
			}
		}
	}
	for q := jb; q < je; q++ {
		col := q * im.nr
		packB(dst[(q-jb)*im.nr*kc:(q-jb+1)*im.nr*kc], b, ldb, trans, col, min(im.nr, n-col), im.nr, p0, kc)
	}
}

// packBTail packs the last kc < 16 rows of a transposed 64-column panel.
func packBTail(dst, b []float32, ldb, col, p0, kc int) {
	for j := range 64 {
		src := b[(col+j)*ldb+p0 : (col+j)*ldb+p0+kc]
		for p, v := range src {
			dst[p*64+j] = v
		}
	}
}

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

// impl is one kernel path with its blocking.
//
// Blocking (Goto/BLIS, with the roles of A and B swapped because the
// micro-kernels vectorise along N, the contiguous dimension of row-major C):
// for each chunk of mcL3 rows and each K slice of kc, all of op(A) in the
// chunk is packed once into MR-row micro-panels (shared by all workers);
// then each worker packs kc×nc blocks of op(B) into NR-column micro-panels
// (sized to stay in L2) and, for every A micro-panel (kept in L1 while it
// sweeps the B block), runs the micro-kernel over the block's B panels.
type impl struct {
	path    cpufeat.Path
	mr, nr  int
	kc, nc  int // K slice; N block (packed B block kc×nc stays in L2)
	mcL3    int // rows of A packed per chunk (bounds the shared A buffer)
	partial bool
	kern    ukernel
	// packB64 packs full 64-column B panels in assembly when set.
	packB64 bool
	// small: below m·n·k = small, one thread does the whole call.
	small int
	// direct replaces the blocked algorithm (Accelerate).
	direct func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
}

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

	phase      int
	i0, mc     int // current chunk of rows
	p0, kc     int // current K slice
	load       int // 0 on the first K slice when beta = 0
	betaK      float32
	packParts  int
	pm, pn     int // compute grid over (A panels, B panels)
	apack      []float32
	bpack      [][]float32 // one per compute part
	tiles      [][]float32 // edge tiles for kernels without partial support
	threadsUse int
}

func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

func (j *job) run() {
	im := j.im
	threads := parallel.Threads()
	if j.m*j.n*j.k < im.small {
		threads = 1
	}
	nPanels := (j.n + im.nr - 1) / im.nr
	kslices := (j.k + im.kc - 1) / im.kc
	kcMax := (j.k + kslices - 1) / kslices
	for j.i0 = 0; j.i0 < j.m; j.i0 += im.mcL3 {
		j.mc = min(im.mcL3, j.m-j.i0)
		mPanels := (j.mc + im.mr - 1) / im.mr
		j.grid(threads, mPanels, nPanels)
		parts := j.pm * j.pn
		j.apack = grow(j.apack, mPanels*im.mr*kcMax)
		for len(j.bpack) < parts {
			j.bpack = append(j.bpack, nil)
			j.tiles = append(j.tiles, nil)
		}
		for p := range parts {
			j.bpack[p] = grow(j.bpack[p], im.nc*kcMax)
			if !im.partial {
				j.tiles[p] = grow(j.tiles[p], im.mr*im.nr)
			}
		}
		for s := range kslices {
			j.p0 = s * j.k / kslices
			j.kc = (s+1)*j.k/kslices - j.p0
			j.betaK, j.load = j.beta, 1
			if s > 0 {
				j.betaK = 1
			} else if j.beta == 0 {
				j.load = 0
			}
			// Pack A on all threads unless it is small.
			j.phase = phasePackA
			j.packParts = 1
			if threads > 1 && mPanels*im.mr*j.kc >= 1<<15 {
				j.packParts = min(threads, mPanels)
			}
			parallel.Run(j, j.packParts)
			j.phase = phaseCompute
			parallel.Run(j, parts)
		}
	}
}

// grid splits the output of a chunk into pm×pn parts. Splitting along N costs
// nothing extra (each part packs its own B columns); splitting along M makes
// each M part repack the B block, so it is used only when N is too narrow.
// More parts than threads lets fast threads take over work from slow ones.
func (j *job) grid(threads, mPanels, nPanels int) {
	if threads <= 1 {
		j.pm, j.pn = 1, 1
		return
	}
	target := 2 * threads
	j.pn = min(nPanels, target)
	j.pm = 1
	if j.pn < threads {
		j.pm = min(mPanels, (target+j.pn-1)/j.pn)
	}
}

// Run implements parallel.Task.
func (j *job) Run(part, parts int) {
	im := j.im
	mPanels := (j.mc + im.mr - 1) / im.mr
	if j.phase == phasePackA {
		lo, hi := parallel.Split(mPanels, part, parts, 1)
		for q := lo; q < hi; q++ {
			row := j.i0 + q*im.mr
			dst := j.apack[q*im.mr*j.kc : (q+1)*im.mr*j.kc]
			packA(dst, j.a, j.lda, j.transA, row, min(im.mr, j.m-row), im.mr, j.p0, j.kc)
		}
		return
	}
	pi, pj := part/j.pn, part%j.pn
	qlo, qhi := parallel.Split(mPanels, pi, j.pm, 1)
	nPanels := (j.n + im.nr - 1) / im.nr
	jlo, jhi := parallel.Split(nPanels, pj, j.pn, 1)
	bp := j.bpack[part]
	panelsPerBlock := im.nc / im.nr
	for jb := jlo; jb < jhi; jb += panelsPerBlock {
		je := min(jhi, jb+panelsPerBlock)
		// pack B panels [jb, je)
		for q := jb; q < je; q++ {
			col := q * im.nr
			dst := bp[(q-jb)*im.nr*j.kc : (q-jb+1)*im.nr*j.kc]
			im.packB(dst, j.b, j.ldb, j.transB, col, min(im.nr, j.n-col), j.p0, j.kc)
		}
		for q := qlo; q < qhi; q++ {
			row := j.i0 + q*im.mr
			mr := min(im.mr, j.m-row)
			ap := &j.apack[q*im.mr*j.kc]
			for jq := jb; jq < je; jq++ {
				col := jq * im.nr
				nr := min(im.nr, j.n-col)
				bpp := &bp[(jq-jb)*im.nr*j.kc]
				cp := &j.c[row*j.ldc+col]
				if im.partial || (mr == im.mr && nr == im.nr) {
					im.kern(j.kc, ap, bpp, cp, j.ldc, j.alpha, j.betaK, j.load, mr, nr)
					continue
				}
				t := j.tiles[part]
				im.kern(j.kc, ap, bpp, &t[0], im.nr, 1, 0, 0, im.mr, im.nr)
				mergeTile(t, im.nr, j.c[row*j.ldc+col:], j.ldc, mr, nr, j.alpha, j.betaK, j.load)
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

func (im *impl) packB(dst, b []float32, ldb int, trans bool, col, cols, p0, kc int) {
	if im.packB64 && cols == 64 {
		if !trans {
			_ = b[(p0+kc-1)*ldb+col+63] // bounds: the last element read
			packB64(ptr(dst[:kc*64]), &b[p0*ldb+col], ldb, kc)
			return
		}
		if k16 := kc &^ 15; k16 > 0 {
			_ = b[(col+63)*ldb+p0+k16-1]
			packBT64(ptr(dst[:kc*64]), &b[col*ldb+p0], ldb, k16)
			if k16 < kc {
				packBTail(dst[k16*64:], b, ldb, col, p0+k16, kc-k16)
			}
			return
		}
	}
	packB(dst, b, ldb, trans, col, cols, im.nr, p0, kc)
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

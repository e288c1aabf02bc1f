package kernels

import "github.com/ingotml/ingot/internal/parallel"

// convGrain is the work (in elements touched) below which a kernel stays on the
// calling goroutine.
const convGrain = 1 << 15

type convTask struct {
	n  int
	fn func(lo, hi int)
}

func (t *convTask) Run(part, parts int) {
	lo, hi := parallel.Split(t.n, part, parts, 1)
	if lo < hi {
		t.fn(lo, hi)
	}
}

// parallelFor runs fn over [0, n) in pieces on the worker pool when n items
// of the given cost are worth splitting.
func convParallelFor(n, cost int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if n*cost < convGrain || parallel.Threads() == 1 {
		fn(0, n)
		return
	}
	parallel.Run(&convTask{n: n, fn: fn}, min(parallel.Threads(), n, max(1, n*cost/convGrain)))
}

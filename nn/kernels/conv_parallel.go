package kernels

import "github.com/ingotml/ingot/internal/parallel"

// convParallelFor runs fn over [0, n) on the worker pool when n items of
// the given cost are worth splitting.
func convParallelFor(n, cost int, fn func(lo, hi int)) { parallel.For(n, cost, 1, fn) }

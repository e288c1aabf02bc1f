//go:build darwin

package gemm

import (
	"sync"

	"github.com/ingotml/ingot/internal/cpufeat"
)

// Accelerate's cblas_sgemm, loaded with purego (no cgo). On Apple silicon it
// runs on the AMX units, far beyond what NEON reaches; it manages its own
// threads, so parallel.Threads does not bound it. cpufeat lists it first on
// darwin/arm64; if the framework does not load, init falls back to NEON.
const acceleratePath = "/System/Library/Frameworks/Accelerate.framework/Accelerate"

var accel struct {
	once sync.Once
	im   *impl
	err  error
}

func accelerateImpl() (*impl, error) {
	accel.once.Do(func() { accel.im, accel.err = bindCBLAS(cpufeat.Accelerate, acceleratePath) })
	return accel.im, accel.err
}

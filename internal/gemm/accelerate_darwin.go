//go:build darwin

package gemm

import (
	"fmt"
	"sync"

	"github.com/ebitengine/purego"

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
	accel.once.Do(func() {
		sgemm, err := loadCBLAS(acceleratePath)
		if err != nil {
			accel.err = err
			return
		}
		accel.im = cblasImpl(cpufeat.Accelerate, sgemm)
	})
	return accel.im, accel.err
}

// loadCBLAS binds cblas_sgemm from the library at path.
func loadCBLAS(path string) (sgemm cblasSgemm, err error) {
	defer func() {
		if r := recover(); r != nil { // purego reports unsupported signatures by panicking
			sgemm, err = nil, fmt.Errorf("gemm: binding cblas_sgemm from %s: %v", path, r)
		}
	}()
	h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		return nil, fmt.Errorf("gemm: loading %s: %w", path, err)
	}
	sym, err := purego.Dlsym(h, "cblas_sgemm")
	if err != nil {
		return nil, fmt.Errorf("gemm: %s has no cblas_sgemm: %w", path, err)
	}
	purego.RegisterFunc(&sgemm, sym)
	return sgemm, nil
}

package gemm

import (
	"fmt"

	"github.com/ingotml/ingot/internal/cpufeat"
)

// implFor builds the kernel set of a path. Blocking sizes are per path; see
// the comments at each kernel's definition for how they follow the caches.
func implFor(p cpufeat.Path) (*impl, error) {
	switch p {
	case cpufeat.Accelerate:
		return accelerateImpl()
	case cpufeat.Generic:
		return &impl{path: p, mr: genericMR, nr: genericNR, kc: 256, nc: 256, mcL3: 4096,
			partial: true, kern: kernGeneric, small: 48 * 48 * 48}, nil
	}
	if im := archImpl(p); im != nil {
		return im, nil
	}
	return nil, fmt.Errorf("gemm: path %q has no kernels in this build", p)
}

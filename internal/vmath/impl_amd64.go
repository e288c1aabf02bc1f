package vmath

import "github.com/ingotml/ingot/internal/cpufeat"

func pathKernels(p cpufeat.Path) *kernels {
	switch p {
	case cpufeat.AVX512:
		return &kernelsAVX512
	case cpufeat.AVX2:
		return &kernelsAVX2
	case cpufeat.Generic:
		return &genericKernels
	}
	return nil
}

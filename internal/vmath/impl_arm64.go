package vmath

import "github.com/ingotml/ingot/internal/cpufeat"

func pathKernels(p cpufeat.Path) *kernels {
	switch p {
	case cpufeat.NEON:
		return &kernelsNEON
	case cpufeat.Generic:
		return &genericKernels
	}
	return nil
}

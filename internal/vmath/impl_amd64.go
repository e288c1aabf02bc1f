package vmath

import "github.com/ingotml/ingot/internal/cpufeat"

func pathKernels(p cpufeat.Path) *kernels {
	if p == cpufeat.Generic {
		return &genericKernels
	}
	return nil
}

//go:build !amd64

package kernels

// adamVector is the scalar loop's alone here.
func adamVector(p *AdamParams, param, grad, m, v []float32) int { return 0 }

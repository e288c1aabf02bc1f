//go:build !amd64

package kernels

// The strided row loops run as Go here.
func gatherRowsVec(dst, src []float32, oh, ow, rowStep, step int) bool  { return false }
func scatterRowsVec(dst, src []float32, oh, ow, rowStep, step int) bool { return false }

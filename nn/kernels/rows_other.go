//go:build !amd64

package kernels

import "github.com/ingotml/ingot/internal/cpufeat"

func setRowsPath(p cpufeat.Path) { rowsPath = p }

// The strided row loops run as Go here.
func gatherRowsVec(dst, src []float32, oh, ow, rowStep, step int) bool  { return false }
func scatterRowsVec(dst, src []float32, oh, ow, rowStep, step int) bool { return false }

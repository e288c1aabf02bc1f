package kernels

import "github.com/ingotml/ingot/internal/cpufeat"

// rowsPath is the kernel path of gatherRows and scatterRows: INGOT_CPU or
// the best the CPU has. Tests force each available path with setRowsPath.
var rowsPath cpufeat.Path

func init() {
	p, _ := cpufeat.Choose()
	setRowsPath(p)
}

// gatherRows sets dst[i·ow + j] = src[i·rowStep + j·step] for i < oh, j < ow.
// It is the inner loop of im2col; on amd64 it runs as AVX-512 or AVX2
// assembly for the common steps (rows_amd64.go), else as gatherRowsGo.
func gatherRows(dst, src []float32, oh, ow, rowStep, step int) {
	if oh > 0 && ow > 0 && gatherRowsVec(dst, src, oh, ow, rowStep, step) {
		return
	}
	gatherRowsGo(dst, src, oh, ow, rowStep, step)
}

// scatterRows adds src[i·ow + j] to dst[i·rowStep + j·step] for i < oh,
// j < ow, in (i, j) order: the inner loop of col2im. Every element of dst
// receives at most one addition per row, so the vector paths give the same
// bits as scatterRowsGo.
func scatterRows(dst, src []float32, oh, ow, rowStep, step int) {
	if oh > 0 && ow > 0 && scatterRowsVec(dst, src, oh, ow, rowStep, step) {
		return
	}
	scatterRowsGo(dst, src, oh, ow, rowStep, step)
}

// gatherRowsGo is the portable gatherRows and the vector paths' reference.
func gatherRowsGo(dst, src []float32, oh, ow, rowStep, step int) {
	for i := range oh {
		d := dst[i*ow : (i+1)*ow]
		s := src[i*rowStep : i*rowStep+(ow-1)*step+1]
		if step == 1 {
			copy(d, s)
			continue
		}
		for j := range d {
			d[j] = s[j*step]
		}
	}
}

// scatterRowsGo is the portable scatterRows and the vector paths' reference.
func scatterRowsGo(dst, src []float32, oh, ow, rowStep, step int) {
	for i := range oh {
		s := src[i*ow : (i+1)*ow]
		d := dst[i*rowStep : i*rowStep+(ow-1)*step+1]
		if step == 1 {
			for j, v := range s {
				d[j] += v
			}
			continue
		}
		for j, v := range s {
			d[j*step] += v
		}
	}
}

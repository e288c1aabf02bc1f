//go:build !amd64

package kernels

// Without the assembly run kernels the vmath paths of norm_cpu.go run.
var bnUseVector = false

func bnDevSumsRuns(x []float32, runs, l, stride int, m float64) (s, q float64) {
	panic("unreachable")
}

func bnGradSumsRuns(g, x []float32, runs, l, stride int, m float64) (sg, sgd float64) {
	panic("unreachable")
}

func bnApplyRuns(y, x []float32, runs, l, stride int, m, s, b float32) { panic("unreachable") }

func bnDXRuns(dx, g, x []float32, runs, l, stride int, m, a, k1, k float32) {
	panic("unreachable")
}

func bnColVector(w int) int { return 0 }

func bnColDevSums(x []float32, rows, stride int, m, s, q []float64) { panic("unreachable") }

func bnColGradSums(dy, x []float32, rows, stride int, m, sg, sgd []float64) {
	panic("unreachable")
}

func bnColApply(y, x []float32, rows, stride int, m, s, b []float32) { panic("unreachable") }

func bnColDX(dx, dy, x []float32, rows, stride int, m, a, k1, k []float32) {
	panic("unreachable")
}

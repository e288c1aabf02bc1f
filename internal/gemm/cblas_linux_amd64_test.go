package gemm

import (
	"math/rand/v2"
	"testing"

	"github.com/ebitengine/purego"
	"github.com/stretchr/testify/require"
)

// (amd64 only: importing purego makes the test binary dynamically linked,
// which the static qemu-aarch64 run of the arm64 tests cannot load.)
//
// TestCBLASBinding checks the purego cblas_sgemm binding that the darwin
// Accelerate path uses, against the system BLAS (libblas.so.3: OpenBLAS or
// the reference BLAS), on the same shapes and tolerance as the kernels.
func TestCBLASBinding(t *testing.T) {
	h, err := purego.Dlopen("libblas.so.3", purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		t.Skipf("needs a system BLAS with cblas_sgemm (apt install libopenblas0-pthread or libblas3): %v", err)
	}
	sym, err := purego.Dlsym(h, "cblas_sgemm")
	require.NoError(t, err)
	var sgemm cblasSgemm
	purego.RegisterFunc(&sgemm, sym)
	im := cblasImpl("cblas-test", sgemm)
	old := cur.Load()
	defer cur.Store(old)
	cur.Store(im)
	rng := rand.New(rand.NewPCG(13, 14))
	for _, ta := range []bool{false, true} {
		for _, tb := range []bool{false, true} {
			for i, s := range [][3]int{{1, 1, 1}, {7, 33, 17}, {67, 3, 129}, {16, 16, 0}, {31, 64, 15}} {
				checkCase(t, testCase{transA: ta, transB: tb, m: s[0], n: s[1], k: s[2],
					alpha: []float32{1, -0.5}[i%2], beta: []float32{0, 2, 0.5}[i%3], padA: i % 2, padB: 1, padC: 2}, rng)
			}
		}
	}
}

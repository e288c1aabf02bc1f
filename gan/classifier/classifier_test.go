package classifier

import (
	"math"
	"os"
	"testing"

	"github.com/ingotml/ingot/data"
	"github.com/ingotml/ingot/nn"
	"github.com/ingotml/ingot/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/mat"
)

func TestFrechetGaussianByHand(t *testing.T) {
	// N(0, I) against N((1, 2), [[2, 1], [1, 2]]): |Δμ|² = 5, tr Σa = 2,
	// tr Σb = 4, and (Σa^½ Σb Σa^½)^½ = Σb^½ has eigenvalues √3 and 1, so
	// FD = 5 + 2 + 4 − 2(√3 + 1) = 9 − 2√3.
	ca := mat.NewSymDense(2, []float64{1, 0, 0, 1})
	cb := mat.NewSymDense(2, []float64{2, 1, 1, 2})
	got, err := frechetGaussian([]float64{0, 0}, ca, []float64{1, 2}, cb)
	require.NoError(t, err)
	assert.InDelta(t, 9-2*math.Sqrt(3), got, 1e-12)

	// Diagonal covariances: Σ (μa−μb)² + (σa−σb)² per dimension.
	ca = mat.NewSymDense(3, []float64{4, 0, 0, 0, 1, 0, 0, 0, 0.25})
	cb = mat.NewSymDense(3, []float64{1, 0, 0, 0, 9, 0, 0, 0, 0.25})
	got, err = frechetGaussian([]float64{1, 0, 0}, ca, []float64{0, 0, 3}, cb)
	require.NoError(t, err)
	assert.InDelta(t, 1+(2-1)*(2-1)+(1-3)*(1-3)+9, got, 1e-12)
}

func TestFrechetDistanceSamples(t *testing.T) {
	// 1-D: (μa − μb)² + (sa − sb)² with unbiased sample deviations.
	a := []float32{1, 2, 4, 7}
	b := []float32{0, 0.5, 3}
	mean := func(x []float32) float64 {
		s := 0.0
		for _, v := range x {
			s += float64(v)
		}
		return s / float64(len(x))
	}
	sd := func(x []float32) float64 {
		m, s := mean(x), 0.0
		for _, v := range x {
			s += (float64(v) - m) * (float64(v) - m)
		}
		return math.Sqrt(s / float64(len(x)-1))
	}
	want := math.Pow(mean(a)-mean(b), 2) + math.Pow(sd(a)-sd(b), 2)
	got, err := FrechetDistance(a, b, 1)
	require.NoError(t, err)
	assert.InDelta(t, want, got, 1e-12)

	// A set against itself is at distance 0 (up to rounding of the matrix
	// square roots: 1e-9 on values of order 1).
	rng := tensor.NewRNG(3)
	x := rng.Normal(tensor.CPU(), 0, 1, 200, 5).Float32s()
	got, err = FrechetDistance(x, x, 5)
	require.NoError(t, err)
	assert.InDelta(t, 0, got, 1e-9)

	// Against a reference through the eigenvalues of Σa·Σb (similar to
	// Σa^½ Σb Σa^½): tr((ΣaΣb)^½) = Σ √λ.
	y := rng.Normal(tensor.CPU(), 0.5, 2, 300, 5).Float32s()
	ma, ca, _ := moments(x, 5)
	mb, cb, _ := moments(y, 5)
	var p mat.Dense
	p.Mul(ca, cb)
	var eig mat.Eigen
	require.True(t, eig.Factorize(&p, mat.EigenNone))
	tr := 0.0
	for _, l := range eig.Values(nil) {
		tr += math.Sqrt(real(l))
	}
	ref := mat.Trace(ca) + mat.Trace(cb) - 2*tr
	for i := range ma {
		ref += (ma[i] - mb[i]) * (ma[i] - mb[i])
	}
	got, err = FrechetDistance(x, y, 5)
	require.NoError(t, err)
	assert.InDelta(t, ref, got, 1e-9)

	for _, bad := range []struct {
		a, b []float32
		dim  int
	}{{[]float32{1, 2, 3}, []float32{1, 2}, 2}, {[]float32{1}, []float32{1, 2}, 1}, {nil, nil, 0}} {
		_, err := FrechetDistance(bad.a, bad.b, bad.dim)
		assert.Error(t, err)
	}
}

// TestShipped checks the shipped weights: they load, and reproduce the
// accuracy recorded in the file on the test set (the full test set when
// Debian's dataset-fashion-mnist is installed, else at least 85% on the
// embedded subset's 1000 test images).
func TestShipped(t *testing.T) {
	d := tensor.CPU()
	m, err := Shipped(d)
	require.NoError(t, err)
	if _, err := os.Stat(data.SystemFashionMNISTDir); err == nil && !testing.Short() {
		te, err := data.LoadMNISTDir(data.SystemFashionMNISTDir, data.Test)
		require.NoError(t, err)
		// Exactly the figure mkclassifier printed (4 decimals).
		assert.InDelta(t, TestAccuracy, m.Accuracy(d, te), 5e-5)
	}
	te, err := data.Default(data.Test)
	require.NoError(t, err)
	assert.Greater(t, m.Accuracy(d, te), 0.85)

	x := SignedImages(d, te, 0, 3)
	f := m.Features(x)
	require.Len(t, f, 3*Features)
	for _, v := range f {
		assert.GreaterOrEqual(t, v, float32(0), "features follow a ReLU")
	}
	// Features are deterministic.
	assert.Equal(t, f, m.Features(x))
	meta, err := nn.ReadMeta(writeShipped(t))
	require.NoError(t, err)
	assert.Equal(t, Family, meta[nn.MetaFamily])
}

func writeShipped(t *testing.T) string {
	p := t.TempDir() + "/c.safetensors.zst"
	require.NoError(t, os.WriteFile(p, shipped, 0o600))
	return p
}

func TestShippedSize(t *testing.T) {
	assert.Less(t, len(shipped), 1<<20, "the shipped weights must stay under 1 MB")
}

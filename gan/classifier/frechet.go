package classifier

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// FrechetDistance is the Fréchet (2-Wasserstein) distance between Gaussians
// fitted to two sets of feature vectors a and b (row-major, dim values per
// row; the FID recipe of Heusel et al. 2017 on this package's features):
//
//	|μa − μb|² + tr(Σa + Σb − 2·(Σa^½ Σb Σa^½)^½)
//
// with unbiased covariances, computed in float64 through symmetric
// eigendecompositions (Σa^½ Σb Σa^½ is symmetric positive semi-definite, so
// its square root's trace is the sum of the square roots of its
// eigenvalues; tiny negative eigenvalues from rounding count as 0). Each
// set needs at least two rows.
func FrechetDistance(a, b []float32, dim int) (float64, error) {
	ma, ca, err := moments(a, dim)
	if err != nil {
		return 0, fmt.Errorf("classifier: first set: %w", err)
	}
	mb, cb, err := moments(b, dim)
	if err != nil {
		return 0, fmt.Errorf("classifier: second set: %w", err)
	}
	return frechetGaussian(ma, ca, mb, cb)
}

// frechetGaussian is the Fréchet distance between N(ma, ca) and N(mb, cb).
func frechetGaussian(ma []float64, ca *mat.SymDense, mb []float64, cb *mat.SymDense) (float64, error) {
	dim := len(ma)
	d2 := 0.0
	for i := range dim {
		d := ma[i] - mb[i]
		d2 += d * d
	}
	ra, err := sqrtSym(ca)
	if err != nil {
		return 0, err
	}
	var t mat.Dense
	t.Mul(ra, cb)
	var m mat.Dense
	m.Mul(&t, ra)
	ms := mat.NewSymDense(dim, nil)
	for i := range dim {
		for j := i; j < dim; j++ {
			ms.SetSym(i, j, (m.At(i, j)+m.At(j, i))/2)
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(ms, false) {
		return 0, fmt.Errorf("classifier: eigendecomposition failed")
	}
	trSqrt := 0.0
	for _, v := range eig.Values(nil) {
		trSqrt += math.Sqrt(math.Max(v, 0))
	}
	return d2 + mat.Trace(ca) + mat.Trace(cb) - 2*trSqrt, nil
}

// moments returns the mean and the unbiased covariance of the rows of x.
func moments(x []float32, dim int) ([]float64, *mat.SymDense, error) {
	if dim <= 0 || len(x)%dim != 0 {
		return nil, nil, fmt.Errorf("%d values are not rows of %d", len(x), dim)
	}
	n := len(x) / dim
	if n < 2 {
		return nil, nil, fmt.Errorf("%d rows, need at least 2", n)
	}
	mu := make([]float64, dim)
	for r := range n {
		for i := range dim {
			mu[i] += float64(x[r*dim+i])
		}
	}
	for i := range mu {
		mu[i] /= float64(n)
	}
	c := make([]float64, dim*dim)
	dv := make([]float64, dim)
	for r := range n {
		for i := range dim {
			dv[i] = float64(x[r*dim+i]) - mu[i]
		}
		for i := range dim {
			if dv[i] == 0 {
				continue
			}
			row := c[i*dim:]
			for j := i; j < dim; j++ {
				row[j] += dv[i] * dv[j]
			}
		}
	}
	s := mat.NewSymDense(dim, nil)
	for i := range dim {
		for j := i; j < dim; j++ {
			s.SetSym(i, j, c[i*dim+j]/float64(n-1))
		}
	}
	return mu, s, nil
}

// sqrtSym is the symmetric square root of a positive semi-definite matrix.
func sqrtSym(s *mat.SymDense) (*mat.Dense, error) {
	var eig mat.EigenSym
	if !eig.Factorize(s, true) {
		return nil, fmt.Errorf("classifier: eigendecomposition failed")
	}
	vals := eig.Values(nil)
	var v mat.Dense
	eig.VectorsTo(&v)
	n := len(vals)
	sq := mat.NewDense(n, n, nil)
	for j, l := range vals {
		r := math.Sqrt(math.Max(l, 0))
		for i := range n {
			sq.Set(i, j, v.At(i, j)*r)
		}
	}
	var out mat.Dense
	out.Mul(sq, v.T())
	return &out, nil
}

package gan

import (
	"context"
	"fmt"

	"github.com/ingotml/ingot/data"
	"github.com/ingotml/ingot/gan/classifier"
	"github.com/ingotml/ingot/tensor"
)

// Quality is how generated images measure up against real ones, through the
// shipped Fashion-MNIST classifier (package classifier).
type Quality struct {
	Samples int    `json:"samples"` // generated images
	Seed    uint64 `json:"seed"`    // of their noise
	// ClassCounts is how many samples the classifier puts in each class.
	ClassCounts []int `json:"class_counts"`
	// Classes is the mode coverage: classes holding at least
	// CoverageShare of the samples (1%, a tenth of a uniform share, so a
	// stray misclassification does not count as a mode).
	Classes       int     `json:"classes_covered"`
	CoverageShare float64 `json:"coverage_share"`
	// FD is the Fréchet distance between the classifier's 64 penultimate
	// features of RealImages test images and of as many samples;
	// FDBaseline is the same distance between two disjoint sets of
	// RealImages test images (even and odd positions), the value of a
	// perfect generator at this sample size. Lower is better.
	FD         float64 `json:"fd"`
	FDBaseline float64 `json:"fd_real_vs_real"`
	RealImages int     `json:"real_images"`
}

// CoverageShare is the share of samples a class needs to count as covered.
const CoverageShare = 0.01

// EvaluateSamples generates n images from noise drawn with seed and
// measures them with classifier c against the test images, as Quality
// describes. It is deterministic for a seed.
func EvaluateSamples(ctx context.Context, m *Model, c *classifier.Model, test *data.Images, n int, seed uint64) (Quality, error) {
	q := Quality{Samples: n, Seed: seed, ClassCounts: make([]int, classifier.Classes), CoverageShare: CoverageShare}
	if n < 2 {
		return q, fmt.Errorf("gan: %d samples, need at least 2", n)
	}
	if test.Rows != 28 || test.Cols != 28 || m.Config.Channels != 1 || m.Config.Height != 28 || m.Config.Width != 28 {
		return q, fmt.Errorf("gan: the classifier takes 28×28 greyscale images (model %d×%d×%d, data %d×%d)",
			m.Config.Channels, m.Config.Height, m.Config.Width, test.Rows, test.Cols)
	}
	h := min(n, test.N/2)
	if h < 2 {
		return q, fmt.Errorf("gan: %d test images, need at least 4", test.N)
	}
	q.RealImages = h
	d := m.Device()
	rng := tensor.NewRNG(seed)
	var feats []float32
	const chunk = 250
	for i := 0; i < n; i += chunk {
		if err := ctx.Err(); err != nil {
			return q, err
		}
		k := min(chunk, n-i)
		z := m.Noise(rng, k)
		x := m.Sample(z)
		for _, p := range c.Predict(x) {
			q.ClassCounts[p]++
		}
		if i < h {
			feats = append(feats, c.Features(x)...)
		}
		x.Release()
		z.Release()
	}
	feats = feats[:h*classifier.Features]
	for _, k := range q.ClassCounts {
		if float64(k) >= CoverageShare*float64(n) {
			q.Classes++
		}
	}
	even, odd := make([]int, h), make([]int, h)
	for i := range h {
		even[i], odd[i] = 2*i, 2*i+1
	}
	a, b := test.Subset(even), test.Subset(odd)
	fa := c.SetFeatures(d, a, 0, h)
	fb := c.SetFeatures(d, b, 0, h)
	var err error
	if q.FD, err = classifier.FrechetDistance(fa, feats, classifier.Features); err != nil {
		return q, err
	}
	if q.FDBaseline, err = classifier.FrechetDistance(fa, fb, classifier.Features); err != nil {
		return q, err
	}
	return q, nil
}

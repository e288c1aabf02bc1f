// Package classifier owns the small Fashion-MNIST classifier that measures
// generated images (ingot eval gan|dcgan): its architecture, its training,
// the weight file shipped with ingot (fmnist.safetensors.zst, embedded), the
// penultimate-layer features and the Fréchet distance between two sets of
// features.
//
// The network takes images scaled to [−1, 1] (a GAN's output range):
//
//	0 Conv2d 1→16, 4×4 stride 2 pad 1   28×28 → 14×14
//	1 ReLU
//	2 Conv2d 16→32, 4×4 stride 2 pad 1  14×14 → 7×7
//	3 ReLU
//	4 Flatten                           1568
//	5 Linear 1568→64
//	6 ReLU                              the features (64)
//	7 Linear 64→10                      class logits
//
// with PyTorch's nn.Sequential names ("0.weight", "5.bias", …). The shipped
// weights were made by `go generate ./gan/classifier` (which runs
// internal/mkclassifier: 3 epochs of Adam 1e-3, batch 128, seed 1, on the
// full Fashion-MNIST training set) and reach TestAccuracy on the 10,000
// test images, checked by this package's tests when the full data set is
// installed.
//
// Model methods record no gradients and may be called from several
// goroutines at once.
package classifier

import (
	"bytes"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ingotml/ingot/data"
	"github.com/ingotml/ingot/nn"
	"github.com/ingotml/ingot/tensor"
)

// Family is the model family recorded in the weight file.
const Family = "fmnist-classifier"

// Sizes.
const (
	Classes  = 10
	Features = 64
)

// TestAccuracy is the shipped weights' accuracy on the full Fashion-MNIST
// test set (10,000 images), as printed by mkclassifier.
const TestAccuracy = 0.8826

//go:generate go run ./internal/mkclassifier -out fmnist.safetensors.zst
//go:embed fmnist.safetensors.zst
var shipped []byte

// Model is the classifier.
type Model struct {
	*nn.Sequential
}

// New builds an untrained classifier on d (PyTorch's default
// initialisation from rng).
func New(d tensor.Device, rng *tensor.RNG) *Model {
	conv := func(in, out int) nn.ConvConfig {
		return nn.ConvConfig{In: in, Out: out, Kernel: nn.Sq(4), Stride: nn.Sq(2), Padding: nn.Sq(1)}
	}
	return &Model{nn.NewSequential(
		nn.NewConv2d(d, rng, conv(1, 16)), &nn.ReLU{},
		nn.NewConv2d(d, rng, conv(16, 32)), &nn.ReLU{},
		&nn.Flatten{},
		nn.NewLinear(d, rng, 32*7*7, Features), &nn.ReLU{},
		nn.NewLinear(d, rng, Features, Classes),
	)}
}

// Load reads a classifier weight file onto d.
func Load(path string, d tensor.Device) (*Model, error) {
	m := New(d, tensor.NewRNG(0))
	meta, err := nn.Load(path, m)
	if err != nil {
		return nil, err
	}
	if meta[nn.MetaFamily] != Family {
		return nil, fmt.Errorf("%s: holds a %q model, not the %s", path, meta[nn.MetaFamily], Family)
	}
	m.SetTraining(false)
	return m, nil
}

// Shipped returns the classifier whose weights ship with ingot.
func Shipped(d tensor.Device) (*Model, error) {
	dir, err := os.MkdirTemp("", "ingot-classifier")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "fmnist.safetensors.zst")
	if err := os.WriteFile(p, bytes.Clone(shipped), 0o600); err != nil {
		return nil, err
	}
	return Load(p, d)
}

// Save writes the weights with the metadata Load checks.
func (m *Model) Save(path string, extra map[string]string) error {
	meta := map[string]string{}
	for k, v := range extra {
		meta[k] = v
	}
	meta[nn.MetaFamily] = Family
	return nn.Save(path, m, meta)
}

// run applies layers [0, upto) to x without recording gradients.
func (m *Model) run(x *tensor.Tensor, upto int) *tensor.Tensor {
	was := m.Training()
	if was {
		panic("classifier: inference in training mode; call SetTraining(false)")
	}
	x = x.Detach()
	for _, l := range m.Layers[:upto] {
		y := l.Forward(x)
		if y.RequiresGrad() {
			d := y.Detach()
			y.ReleaseGraph()
			y = d
		}
		x.Release()
		x = y
	}
	return x
}

// Features returns the 64 penultimate activations of each image of x
// ([N, 1, 28, 28] in [−1, 1]), row after row.
func (m *Model) Features(x *tensor.Tensor) []float32 {
	f := m.run(x, 7)
	v := f.Float32s()
	f.Release()
	return v
}

// Logits returns the class logits [N·10] of images x.
func (m *Model) Logits(x *tensor.Tensor) []float32 {
	f := m.run(x, len(m.Layers))
	v := f.Float32s()
	f.Release()
	return v
}

// Predict returns the most likely class of each image.
func (m *Model) Predict(x *tensor.Tensor) []int {
	l := m.Logits(x)
	out := make([]int, len(l)/Classes)
	for i := range out {
		best := 0
		for c := 1; c < Classes; c++ {
			if l[i*Classes+c] > l[i*Classes+best] {
				best = c
			}
		}
		out[i] = best
	}
	return out
}

// SignedImages returns images [lo, hi) of set as [N, 1, H, W] scaled to
// [−1, 1] (p/127.5 − 1, as data.ScaleSigned).
func SignedImages(d tensor.Device, set *data.Images, lo, hi int) *tensor.Tensor {
	sz := set.Rows * set.Cols
	x := make([]float32, 0, (hi-lo)*sz)
	for i := lo; i < hi; i++ {
		for _, p := range set.Image(i) {
			x = append(x, data.ScaleSigned.Of(p))
		}
	}
	return tensor.FromFloat32(d, x, hi-lo, 1, set.Rows, set.Cols)
}

// Accuracy is the fraction of set's images classified correctly.
func (m *Model) Accuracy(d tensor.Device, set *data.Images) float64 {
	right := 0
	const chunk = 500
	for i := 0; i < set.N; i += chunk {
		k := min(chunk, set.N-i)
		x := SignedImages(d, set, i, i+k)
		for j, p := range m.Predict(x) {
			if int32(p) == set.Labels[i+j] {
				right++
			}
		}
		x.Release()
	}
	return float64(right) / float64(max(set.N, 1))
}

// SetFeatures returns the features of images [lo, hi) of set.
func (m *Model) SetFeatures(d tensor.Device, set *data.Images, lo, hi int) []float32 {
	var out []float32
	const chunk = 500
	for i := lo; i < hi; i += chunk {
		k := min(chunk, hi-i)
		x := SignedImages(d, set, i, i+k)
		out = append(out, m.Features(x)...)
		x.Release()
	}
	return out
}

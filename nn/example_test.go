package nn_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/ingotml/ingot/nn"
	"github.com/ingotml/ingot/tensor"
)

// Train a tiny MLP to classify points by the sign of x·y, then save and
// reload it. Plain SGD is written out by hand here; nn/optim has the real
// optimizers.
func Example() {
	d := tensor.CPU()
	rng := tensor.NewRNG(42)
	model := nn.NewSequential(
		nn.NewLinear(d, rng, 2, 16),
		&nn.Tanh{},
		nn.NewLinear(d, rng, 16, 2),
	)

	// 64 points in [−1, 1)², class 1 where x·y > 0.
	x := rng.Uniform(d, -1, 1, 64, 2)
	xs := x.Float32s()
	labels := make([]int32, 64)
	for i := range labels {
		if xs[2*i]*xs[2*i+1] > 0 {
			labels[i] = 1
		}
	}
	y := tensor.FromInt32(d, labels)

	var first, last float32
	for step := range 300 {
		nn.ZeroGrad(model)
		loss := nn.CrossEntropyLoss(model.Forward(x), y, nn.Mean)
		loss.Backward()
		for _, p := range nn.Trainable(model) {
			p.T.AddScaled(-0.5, p.T.Grad()) // SGD, learning rate 0.5
		}
		if step == 0 {
			first = loss.Item()
		}
		last = loss.Item()
		loss.ReleaseGraph()
	}
	fmt.Printf("loss went down: %v\n", last < first/2)

	dir, _ := os.MkdirTemp("", "ingot-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "mlp.safetensors.zst")
	if err := nn.Save(path, model, map[string]string{nn.MetaFamily: "example"}); err != nil {
		fmt.Println(err)
		return
	}
	fresh := nn.NewSequential(nn.NewLinear(d, rng, 2, 16), &nn.Tanh{}, nn.NewLinear(d, rng, 16, 2))
	meta, err := nn.Load(path, fresh)
	fmt.Println(meta[nn.MetaFamily], err)
	// Output:
	// loss went down: true
	// example <nil>
}

// Command mkclassifier trains the Fashion-MNIST classifier that package
// classifier ships, and writes its weight file:
//
//	go run ./gan/classifier/internal/mkclassifier -out gan/classifier/fmnist.safetensors.zst
//
// Adam 1e-3, batch 128, seed 1, on the full training set (Debian's
// dataset-fashion-mnist, or -data DIR), images scaled to [−1, 1]. It
// prints the test accuracy.
package main

import (
	"flag"
	"fmt"
	"log"

	"github.com/ingotml/ingot/data"
	"github.com/ingotml/ingot/gan/classifier"
	"github.com/ingotml/ingot/nn"
	"github.com/ingotml/ingot/nn/optim"
	"github.com/ingotml/ingot/tensor"
)

func main() {
	out := flag.String("out", "fmnist.safetensors.zst", "weight file to write")
	dir := flag.String("data", "", "MNIST-format directory (default: system Fashion-MNIST, else the embedded subset)")
	epochs := flag.Int("epochs", 3, "epochs")
	seed := flag.Uint64("seed", 1, "seed")
	flag.Parse()
	ds, err := data.Find(*dir)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ds.Describe())
	d := tensor.CPU()
	m := classifier.New(d, tensor.NewRNG(*seed))
	opt, err := optim.NewAdam(nn.Trainable(m), optim.DefaultAdam())
	if err != nil {
		log.Fatal(err)
	}
	ld, err := data.NewLoader(ds.Train, 128, data.LoaderOptions{Seed: *seed, Shuffle: true, Scale: data.ScaleSigned})
	if err != nil {
		log.Fatal(err)
	}
	var b data.Batch
	for e := range *epochs {
		m.SetTraining(true)
		sum, n := 0.0, 0
		for ld.Next(&b) {
			x := tensor.FromFloat32(d, b.X, b.N, 1, b.Rows, b.Cols)
			y := tensor.FromInt32(d, b.Labels[:b.N], b.N)
			l := nn.CrossEntropyLoss(m.Forward(x), y, nn.Mean)
			l.Backward()
			opt.Step()
			nn.ZeroGrad(m)
			sum += float64(l.Item()) * float64(b.N)
			n += b.N
			l.ReleaseGraph()
			x.Release()
			y.Release()
		}
		m.SetTraining(false)
		fmt.Printf("epoch %d: train loss %.4f, test accuracy %.4f\n", e+1, sum/float64(n), m.Accuracy(d, ds.Test))
	}
	acc := m.Accuracy(d, ds.Test)
	if err := m.Save(*out, map[string]string{"test_accuracy": fmt.Sprintf("%.4f", acc), "data": ds.Describe()}); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("test accuracy %.4f on %d images; wrote %s\n", acc, ds.Test.N, *out)
}

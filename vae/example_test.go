package vae_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/ingotml/ingot/tensor"
	"github.com/ingotml/ingot/vae"
)

// Build the default MLP VAE, save it, load it back from the file alone,
// and use it: encode images, decode codes, sample, reconstruct.
func Example() {
	d := tensor.CPU() // or tensor.MustDefault() for Metal on a Mac
	m, err := vae.New(d, tensor.NewRNG(1), vae.DefaultConfig(vae.MLP))
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, _ := os.MkdirTemp("", "vae-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, vae.WeightsFile)
	if err := m.Save(path, nil); err != nil {
		fmt.Println(err)
		return
	}
	m, err = vae.Load(path, d) // family and configuration come from the file
	if err != nil {
		fmt.Println(err)
		return
	}

	x := tensor.NewRNG(2).Uniform(d, 0, 1, 4, 1, 28, 28) // four "images" in [0, 1]
	mu, logvar := m.Encode(x)
	fmt.Println("codes:", mu.Shape(), logvar.Shape())
	fmt.Println("decoded:", m.Decode(mu).Shape())
	fmt.Println("samples:", m.Sample(tensor.NewRNG(3), 16).Shape())
	fmt.Println("reconstructions:", m.Reconstruct(x).Shape())
	fmt.Println("interpolation:", m.Interpolate(x.Slice(0, 0, 1), x.Slice(0, 1, 2), 8).Shape())
	// Output:
	// codes: [4 20] [4 20]
	// decoded: [4 1 28 28]
	// samples: [16 1 28 28]
	// reconstructions: [4 1 28 28]
	// interpolation: [8 1 28 28]
}

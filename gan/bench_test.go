package gan

import (
	"context"
	"testing"

	"github.com/ingotml/ingot/data"
	"github.com/ingotml/ingot/tensor"
)

// BenchmarkStep times one training step (D update and G update) of the
// default MLP GAN and DCGAN at batch 64 on the CPU device.
func BenchmarkStep(b *testing.B) {
	for _, arch := range []string{ArchMLP, ArchDCGAN} {
		b.Run(arch, func(b *testing.B) {
			tr, err := NewTrainer(tensor.CPU(), TrainConfig{Model: Config{Arch: arch}}, nil)
			if err != nil {
				b.Fatal(err)
			}
			set, err := data.Default(data.Train)
			if err != nil {
				b.Fatal(err)
			}
			ld, err := data.NewLoader(set, 64, data.LoaderOptions{Shuffle: true, DropLast: true, Scale: data.ScaleSigned})
			if err != nil {
				b.Fatal(err)
			}
			var batch data.Batch
			b.ResetTimer()
			for range b.N {
				if !ld.Next(&batch) {
					ld.Next(&batch)
				}
				if _, err := tr.Step(context.Background(), &batch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

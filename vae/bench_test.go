package vae_test

import (
	"context"
	"testing"

	"github.com/ingotml/ingot/data"
	"github.com/ingotml/ingot/tensor"
	"github.com/ingotml/ingot/vae"
)

// BenchmarkTrainStep times one training step of the default MLP VAE
// (batch 128) on the CPU: forward, backward, Adam, the metrics read.
// `ingot bench train vae` reports the same step as a median.
func BenchmarkTrainStep(b *testing.B) {
	tr, err := vae.NewTrainer(tensor.CPU(), vae.TrainConfig{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	set, err := data.Default(data.Train)
	if err != nil {
		b.Fatal(err)
	}
	ld, err := data.NewLoader(set, vae.DefaultBatch, data.LoaderOptions{Shuffle: true, DropLast: true})
	if err != nil {
		b.Fatal(err)
	}
	var bt data.Batch
	for b.Loop() {
		if !ld.Next(&bt) {
			ld.Next(&bt)
		}
		if _, err := tr.Step(context.Background(), &bt); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(vae.DefaultBatch)*float64(b.N)/b.Elapsed().Seconds(), "img/s")
}

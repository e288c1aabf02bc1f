package textgan

import (
	"github.com/ingotml/ingot/nn"
	"github.com/ingotml/ingot/tensor"
	"github.com/ingotml/ingot/train"
)

// The non-saturating GAN losses on logits (BCE with logits, stable for any
// logit), the same definitions as package gan's:
//
//	D: mean BCE(D(real), 1) + mean BCE(D(fake), 0)
//	G: mean BCE(D(fake), 1) = −mean log σ(D(fake))

func discriminatorLoss(real, fake *tensor.Tensor) *tensor.Tensor {
	tr := tensor.Ones(real.Device(), real.Shape()...)
	tf := tensor.Zeros(fake.Device(), fake.Shape()...)
	return tensor.Add(nn.BCEWithLogitsLoss(real, tr, nn.Mean), nn.BCEWithLogitsLoss(fake, tf, nn.Mean))
}

func generatorLoss(fake *tensor.Tensor) *tensor.Tensor {
	return nn.BCEWithLogitsLoss(fake, tensor.Ones(fake.Device(), fake.Shape()...), nn.Mean)
}

// classify scores the discriminator on held-out real (positive) and
// generated logits: a logit above 0 says "real".
func classify(real, fake []float32) train.Metrics {
	var tp, fn, fp, tn float64
	for _, v := range real {
		if v > 0 {
			tp++
		} else {
			fn++
		}
	}
	for _, v := range fake {
		if v > 0 {
			fp++
		} else {
			tn++
		}
	}
	ratio := func(a, b float64) float64 {
		if b == 0 {
			return 0
		}
		return a / b
	}
	return train.Metrics{"d_accuracy": ratio(tp+tn, tp+tn+fp+fn), "d_precision": ratio(tp, tp+fp),
		"d_recall": ratio(tp, tp+fn), "d_f1": ratio(2*tp, 2*tp+fp+fn)}
}

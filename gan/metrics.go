package gan

import "github.com/ingotml/ingot/train"

// Confusion counts the discriminator's decisions on held-out samples, with
// real samples as the positive class: a logit above 0 (σ > ½) says "real".
type Confusion struct {
	TP int // real samples called real
	FN int // real samples called fake
	FP int // generated samples called real
	TN int // generated samples called fake
}

// Classify counts the decisions for the logits of real and of generated
// samples.
func Classify(realLogits, fakeLogits []float32) Confusion {
	var c Confusion
	for _, v := range realLogits {
		if v > 0 {
			c.TP++
		} else {
			c.FN++
		}
	}
	for _, v := range fakeLogits {
		if v > 0 {
			c.FP++
		} else {
			c.TN++
		}
	}
	return c
}

// Add returns the sum of two counts.
func (c Confusion) Add(o Confusion) Confusion {
	return Confusion{TP: c.TP + o.TP, FN: c.FN + o.FN, FP: c.FP + o.FP, TN: c.TN + o.TN}
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Accuracy is the fraction of correct decisions (0 for no samples).
func (c Confusion) Accuracy() float64 { return ratio(c.TP+c.TN, c.TP+c.TN+c.FP+c.FN) }

// Precision is the fraction of "real" decisions that were real (0 when D
// never says real).
func (c Confusion) Precision() float64 { return ratio(c.TP, c.TP+c.FP) }

// Recall is the fraction of real samples called real (0 for none).
func (c Confusion) Recall() float64 { return ratio(c.TP, c.TP+c.FN) }

// F1 is the harmonic mean of precision and recall, 2·TP/(2·TP+FP+FN)
// (0 when TP = 0).
func (c Confusion) F1() float64 { return ratio(2*c.TP, 2*c.TP+c.FP+c.FN) }

// Metrics returns the four scores under the names the training loop logs:
// d_accuracy, d_precision, d_recall and d_f1. A discriminator at chance
// (generator indistinguishable from the data) scores about ½ accuracy.
func (c Confusion) Metrics() train.Metrics {
	return train.Metrics{"d_accuracy": c.Accuracy(), "d_precision": c.Precision(), "d_recall": c.Recall(), "d_f1": c.F1()}
}

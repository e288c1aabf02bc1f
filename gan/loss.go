package gan

import (
	"fmt"

	"github.com/ingotml/ingot/tensor"
)

// The losses are the non-saturating GAN losses of Goodfellow et al. (2014),
// written as binary cross-entropy on the discriminator's logits (so they are
// numerically stable for any logit):
//
//	D: BCE(D(x), 1−s) + BCE(D(G(z)), 0)   = softplus(−D(x))·… + softplus(D(G(z)))
//	G: BCE(D(G(z)), 1)                    = softplus(−D(G(z)))
//
// each BCE averaged over the batch. s is the one-sided label smoothing
// (Salimans et al. 2016): only the real target is lowered, to 1−s. The
// generator minimises −log D(G(z)) instead of log(1 − D(G(z))), whose
// gradient vanishes exactly when D rejects G's samples confidently, early in
// training.

// DiscriminatorLoss is the discriminator's loss for logits on real samples
// and on generated samples (any shapes, e.g. [N, 1]): the mean BCE of the
// real logits against 1−smoothing plus the mean BCE of the fake logits
// against 0. smoothing must be in [0, 1).
func DiscriminatorLoss(real, fake *tensor.Tensor, smoothing float32) *tensor.Tensor {
	if !(smoothing >= 0 && smoothing < 1) {
		panic(fmt.Sprintf("gan.DiscriminatorLoss: label smoothing %v not in [0, 1)", smoothing))
	}
	// BCE(x, t) = softplus(x) − t·x, written without target tensors (the
	// same arithmetic as nn.BCEWithLogitsLoss, nothing to keep alive for
	// the backward pass).
	lr := tensor.Mean(tensor.Add(tensor.Softplus(real), tensor.Scale(real, smoothing-1)), false)
	lf := tensor.Mean(tensor.Softplus(fake), false)
	return tensor.Add(lr, lf)
}

// GeneratorLoss is the generator's non-saturating loss for the
// discriminator's logits on generated samples: the mean BCE against 1,
// that is mean(−log σ(logit)) = mean(softplus(−logit)).
func GeneratorLoss(fake *tensor.Tensor) *tensor.Tensor {
	return tensor.Mean(tensor.Softplus(tensor.Neg(fake)), false)
}

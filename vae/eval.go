package vae

import (
	"context"
	"fmt"

	"github.com/ingotml/ingot/data"
	"github.com/ingotml/ingot/nn"
	"github.com/ingotml/ingot/tensor"
)

// Eval is a VAE's score on a set of images, per image in nats.
type Eval struct {
	Recon  float64 `json:"recon"`  // Σ_pixels BCE with logits, decoding z = μ
	KL     float64 `json:"kl"`     // KL(q(z|x) ‖ N(0, I))
	Loss   float64 `json:"loss"`   // Recon + KL (β = 1: an upper bound on −log p(x) with z = μ)
	Images int     `json:"images"` // how many were scored
}

// EvalBatch is the batch size Evaluate uses; results do not depend on it
// beyond float32 rounding inside a batch's sums.
const EvalBatch = 500

// Evaluate scores m on every image of set, scaled to [0, 1],
// deterministically: no sampling (z = μ), batches in file order, totals
// accumulated in float64.
func Evaluate(ctx context.Context, m *Model, set *data.Images) (Eval, error) {
	c := m.Config
	if set.Rows != c.Height || set.Cols != c.Width || c.Channels != 1 {
		return Eval{}, fmt.Errorf("vae: the model takes %d×%d×%d images, the data has 1×%d×%d", c.Channels, c.Height, c.Width, set.Rows, set.Cols)
	}
	ld, err := data.NewLoader(set, EvalBatch, data.LoaderOptions{})
	if err != nil {
		return Eval{}, err
	}
	f := m.frozen()
	d := m.Device()
	var b data.Batch
	var e Eval
	for ld.Next(&b) {
		if err := ctx.Err(); err != nil {
			return Eval{}, err
		}
		x := tensor.FromFloat32(d, b.X, b.N, c.Channels, c.Height, c.Width)
		xin := x
		if c.Kind == MLP {
			xin = x.Flatten()
		}
		h := run(f.Encoder, xin)
		mu, logvar := f.FcMu.Forward(h), f.FcLogvar.Forward(h)
		logits := run(f.Decoder, mu)
		recon := nn.BCEWithLogitsLoss(logits, x, nn.Sum).Reshape(1)
		kl := nn.GaussianKL(mu, logvar, nn.Sum).Reshape(1)
		v := tensor.Concat(0, recon, kl).Float32s()
		e.Recon += float64(v[0])
		e.KL += float64(v[1])
		e.Images += b.N
		for _, t := range []*tensor.Tensor{x, xin, h, mu, logvar, logits, recon, kl} {
			t.Release()
		}
	}
	if e.Images == 0 {
		return Eval{}, fmt.Errorf("vae: no images to evaluate")
	}
	e.Recon /= float64(e.Images)
	e.KL /= float64(e.Images)
	e.Loss = e.Recon + e.KL
	return e, nil
}

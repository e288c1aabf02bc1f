// Package textgan owns ingot's text GAN: a character LSTM generator
// (package charlm, initialised by maximum-likelihood pre-training) against
// an LSTM discriminator, trained adversarially with Adam.
//
// # Why it trains
//
// Sampled token ids carry no gradient, so a generator that emits ids
// cannot learn from a discriminator. Here each generator step emits a
// distribution over the vocabulary through Gumbel-softmax (Jang et al.
// 2017; Maddison et al. 2017), y = softmax((logits + g)/τ) with Gumbel noise
// g, and the next step's input is the SOFT embedding y·E (distribution times
// the generator's embedding matrix), so gradients flow back through every
// step of the sequence. The discriminator reads sequences of rows over the
// vocabulary through its own embedding matrix: generated rows, and real
// text as one-hot rows (computed as the embedding lookup, which is the
// same product exactly).
//
// The default is straight-through Gumbel-softmax with τ = 1: the forward
// pass uses the hard one-hot of argmax(logits + g) — an exact sample of the
// generator's distribution (the Gumbel-max trick) — and the backward pass
// uses the soft sample's derivative (y = hard + soft − stopgrad(soft)). We
// chose it over a temperature annealed towards 0 because (1) real text
// reaches the discriminator one-hot, and a soft fake row has visibly higher
// entropy, so a discriminator fed soft rows wins on entropy alone; hard
// rows leave it only the text to judge; (2) the text the discriminator
// judges is exactly what the generator samples; (3) the soft path's
// gradient grows like 1/τ, so annealing τ → 0 trades that entropy gap for
// exploding gradient variance. Soft mode (StraightThrough false) is kept
// for experiments and for the gradient check.
//
// # Generation
//
// A generated sequence continues a real prefix: the generator reads Prefix
// real characters (teacher-forced, from a zero state), then emits Length
// characters, each fed back as the next input. The discriminator reads the
// same prefix as context and then judges those Length characters against
// the Length real characters that actually followed it. The generator's
// loss is its MLE loss on the real chunk (truncated BPTT with carried
// state, as in charlm) plus AdvWeight times the non-saturating adversarial
// loss −log σ(D(fake)); the losses and the discriminator's held-out
// accuracy, precision, recall and F1 are package gan's.
//
// # The discriminator's warm-up
//
// Against a pre-trained generator the discriminator starts at chance and
// learns slowly: what gives a fair character LSTM's text away is mostly
// non-words ("continuration", "everitule"), so the discriminator must learn
// what real words look like, from one batch of sequences per step. Trained
// alongside the generator from the first step it never got there (held-out
// accuracy about 0.5 after 300 steps, because the generator's adversarial
// updates undo the weak cues it finds), so the first DWarmup steps train
// the discriminator alone against the frozen generator, as SeqGAN
// pre-trains its discriminator. Longer judged sequences (64 characters),
// the real prefix as context and a learning rate of 3e-3 each made it
// learn faster in measured discriminator-only runs (see the README).
//
// # The 5% guard
//
// After each epoch the generator's bits per character on held-out real
// text is measured; if it exceeds the pre-trained value by more than
// Tolerance (5%), the generator (weights and Adam state) goes back to the
// last epoch that passed and the adversarial weight is halved; below
// MinAdvWeight adversarial training stops (see Guard).
package textgan

import (
	"fmt"

	"github.com/ingotml/ingot/charlm"
	"github.com/ingotml/ingot/nn"
	"github.com/ingotml/ingot/tensor"
)

// Family is the model family recorded in textgan weight files.
const Family = "textgan"

// Discriminator is an LSTM over embedded rows of distributions over the
// vocabulary, ending in one logit per sequence. It reads the real context
// (the prefix the generator continued, as ids) and then the judged rows; a
// linear layer maps the mean of its outputs over the judged positions to
// the logit.
type Discriminator struct {
	nn.Base
	Embed *nn.Embedding // its weight [V,E] multiplies the input rows
	LSTM  *nn.LSTM
	Head  *nn.Linear // H → 1
}

// DConfig is the discriminator's architecture.
type DConfig struct {
	Embed  int `json:"embed"`
	Hidden int `json:"hidden"`
}

// NewDiscriminator builds a discriminator for a vocabulary of v symbols on
// d (nil: the CPU).
func NewDiscriminator(d tensor.Device, rng *tensor.RNG, v int, cfg DConfig) (*Discriminator, error) {
	if cfg.Embed < 1 || cfg.Embed > charlm.MaxWidth || cfg.Hidden < 1 || cfg.Hidden > charlm.MaxWidth {
		return nil, fmt.Errorf("textgan: discriminator sizes %+v, want 1..%d", cfg, charlm.MaxWidth)
	}
	if v < 2 || v > charlm.MaxVocab {
		return nil, fmt.Errorf("textgan: vocabulary of %d symbols", v)
	}
	if d == nil {
		d = tensor.CPU()
	}
	m := &Discriminator{}
	m.Embed = nn.NewEmbedding(d, rng, v, cfg.Embed)
	m.LSTM = nn.NewLSTM(d, rng, nn.RNNConfig{InputSize: cfg.Embed, HiddenSize: cfg.Hidden})
	m.Head = nn.NewLinear(d, rng, cfg.Hidden, 1)
	m.AddModule("embed", m.Embed)
	m.AddModule("lstm", m.LSTM)
	m.AddModule("head", m.Head)
	return m, nil
}

// Forward returns the logits [B] of rows x [T,B,V] (one-hot or soft) read
// after the real context ids ctx [P,B] (nil: no context).
func (m *Discriminator) Forward(ctx, x *tensor.Tensor) *tensor.Tensor {
	return m.forwardEmbedded(ctx, charlm.SoftEmbed(x, m.Embed.Weight.T))
}

// ForwardIDs returns the logits [B] of real text ids [T,B] after the
// context ids ctx [P,B] (nil: none): the same as Forward on their one-hot
// rows (a lookup is that product exactly).
func (m *Discriminator) ForwardIDs(ctx, ids *tensor.Tensor) *tensor.Tensor {
	return m.forwardEmbedded(ctx, m.Embed.Forward(ids))
}

func (m *Discriminator) forwardEmbedded(ctx, e *tensor.Tensor) *tensor.Tensor {
	T, B := e.Dim(0), e.Dim(1)
	P := 0
	in := e
	if ctx != nil {
		if ctx.Rank() != 2 || ctx.Dim(1) != B {
			panic(fmt.Sprintf("textgan.Discriminator: context %v for %d sequences", ctx, B))
		}
		P = ctx.Dim(0)
		ce := m.Embed.Forward(ctx)
		in = tensor.Concat(0, ce, e)
		if !in.RequiresGrad() {
			ce.Release()
		}
	}
	y, s := m.LSTM.ForwardState(in, nn.LSTMState{})
	s.H.Release()
	s.C.Release()
	// Mean over the judged positions: every one of them feeds the logit
	// directly (the last state alone gave a weaker signal). The context
	// only conditions the state: a fake continuation is judged against
	// where the real text left off.
	judged := y.Slice(0, P, P+T)
	pooled := tensor.Mean(judged, false, 0)
	out := m.Head.Forward(pooled).Reshape(B)
	if !out.RequiresGrad() {
		for _, t := range []*tensor.Tensor{judged, pooled, y} {
			t.Release()
		}
		if in != e {
			in.Release()
		}
	}
	return out
}

// Gumbel draws standard Gumbel noise −log(−log u) of the given shape from
// rng (u uniform on [0, 1), clamped away from 0).
func Gumbel(rng *tensor.RNG, d tensor.Device, shape ...int) *tensor.Tensor {
	u := rng.Uniform(d, 0, 1, shape...)
	c := tensor.Clamp(u, 1e-20, 1)
	l := tensor.Log(c)
	n := tensor.Neg(l)
	l2 := tensor.Log(n)
	g := tensor.Neg(l2)
	for _, t := range []*tensor.Tensor{u, c, l, n, l2} {
		t.Release()
	}
	return g
}

// Sampler configures how the generator emits rows.
type Sampler struct {
	Tau             float64 // Gumbel-softmax temperature of the soft path
	StraightThrough bool    // hard one-hot forward, soft backward
}

// Emit turns logits [B,V] and Gumbel noise [B,V] into rows [B,V]: the soft
// sample softmax((logits+g)/τ), or with StraightThrough its hard one-hot
// whose gradient is the soft sample's. It also returns the hard one-hot
// (not recorded; the caller releases it).
func (s Sampler) Emit(logits, noise *tensor.Tensor) (rows, hard *tensor.Tensor) {
	z := tensor.Add(logits, noise)
	zs := tensor.Scale(z, float32(1/s.Tau))
	soft := tensor.Softmax(zs, -1)
	sd := soft.Detach()
	mx := tensor.Max(sd, true, -1)
	hard = tensor.Equal(sd, mx)
	mx.Release()
	if !s.StraightThrough {
		sd.Release()
		return soft, hard
	}
	// hard + (soft − stopgrad(soft)): the value is hard (to rounding), the
	// gradient the soft sample's.
	off := tensor.Sub(hard, sd)
	rows = tensor.Add(soft, off)
	if !rows.RequiresGrad() {
		off.Release()
		soft.Release()
	}
	sd.Release()
	return rows, hard
}

// Rollout runs the generator g over the real prefix ids [P,B] from a zero
// state and then emits n rows per track, each fed back as the next input
// through its soft embedding; noise is [n,B,V] Gumbel noise. It returns
// the emitted rows [n,B,V] (recorded through g's parameters) and the hard
// one-hot ids [n·B] (time-major) on the host.
func Rollout(g *charlm.Model, prefix *tensor.Tensor, noise *tensor.Tensor, s Sampler) (*tensor.Tensor, []int32) {
	P, B, V := prefix.Dim(0), prefix.Dim(1), g.Config.Vocab
	n := noise.Dim(0)
	if noise.Rank() != 3 || noise.Dim(1) != B || noise.Dim(2) != V || P < 1 || n < 1 {
		panic(fmt.Sprintf("textgan.Rollout: prefix %v, noise %v for a vocabulary of %d", prefix, noise, V))
	}
	logits, st := g.Forward(prefix, nn.LSTMState{})
	l := logits.Slice(0, P-1, P).Reshape(B, V)
	rows := make([]*tensor.Tensor, n)
	hards := make([]*tensor.Tensor, n)
	for t := range n {
		nt := noise.Slice(0, t, t+1).Reshape(B, V)
		rows[t], hards[t] = s.Emit(l, nt)
		if t == n-1 {
			break
		}
		e := g.SoftEmbed(rows[t]).Unsqueeze(0)
		lg, ns := g.ForwardEmbedded(e, st)
		st = ns
		l = lg.Reshape(B, V)
	}
	out := tensor.Stack(0, rows...)
	hs := tensor.Stack(0, hards...)
	hv := hs.Float32s()
	hs.Release()
	for _, h := range hards {
		h.Release()
	}
	ids := make([]int32, n*B)
	for i := range ids {
		for v := range V {
			if hv[i*V+v] != 0 {
				ids[i] = int32(v)
				break
			}
		}
	}
	return out, ids
}

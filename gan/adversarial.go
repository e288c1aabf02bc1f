package gan

import (
	"fmt"
	"math"

	"github.com/ingotml/ingot/nn"
	"github.com/ingotml/ingot/nn/optim"
	"github.com/ingotml/ingot/tensor"
)

// Players are the two networks of a GAN as the adversarial step sees them.
// Any family (images here, text in package textgan) supplies them as
// functions, so the step works for any sample type: images, or sequences
// of soft one-hot vectors.
type Players struct {
	Generator, Discriminator nn.Module // their trainable parameters are updated
	// Generate returns n generated samples, recorded through the
	// generator's parameters (it draws its own noise).
	Generate func(n int) *tensor.Tensor
	// Discriminate returns the discriminator's logits for samples x, one
	// per sample ([N] or [N, 1]).
	Discriminate func(x *tensor.Tensor) *tensor.Tensor
}

// StepConfig configures the adversarial updates.
type StepConfig struct {
	// DSteps is the number of discriminator updates per generator update
	// (the ratio k of Goodfellow et al.; 0 means 1: plain alternation). Each
	// discriminator update uses its own real batch; the generator is
	// updated GSteps times after every DSteps-th one.
	DSteps int
	GSteps int // generator updates each time (0 means 1)
	// LabelSmoothing s lowers the real target to 1−s (one-sided; 0 = none,
	// 0.1 is common).
	LabelSmoothing float64
	// InstanceNoise is the standard deviation of Gaussian noise added to
	// every input of the discriminator, real and generated (Sønderby et
	// al. 2016), decaying linearly to 0 over NoiseDecaySteps steps (0 =
	// constant). 0 disables it.
	InstanceNoise   float64
	NoiseDecaySteps int
}

func (c StepConfig) withDefaults() StepConfig {
	if c.DSteps == 0 {
		c.DSteps = 1
	}
	if c.GSteps == 0 {
		c.GSteps = 1
	}
	return c
}

// Validate checks the configuration.
func (c StepConfig) Validate() error {
	c = c.withDefaults()
	switch {
	case c.DSteps < 1 || c.DSteps > 100:
		return fmt.Errorf("gan: %d discriminator steps per generator step, want 1 to 100", c.DSteps)
	case c.GSteps < 1 || c.GSteps > 100:
		return fmt.Errorf("gan: %d generator steps, want 1 to 100", c.GSteps)
	case !(c.LabelSmoothing >= 0 && c.LabelSmoothing < 1):
		return fmt.Errorf("gan: label smoothing %v, want a value in [0, 1)", c.LabelSmoothing)
	case !(c.InstanceNoise >= 0) || math.IsInf(c.InstanceNoise, 0):
		return fmt.Errorf("gan: instance noise %v, want a finite value ≥ 0", c.InstanceNoise)
	case c.NoiseDecaySteps < 0:
		return fmt.Errorf("gan: noise decay steps %d, want ≥ 0", c.NoiseDecaySteps)
	}
	return nil
}

// NoiseStd is the instance-noise standard deviation at step (0-based).
func (c StepConfig) NoiseStd(step int) float64 {
	if c.InstanceNoise == 0 {
		return 0
	}
	if c.NoiseDecaySteps == 0 {
		return c.InstanceNoise
	}
	return c.InstanceNoise * max(0, 1-float64(step)/float64(c.NoiseDecaySteps))
}

// UpdatesGenerator reports whether step (0-based) ends with generator
// updates: every DSteps-th step.
func (c StepConfig) UpdatesGenerator(step int) bool {
	c = c.withDefaults()
	return (step+1)%c.DSteps == 0
}

// Adversarial performs GAN training steps: it owns the two optimizers and
// the instance-noise generator. It holds no other state, so a checkpoint
// needs only the optimizers' states, the RNGs and the step number. The
// optimizers hold the parameter tensors themselves: restore weights in
// place (nn.LoadStateDict copies), not by replacing tensors, or they update
// stale ones.
// Optimizer state names carry the player: "optim.generator.<param>.…" and
// "optim.discriminator.<param>.…".
type Adversarial struct {
	Players
	OptG, OptD optim.Optimizer
	Config     StepConfig
	Noise      *tensor.RNG // instance noise; needed when Config.InstanceNoise > 0
}

// StepStats are one step's measurements.
type StepStats struct {
	DLoss float64 // discriminator loss before its update
	// GLoss is the generator's loss: after the discriminator's update on
	// steps that update the generator (the loss it descends), else on the
	// same batch's generated samples before the discriminator's update.
	GLoss    float64
	DReal    float64 // mean D(x) = σ(logit) on the real batch
	DFake    float64 // mean D(G(z)) on the generated batch, before D's update
	GUpdated bool
}

// NewAdversarial makes the optimizers — Adam with cfg's learning rate and
// betas for each player — and checks the configuration.
func NewAdversarial(p Players, step StepConfig, adam optim.AdamConfig, noise *tensor.RNG) (*Adversarial, error) {
	if err := step.Validate(); err != nil {
		return nil, err
	}
	if step.InstanceNoise > 0 && noise == nil {
		return nil, fmt.Errorf("gan: instance noise needs an RNG")
	}
	og, err := optim.NewAdam(nn.Trainable(prefixed("generator", p.Generator)), adam)
	if err != nil {
		return nil, fmt.Errorf("gan: generator optimizer: %w", err)
	}
	od, err := optim.NewAdam(nn.Trainable(prefixed("discriminator", p.Discriminator)), adam)
	if err != nil {
		return nil, fmt.Errorf("gan: discriminator optimizer: %w", err)
	}
	return &Adversarial{Players: p, OptG: og, OptD: od, Config: step.withDefaults(), Noise: noise}, nil
}

// prefixed is m registered under name, so that its parameters (and the
// optimizer state keyed by them: "optim.generator.0.weight.exp_avg") carry
// the player's name.
func prefixed(name string, m nn.Module) nn.Module {
	w := &nn.Base{}
	w.AddModule(name, m)
	return w
}

// DefaultAdam is the optimizer of the DCGAN paper: Adam with learning rate
// 2e-4 and β1 = 0.5 (β2 0.999, eps 1e-8).
func DefaultAdam() optim.AdamConfig {
	return optim.AdamConfig{LR: 2e-4, Beta1: 0.5, Beta2: 0.999, Eps: 1e-8}
}

// noisy adds instance noise of std sd to x (x itself when sd is 0).
func (a *Adversarial) noisy(x *tensor.Tensor, sd float64, owned *[]*tensor.Tensor) *tensor.Tensor {
	if sd == 0 {
		return x
	}
	n := a.Noise.Normal(x.Device(), 0, float32(sd), x.Shape()...)
	*owned = append(*owned, n)
	y := tensor.Add(x, n)
	if !y.RequiresGrad() {
		*owned = append(*owned, y)
	}
	return y
}

// Step performs the updates of step (0-based, counted over the whole run)
// with a batch of real samples: one discriminator update on real versus
// freshly generated samples and, when the step completes a DSteps cycle,
// GSteps generator updates against the updated discriminator. Gradients
// are zeroed before each backward pass, and the step releases every graph
// it builds. Reading the statistics is the step's one host round trip.
func (a *Adversarial) Step(step int, real *tensor.Tensor) (StepStats, error) {
	c := a.Config
	n := real.Dim(0)
	sd := c.NoiseStd(step)
	var owned []*tensor.Tensor
	defer func() {
		for _, t := range owned {
			t.Release()
		}
	}()

	fake := a.Generate(n)
	fd := fake.Detach()
	owned = append(owned, fd)

	// Discriminator: real → 1−s, generated → 0.
	nn.ZeroGrad(a.Discriminator)
	lr := a.Discriminate(a.noisy(real, sd, &owned))
	lf := a.Discriminate(a.noisy(fd, sd, &owned))
	dl := DiscriminatorLoss(lr, lf, float32(c.LabelSmoothing))
	dl.Backward()
	a.OptD.Step()
	lfd := lf.Detach()
	owned = append(owned, lfd)
	parts := []*tensor.Tensor{as1(dl.Detach()), meanSigmoid(lr), meanSigmoid(lf)}
	gUpdate := c.UpdatesGenerator(step)
	if !gUpdate {
		parts = append(parts, as1(GeneratorLoss(lfd)))
	}
	// The discriminator's graph is done with; the generated batch's graph
	// (through G) is kept for the generator's update.
	dl.ReleaseGraph()

	if gUpdate {
		// D is fixed during G's update: its parameters record nothing, so
		// the backward pass computes no gradients for them (they would be
		// discarded by D's next ZeroGrad anyway).
		nn.Frozen(func() {
			for i := range c.GSteps {
				if i > 0 {
					fake = a.Generate(n)
				}
				nn.ZeroGrad(a.Generator)
				gl := GeneratorLoss(a.Discriminate(a.noisy(fake, sd, &owned)))
				gl.Backward()
				a.OptG.Step()
				if i == c.GSteps-1 {
					parts = append(parts, as1(gl.Detach()))
				}
				gl.ReleaseGraph() // D's graph, the generated batch and G's graph
			}
		}, a.Discriminator)
	} else {
		fake.ReleaseGraph()
	}
	all := tensor.Concat(0, parts...)
	v := all.Float32s()
	all.Release()
	for _, p := range parts {
		p.Release()
	}
	s := StepStats{DLoss: float64(v[0]), DReal: float64(v[1]), DFake: float64(v[2]), GLoss: float64(v[3]), GUpdated: gUpdate}
	return s, nil
}

// meanSigmoid is mean σ(logits) as a [1] tensor, outside any graph.
func meanSigmoid(logits *tensor.Tensor) *tensor.Tensor {
	l := logits.Detach()
	s := tensor.Sigmoid(l)
	m := as1(tensor.Mean(s, false))
	l.Release()
	s.Release()
	return m
}

// as1 reshapes a scalar tensor t (outside any graph) to [1], consuming t.
func as1(t *tensor.Tensor) *tensor.Tensor {
	r := t.Reshape(1)
	t.Release()
	return r
}

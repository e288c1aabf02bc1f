package optim

import (
	"math"

	"github.com/ingotml/ingot/nn"
	"github.com/ingotml/ingot/nn/kernels"
)

// AdamConfig configures Adam and AdamW (PyTorch's arguments).
type AdamConfig struct {
	LR           float64
	Beta1, Beta2 float64
	Eps          float64 // added outside the square root
	WeightDecay  float64 // Adam: L2 added to the gradient; AdamW: decoupled decay
	AMSGrad      bool
}

// DefaultAdam is PyTorch's Adam default: lr 1e-3, betas (0.9, 0.999), eps
// 1e-8, no weight decay.
func DefaultAdam() AdamConfig { return AdamConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8} }

// DefaultAdamW is PyTorch's AdamW default: as Adam with weight decay 1e-2.
func DefaultAdamW() AdamConfig {
	c := DefaultAdam()
	c.WeightDecay = 1e-2
	return c
}

// Adam is Adam (Kingma & Ba) or, built with NewAdamW, AdamW (Loshchilov &
// Hutter, decoupled weight decay), with bias correction. Its state is
// "exp_avg", "exp_avg_sq" and, with AMSGrad, "max_exp_avg_sq".
type Adam struct {
	base
	cfg       AdamConfig
	decoupled bool
}

// NewAdam returns Adam over params.
func NewAdam(params []*nn.Param, cfg AdamConfig) (*Adam, error) {
	return newAdam("Adam", params, cfg, false)
}

// NewAdamW returns AdamW over params.
func NewAdamW(params []*nn.Param, cfg AdamConfig) (*Adam, error) {
	return newAdam("AdamW", params, cfg, true)
}

func newAdam(name string, params []*nn.Param, cfg AdamConfig, decoupled bool) (*Adam, error) {
	for _, e := range []error{
		checkRange(name, "beta1", cfg.Beta1, 0, 1, true),
		checkRange(name, "beta2", cfg.Beta2, 0, 1, true),
		checkRange(name, "eps", cfg.Eps, 0, 1e30, false),
		checkRange(name, "weight decay", cfg.WeightDecay, 0, 1e30, false),
	} {
		if e != nil {
			return nil, e
		}
	}
	bufs := []string{"exp_avg", "exp_avg_sq"}
	if cfg.AMSGrad {
		bufs = append(bufs, "max_exp_avg_sq")
	}
	b, err := newBase(name, params, cfg.LR, bufs)
	if err != nil {
		return nil, err
	}
	return &Adam{base: b, cfg: cfg, decoupled: decoupled}, nil
}

// Step implements Optimizer.
func (o *Adam) Step() {
	c := o.cfg
	for _, s := range o.slots {
		g := s.p.T.Grad()
		if g == nil {
			continue
		}
		s.step++
		// Host scalars in float64, as PyTorch computes them in Python.
		bc1 := 1 - math.Pow(c.Beta1, float64(s.step))
		bc2 := 1 - math.Pow(c.Beta2, float64(s.step))
		p := kernels.AdamParams{Param: paramView(s), Grad: gradView(s, g), N: s.p.T.Len(),
			ExpAvg: s.buf("exp_avg"), ExpAvgSq: s.buf("exp_avg_sq"),
			Beta1: float32(c.Beta1), OneMinusBeta1: float32(1 - c.Beta1),
			Beta2: float32(c.Beta2), OneMinusBeta2: float32(1 - c.Beta2),
			Eps: float32(c.Eps), WeightDecay: float32(c.WeightDecay), DecayFactor: float32(1 - o.lr*c.WeightDecay),
			StepSize: float32(o.lr / bc1), BiasCorrection2Sqrt: float32(math.Sqrt(bc2)),
			Decoupled: o.decoupled, AMSGrad: c.AMSGrad}
		if c.AMSGrad {
			p.MaxExpAvgSq = s.buf("max_exp_avg_sq")
		}
		kernels.AdamUpdate.Run(s.p.T.Device(), p)
	}
}

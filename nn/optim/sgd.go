package optim

import (
	"fmt"

	"github.com/ingotml/ingot/nn"
	"github.com/ingotml/ingot/nn/kernels"
)

// SGDConfig configures SGD (PyTorch's torch.optim.SGD arguments).
type SGDConfig struct {
	LR          float64
	Momentum    float64
	Dampening   float64
	WeightDecay float64 // L2 penalty added to the gradient
	Nesterov    bool    // needs Momentum > 0 and Dampening = 0
}

// SGD is stochastic gradient descent with optional momentum, Nesterov
// momentum and weight decay. Its state is "momentum_buffer" when Momentum ≠ 0.
type SGD struct {
	base
	cfg SGDConfig
}

// NewSGD returns SGD over params (usually nn.Trainable(model)).
func NewSGD(params []*nn.Param, cfg SGDConfig) (*SGD, error) {
	for _, e := range []error{
		checkRange("SGD", "momentum", cfg.Momentum, 0, 1e30, false),
		checkRange("SGD", "dampening", cfg.Dampening, 0, 1, false),
		checkRange("SGD", "weight decay", cfg.WeightDecay, 0, 1e30, false),
	} {
		if e != nil {
			return nil, e
		}
	}
	if cfg.Nesterov && (cfg.Momentum <= 0 || cfg.Dampening != 0) {
		return nil, fmt.Errorf("optim.SGD: Nesterov momentum needs momentum > 0 and dampening 0 (have %v, %v)", cfg.Momentum, cfg.Dampening)
	}
	var bufs []string
	if cfg.Momentum != 0 {
		bufs = []string{"momentum_buffer"}
	}
	b, err := newBase("SGD", params, cfg.LR, bufs)
	if err != nil {
		return nil, err
	}
	return &SGD{base: b, cfg: cfg}, nil
}

// Step implements Optimizer.
func (o *SGD) Step() {
	c := o.cfg
	for _, s := range o.slots {
		g := s.p.T.Grad()
		if g == nil {
			continue
		}
		p := kernels.SGDParams{Param: paramView(s), Grad: gradView(s, g), N: s.p.T.Len(), LR: float32(o.lr),
			WeightDecay: float32(c.WeightDecay), Momentum: float32(c.Momentum), Dampening1: float32(1 - c.Dampening),
			Nesterov: c.Nesterov, First: s.step == 0}
		if c.Momentum != 0 {
			p.Buf = s.buf("momentum_buffer")
		}
		kernels.SGDUpdate.Run(s.p.T.Device(), p)
		s.step++
	}
}

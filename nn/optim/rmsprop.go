package optim

import (
	"github.com/ingotml/ingot/nn"
	"github.com/ingotml/ingot/nn/kernels"
)

// RMSPropConfig configures RMSProp (PyTorch's arguments).
type RMSPropConfig struct {
	LR          float64
	Alpha       float64 // smoothing constant
	Eps         float64 // added outside the square root
	WeightDecay float64
	Momentum    float64
	Centered    bool // normalise by the variance estimate instead of the raw second moment
}

// DefaultRMSProp is PyTorch's default: lr 1e-2, alpha 0.99, eps 1e-8.
func DefaultRMSProp() RMSPropConfig { return RMSPropConfig{LR: 1e-2, Alpha: 0.99, Eps: 1e-8} }

// RMSProp divides the gradient by a running root mean square. Its state is
// "square_avg", plus "momentum_buffer" with momentum and "grad_avg" when
// centered.
type RMSProp struct {
	base
	cfg RMSPropConfig
}

// NewRMSProp returns RMSProp over params.
func NewRMSProp(params []*nn.Param, cfg RMSPropConfig) (*RMSProp, error) {
	for _, e := range []error{
		checkRange("RMSProp", "alpha", cfg.Alpha, 0, 1, false),
		checkRange("RMSProp", "eps", cfg.Eps, 0, 1e30, false),
		checkRange("RMSProp", "weight decay", cfg.WeightDecay, 0, 1e30, false),
		checkRange("RMSProp", "momentum", cfg.Momentum, 0, 1e30, false),
	} {
		if e != nil {
			return nil, e
		}
	}
	bufs := []string{"square_avg"}
	if cfg.Momentum > 0 {
		bufs = append(bufs, "momentum_buffer")
	}
	if cfg.Centered {
		bufs = append(bufs, "grad_avg")
	}
	b, err := newBase("RMSProp", params, cfg.LR, bufs)
	if err != nil {
		return nil, err
	}
	return &RMSProp{base: b, cfg: cfg}, nil
}

// Step implements Optimizer.
func (o *RMSProp) Step() {
	c := o.cfg
	for _, s := range o.slots {
		g := s.p.T.Grad()
		if g == nil {
			continue
		}
		p := kernels.RMSPropParams{Param: paramView(s), Grad: gradView(s, g), N: s.p.T.Len(), SquareAvg: s.buf("square_avg"),
			LR: float32(o.lr), Alpha: float32(c.Alpha), OneMinusAlpha: float32(1 - c.Alpha), Eps: float32(c.Eps),
			WeightDecay: float32(c.WeightDecay), Momentum: float32(c.Momentum), Centered: c.Centered}
		if c.Momentum > 0 {
			p.Buf = s.buf("momentum_buffer")
		}
		if c.Centered {
			p.GradAvg = s.buf("grad_avg")
		}
		kernels.RMSPropUpdate.Run(s.p.T.Device(), p)
		s.step++
	}
}

package optim_test

import (
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/ingotml/ingot/nn"
	"github.com/ingotml/ingot/nn/optim"
	"github.com/ingotml/ingot/tensor"
	"github.com/stretchr/testify/require"
)

type tiny struct {
	nn.Base
	lstm *nn.LSTM
	head *nn.Linear
}

func newTiny(seed uint64) *tiny {
	d, rng := tensor.CPU(), tensor.NewRNG(seed)
	m := &tiny{lstm: nn.NewLSTM(d, rng, nn.RNNConfig{InputSize: 3, HiddenSize: 5, NumLayers: 2}), head: nn.NewLinear(d, rng, 5, 2)}
	m.AddModule("lstm", m.lstm)
	m.AddModule("head", m.head)
	return m
}

func (m *tiny) step(opt optim.Optimizer, seed uint64) {
	x := tensor.NewRNG(seed).Normal(tensor.CPU(), 0, 1, 4, 2, 3)
	y := m.lstm.Forward(x)
	out := m.head.Forward(y.Reshape(8, 5))
	loss := tensor.Mean(tensor.Mul(out, out), false)
	loss.Backward()
	optim.ClipGradNorm(nn.Trainable(m), 0.5)
	opt.Step()
	opt.ZeroGrad()
	loss.ReleaseGraph()
}

// TestCheckpointResume saves a model and its optimizer's state in one
// compressed weight file, rebuilds both from it and checks that training
// continues bit for bit as if it had never stopped.
func TestCheckpointResume(t *testing.T) {
	makers := map[string]func([]*nn.Param) (optim.Optimizer, error){
		"adam": func(ps []*nn.Param) (optim.Optimizer, error) {
			c := optim.DefaultAdamW()
			c.AMSGrad = true
			return optim.NewAdamW(ps, c)
		},
		"sgd": func(ps []*nn.Param) (optim.Optimizer, error) {
			return optim.NewSGD(ps, optim.SGDConfig{LR: 0.1, Momentum: 0.9, Nesterov: true})
		},
		"rmsprop": func(ps []*nn.Param) (optim.Optimizer, error) {
			c := optim.DefaultRMSProp()
			c.Centered, c.Momentum = true, 0.3
			return optim.NewRMSProp(ps, c)
		},
	}
	for name, mk := range makers {
		t.Run(name, func(t *testing.T) {
			a := newTiny(1)
			oa, err := mk(nn.Trainable(a))
			require.NoError(t, err)
			for s := range 3 {
				a.step(oa, uint64(s))
			}
			state, err := nn.StateDict(a)
			require.NoError(t, err)
			for k, v := range oa.State() {
				state[k] = v
			}
			path := filepath.Join(t.TempDir(), "ckpt.safetensors.zst")
			require.NoError(t, nn.SaveState(path, state, map[string]string{"step": "3"}))

			loaded, _, err := nn.LoadState(path, tensor.CPU())
			require.NoError(t, err)
			optState, modelState := nn.SplitPrefix(loaded, optim.StatePrefix)
			b := newTiny(rand.Uint64()) // different initial weights: all must come from the file
			require.NoError(t, nn.LoadStateDict(b, modelState))
			// Build the optimizer after loading: LoadStateDict replaces the
			// parameter tensors.
			ob, err := mk(nn.Trainable(b))
			require.NoError(t, err)
			require.NoError(t, ob.LoadState(optState))

			for s := 3; s < 6; s++ {
				a.step(oa, uint64(s))
				b.step(ob, uint64(s))
			}
			pa, pb := a.Params(), b.Params()
			for i := range pa {
				require.Equal(t, pa[i].T.Float32s(), pb[i].T.Float32s(), pa[i].Name)
			}
		})
	}
}

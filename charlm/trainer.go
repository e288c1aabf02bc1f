package charlm

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/ingotml/ingot/nn"
	"github.com/ingotml/ingot/nn/optim"
	"github.com/ingotml/ingot/tensor"
)

// Loss is the mean cross-entropy (nats per character) of predicting
// targets from ids, both int32 [T,B], starting from state s; it returns the
// recorded loss and the final state (views of the recorded LSTM output).
func (m *Model) Loss(ids, targets *tensor.Tensor, s nn.LSTMState) (*tensor.Tensor, nn.LSTMState) {
	T, B := ids.Dim(0), ids.Dim(1)
	logits, st := m.Forward(ids, s)
	l2 := logits.Reshape(T*B, m.Config.Vocab)
	tg := targets.Reshape(T * B)
	loss := nn.CrossEntropyLoss(l2, tg, nn.Mean)
	if tg != targets {
		tg.Release()
	}
	return loss, st
}

// TrainConfig configures a Trainer.
type TrainConfig struct {
	LR   float64 // Adam's learning rate (β = 0.9, 0.999; ε = 1e-8)
	Clip float64 // largest global gradient norm; 0 disables clipping
}

// DefaultTrainConfig is the learning rate and clipping ingot train charlm
// uses by default.
func DefaultTrainConfig() TrainConfig { return TrainConfig{LR: 2e-3, Clip: 5} }

// Trainer trains a Model by truncated backpropagation through time: each
// Step runs one chunk of every track from the state the previous chunk
// left (detached, so gradients stop at the chunk boundary) and updates the
// weights with Adam after clipping the gradients' global norm.
type Trainer struct {
	Model *Model
	Opt   *optim.Adam
	Clip  float64
	carry nn.LSTMState
}

// NewTrainer returns a trainer of m.
func NewTrainer(m *Model, cfg TrainConfig) (*Trainer, error) {
	if !(cfg.Clip >= 0) || math.IsInf(cfg.Clip, 0) {
		return nil, fmt.Errorf("charlm: gradient clip %v, want a finite value ≥ 0", cfg.Clip)
	}
	if !(cfg.LR > 0) || math.IsInf(cfg.LR, 0) {
		return nil, fmt.Errorf("charlm: learning rate %v, want a finite value > 0", cfg.LR)
	}
	ac := optim.DefaultAdam()
	ac.LR = cfg.LR
	opt, err := optim.NewAdam(nn.Trainable(m), ac)
	if err != nil {
		return nil, err
	}
	return &Trainer{Model: m, Opt: opt, Clip: cfg.Clip}, nil
}

// Step trains on one chunk: input and target hold T×B ids time-major
// (element (t, b) at t·B+b, as data.TextBatcher's TimeMajor layout). reset
// starts every track from a zero state (the first chunk of an epoch). It
// returns the chunk's mean loss in nats per character (NaN or ±Inf when
// training diverged; with clipping, a non-finite gradient norm is returned
// instead and the weights are left unchanged).
func (tr *Trainer) Step(input, target []int32, T, B int, reset bool) float64 {
	if len(input) != T*B || len(target) != T*B {
		panic(fmt.Sprintf("charlm.Trainer.Step: %d inputs and %d targets for T=%d B=%d", len(input), len(target), T, B))
	}
	m := tr.Model
	d := m.Device()
	if reset || (tr.carry.H != nil && tr.carry.H.Dim(1) != B) {
		tr.ResetCarry()
	}
	ids := tensor.FromInt32(d, input, T, B)
	tg := tensor.FromInt32(d, target, T, B)
	// nn.ZeroGrad, not tr.Opt.ZeroGrad: the latter zeroes nothing in the
	// nn/optim version this was written against (it calls ZeroGrad on the
	// gradient tensors rather than on the parameters).
	nn.ZeroGrad(m)
	loss, st := m.Loss(ids, tg, tr.carry)
	loss.Backward()
	finish := func() float64 {
		v := float64(loss.Item())
		next := st.Detach()
		loss.ReleaseGraph()
		releaseState(st)
		ids.Release()
		tg.Release()
		releaseState(tr.carry)
		tr.carry = next
		return v
	}
	if tr.Clip > 0 {
		// Reading the norm is a host round trip; a non-finite one skips
		// the update.
		if n := optim.ClipGradNorm(nn.Trainable(m), tr.Clip); math.IsNaN(float64(n)) || math.IsInf(float64(n), 0) {
			finish()
			return float64(n)
		}
	}
	// The update is queued before the loss is read, so on an asynchronous
	// device (Metal) a step without clipping is one command buffer.
	tr.Opt.Step()
	return finish()
}

// ResetCarry drops the carried state (the next Step starts from zeros).
func (tr *Trainer) ResetCarry() {
	releaseState(tr.carry)
	tr.carry = nn.LSTMState{}
}

// Checkpoint tensor names of the carried state.
const (
	CarryH = "carry.h"
	CarryC = "carry.c"
)

// State returns what a checkpoint needs for an exact resume: the model's
// weights, Adam's state ("optim." names) and the carried state (CarryH,
// CarryC), all live tensors.
func (tr *Trainer) State() (map[string]*tensor.Tensor, error) {
	st, err := nn.StateDict(tr.Model)
	if err != nil {
		return nil, err
	}
	for k, v := range tr.Opt.State() {
		st[k] = v
	}
	if tr.carry.H != nil {
		st[CarryH], st[CarryC] = tr.carry.H, tr.carry.C
	}
	return st, nil
}

// LoadState restores what State returned.
func (tr *Trainer) LoadState(ts map[string]*tensor.Tensor) error {
	h, c := ts[CarryH], ts[CarryC]
	if (h == nil) != (c == nil) {
		return fmt.Errorf("charlm: checkpoint has only one of %s and %s", CarryH, CarryC)
	}
	if h != nil {
		want := []int{tr.Model.Config.Layers, h.Dim(1), tr.Model.Config.Hidden}
		if h.Rank() != 3 || c.Rank() != 3 || !slices.Equal(h.Shape(), want) || !slices.Equal(c.Shape(), want) {
			return fmt.Errorf("charlm: checkpoint carry state %v and %v, want [%d B %d]", h, c, want[0], want[2])
		}
	}
	_, model := nn.SplitPrefix(ts, optim.StatePrefix)
	delete(model, CarryH)
	delete(model, CarryC)
	if err := nn.LoadStateDict(tr.Model, model); err != nil {
		return err
	}
	if err := tr.Opt.LoadState(OptimState(ts)); err != nil {
		return err
	}
	tr.ResetCarry()
	if h != nil {
		d := tr.Model.Device()
		tr.carry = nn.LSTMState{H: tensor.FromFloat32(d, h.Float32s(), h.Shape()...), C: tensor.FromFloat32(d, c.Float32s(), c.Shape()...)}
	}
	return nil
}

// OptimState returns the tensors whose names start with optim.StatePrefix,
// names unchanged (what an optimizer's LoadState takes).
func OptimState(ts map[string]*tensor.Tensor) map[string]*tensor.Tensor {
	out := map[string]*tensor.Tensor{}
	for k, v := range ts {
		if strings.HasPrefix(k, optim.StatePrefix) {
			out[k] = v
		}
	}
	return out
}

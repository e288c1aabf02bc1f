package nn_test

import (
	"math/rand/v2"
	"testing"

	"github.com/ingotml/ingot/nn"
	"github.com/ingotml/ingot/nn/optim"
	"github.com/ingotml/ingot/tensor"
)

// charLSTM is the char-level language model of the benchmarks: vocab 96 →
// embedding 64 → LSTM 256 → linear 96, over sequences of 64 with batch 32
// (the same model as bench/pytorch/charlstm.py).
type charLSTM struct {
	nn.Base
	emb  *nn.Embedding
	lstm *nn.LSTM
	head *nn.Linear
}

const benchV, benchE, benchH, benchT, benchB = 96, 64, 256, 64, 32

func newCharLSTM(d tensor.Device) *charLSTM {
	rng := tensor.NewRNG(1)
	m := &charLSTM{
		emb:  nn.NewEmbedding(d, rng, benchV, benchE),
		lstm: nn.NewLSTM(d, rng, nn.RNNConfig{InputSize: benchE, HiddenSize: benchH}),
		head: nn.NewLinear(d, rng, benchH, benchV),
	}
	m.AddModule("embedding", m.emb)
	m.AddModule("lstm", m.lstm)
	m.AddModule("head", m.head)
	return m
}

func benchTokens(d tensor.Device, r *rand.Rand, shape ...int) *tensor.Tensor {
	n := 1
	for _, s := range shape {
		n *= s
	}
	v := make([]int32, n)
	for i := range v {
		v[i] = int32(r.IntN(benchV))
	}
	return tensor.FromInt32(d, v, shape...)
}

// BenchmarkLSTMStep is one training iteration of the char LSTM: forward,
// cross-entropy, backward and an Adam step. Compare its ms/step with
// `python3 bench/pytorch/charlstm.py` (PyTorch 1.13 CPU: about 36 ms on
// the reference machine).
func BenchmarkLSTMStep(b *testing.B) {
	d := tensor.CPU()
	m := newCharLSTM(d)
	opt, err := optim.NewAdam(nn.Trainable(m), optim.DefaultAdam())
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	ids, targets := benchTokens(d, r, benchT, benchB), benchTokens(d, r, benchT*benchB)
	step := func() {
		x := m.emb.Forward(ids)
		y := m.lstm.Forward(x)
		logits := m.head.Forward(y.Reshape(benchT*benchB, benchH))
		loss := nn.CrossEntropyLoss(logits, targets, nn.Mean)
		loss.Backward()
		opt.Step()
		opt.ZeroGrad()
		loss.ReleaseGraph()
	}
	step() // state and buffers allocated
	runSteps(b, step)
}

// runSteps times step, reporting wall ms/step and the process's CPU
// ms/step (all threads), which is steadier on a shared machine.
func runSteps(b *testing.B, step func()) {
	b.ReportAllocs()
	b.ResetTimer()
	c0 := cpuTime()
	for range b.N {
		step()
	}
	cpu := cpuTime() - c0
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1e3/float64(b.N), "ms/step")
	b.ReportMetric(float64(cpu.Microseconds())/1e3/float64(b.N), "cpu-ms/step")
}

// BenchmarkLSTMLayer is the LSTM layer alone (64 steps, batch 32, 64 → 256),
// forward and backward.
func BenchmarkLSTMLayer(b *testing.B) {
	d := tensor.CPU()
	lstm := nn.NewLSTM(d, tensor.NewRNG(1), nn.RNNConfig{InputSize: benchE, HiddenSize: benchH})
	x := tensor.NewRNG(2).Normal(d, 0, 1, benchT, benchB, benchE).SetRequiresGrad(true)
	step := func() {
		y := lstm.Forward(x)
		loss := tensor.Sum(y, false)
		loss.Backward()
		nn.ZeroGrad(lstm)
		loss.ReleaseGraph()
	}
	step()
	runSteps(b, step)
}

package charlm

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/ingotml/ingot/nn"
	"github.com/ingotml/ingot/tensor"
)

// EvalChunk is the number of timesteps BitsPerChar runs per LSTM call; the
// state is carried between chunks, so the result does not depend on it
// beyond float rounding.
const EvalChunk = 512

// BitsPerChar is the model's cross-entropy on ids in bits per character:
// the mean of −log₂ p(ids[t+1] | ids[..t]) over t = 0..len−2, the whole
// sequence run as one stream from a zero state (in chunks of EvalChunk
// steps with the state carried). It is deterministic for a device and
// thread count.
func (m *Model) BitsPerChar(ctx context.Context, ids []int32) (bpc float64, err error) {
	if len(ids) < 2 {
		return 0, fmt.Errorf("charlm: bits per character need at least 2 characters, have %d", len(ids))
	}
	V := int32(m.Config.Vocab)
	for i, id := range ids {
		if id < 0 || id >= V {
			return 0, fmt.Errorf("charlm: id %d at position %d is outside the vocabulary of %d", id, i, V)
		}
	}
	d := m.Device()
	var total float64
	m.noGrad(func() {
		var s nn.LSTMState
		defer func() { releaseState(s) }()
		for start := 0; start < len(ids)-1; start += EvalChunk {
			if err = ctx.Err(); err != nil {
				return
			}
			end := min(start+EvalChunk, len(ids)-1)
			in := tensor.FromInt32(d, ids[start:end], end-start, 1)
			logits, ns := m.Forward(in, s)
			in.Release()
			releaseState(s)
			s = ns
			lp := tensor.LogSoftmax(logits, -1)
			logits.Release()
			v := lp.Float32s()
			lp.Release()
			for t := range end - start {
				total -= float64(v[t*int(V)+int(ids[start+t+1])])
			}
		}
	})
	if err != nil {
		return 0, err
	}
	return total / float64(len(ids)-1) / math.Ln2, nil
}

func releaseState(s nn.LSTMState) {
	if s.H != nil {
		s.H.Release()
	}
	if s.C != nil {
		s.C.Release()
	}
}

// SampleOptions configures Sample.
type SampleOptions struct {
	N           int     // characters to generate
	Temperature float64 // softmax temperature; 0 picks the most likely character
	Seed        uint64  // the counter-based RNG's seed: the same seed gives the same text
}

// Sample continues prompt by opts.N characters and returns the
// continuation (without the prompt). The prompt's characters outside the
// vocabulary are fed as the unknown id; the unknown symbol itself is never
// generated. An empty prompt starts from a newline (or the unknown id when
// the vocabulary has none).
//
// Randomness is tensor.RandomValue(uniform, seed, stream 0, counter i) for
// the i-th generated character, drawn on the host from the model's
// probabilities, so a seed gives the same text on every run of a device.
func (m *Model) Sample(ctx context.Context, prompt string, opts SampleOptions) (string, error) {
	if opts.N < 0 {
		return "", fmt.Errorf("charlm: %d characters to sample, want ≥ 0", opts.N)
	}
	if !(opts.Temperature >= 0) || math.IsInf(opts.Temperature, 0) {
		return "", fmt.Errorf("charlm: temperature %v, want a finite value ≥ 0", opts.Temperature)
	}
	ids := m.Vocab.Encode(prompt)
	if len(ids) == 0 {
		ids = []int32{m.Vocab.ID('\n')}
	}
	d := m.Device()
	V := m.Config.Vocab
	var out strings.Builder
	var err error
	m.noGrad(func() {
		var s nn.LSTMState
		defer func() { releaseState(s) }()
		probs := make([]float64, V)
		// Feed the prompt in one call; its last logits predict the first
		// character.
		feed := ids
		for i := 0; i < opts.N; i++ {
			if err = ctx.Err(); err != nil {
				return
			}
			in := tensor.FromInt32(d, feed, len(feed), 1)
			logits, ns := m.Forward(in, s)
			in.Release()
			releaseState(s)
			s = ns
			last := logits.Slice(0, len(feed)-1, len(feed))
			v := last.Float32s()
			last.Release()
			logits.Release()
			id := pick(v, probs, opts.Temperature, tensor.RandomValue(tensor.DistUniform, 0, 1, opts.Seed, 0, uint64(i)))
			out.WriteRune(m.Vocab.Rune(id))
			feed = []int32{id}
		}
	})
	if err != nil {
		return "", err
	}
	return out.String(), nil
}

// pick draws an id ≥ 1 from logits at temperature temp with the uniform u
// in [0, 1) (inverse CDF in id order), or the arg max when temp is 0.
func pick(logits []float32, probs []float64, temp float64, u float32) int32 {
	best := 1
	for i := 2; i < len(logits); i++ {
		if logits[i] > logits[best] {
			best = i
		}
	}
	if temp == 0 {
		return int32(best)
	}
	mx := float64(logits[best])
	var sum float64
	for i := 1; i < len(logits); i++ {
		probs[i] = math.Exp((float64(logits[i]) - mx) / temp)
		sum += probs[i]
	}
	target := float64(u) * sum
	var acc float64
	last := 1
	for i := 1; i < len(logits); i++ {
		if probs[i] == 0 {
			continue
		}
		last = i
		acc += probs[i]
		if target < acc {
			return int32(i)
		}
	}
	return int32(last) // rounding: u·sum landed on the total
}

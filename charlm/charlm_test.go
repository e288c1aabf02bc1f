package charlm

import (
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ingotml/ingot/data"
	"github.com/ingotml/ingot/nn"
	"github.com/ingotml/ingot/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var ctx = context.Background()

func tiny(t testing.TB, text string, cfg Config, seed uint64) *Model {
	t.Helper()
	m, err := New(nil, tensor.NewRNG(seed), data.NewVocab(text), cfg)
	require.NoError(t, err)
	return m
}

// TestWeightFileRoundTrip: configuration, vocabulary (Chinese included)
// and weights come back exactly from the weight file's metadata alone.
func TestWeightFileRoundTrip(t *testing.T) {
	text := "床前明月光，疑是地上霜。\nPride & Prejudice — ü"
	m := tiny(t, text, Config{Embed: 3, Hidden: 5, Layers: 2}, 1)
	path := filepath.Join(t.TempDir(), "m.safetensors.zst")
	require.NoError(t, m.Save(path, map[string]string{"note": "x"}))
	got, meta, err := Load(path, nil)
	require.NoError(t, err)
	assert.Equal(t, "x", meta["note"])
	assert.Equal(t, Family, meta[nn.MetaFamily])
	assert.Equal(t, m.Config, got.Config)
	assert.Equal(t, m.Vocab.Runes(), got.Vocab.Runes())
	assert.Equal(t, m.Vocab.Encode(text), got.Vocab.Encode(text))
	want, err := nn.StateDict(m)
	require.NoError(t, err)
	have, err := nn.StateDict(got)
	require.NoError(t, err)
	require.Len(t, have, len(want))
	for k, v := range want {
		assert.Equal(t, v.Float32s(), have[k].Float32s(), k)
	}
	assert.Contains(t, want, "lstm.weight_hh_l1")
	assert.Contains(t, want, "head.bias")

	// A file of another family, or without a vocabulary, is refused.
	other := filepath.Join(t.TempDir(), "o.safetensors")
	meta2, err := m.Meta("vae", nil)
	require.NoError(t, err)
	require.NoError(t, nn.Save(other, m, meta2))
	_, _, err = Load(other, nil)
	assert.ErrorContains(t, err, `"vae"`)
	delete(meta2, MetaVocab)
	_, err = FromMeta(nil, meta2, "")
	assert.ErrorContains(t, err, "no vocabulary")
	_, err = FromMeta(nil, map[string]string{nn.MetaConfig: `{"vocab":3,"embed":0,"hidden":2,"layers":1}`, MetaVocab: `{"kind":"runes","unknown":0,"symbols":"ab"}`}, "")
	assert.ErrorContains(t, err, "embedding size 0")
}

// zeroWeights leaves only the head's bias, so every prediction is
// softmax(bias) whatever the input.
func zeroWeights(t *testing.T, m *Model, bias []float32) {
	for _, p := range nn.Trainable(m) {
		require.NoError(t, p.Set(tensor.ZerosLike(p.T)))
	}
	require.NoError(t, m.Head.Bias.Set(tensor.FromFloat32(nil2cpu(), bias)))
}

func nil2cpu() tensor.Device { return tensor.CPU() }

// TestBitsPerCharHandChecked: with all weights zero but the head bias
// [0, 0, ln 3] over {unknown, a, b}, every prediction is (1/5, 1/5, 3/5),
// so the bits per character are the hand-computed cross-entropies.
func TestBitsPerCharHandChecked(t *testing.T) {
	m := tiny(t, "ab", Config{Embed: 2, Hidden: 3, Layers: 1}, 1)
	zeroWeights(t, m, []float32{0, 0, float32(math.Log(3))})
	for _, c := range []struct {
		text string
		want float64
	}{
		{"abbb", math.Log2(5.0 / 3)},                               // three b's
		{"abab", (2*math.Log2(5.0/3) + math.Log2(5)) / 3},          // b, a, b
		{"ba?a", (math.Log2(5) + math.Log2(5) + math.Log2(5)) / 3}, // a, unknown, a
	} {
		got, err := m.BitsPerChar(ctx, m.Vocab.Encode(c.text))
		require.NoError(t, err)
		// float32 log-softmax: relative error ~1e-7.
		assert.InDelta(t, c.want, got, 1e-6, c.text)
	}
	_, err := m.BitsPerChar(ctx, []int32{1})
	assert.ErrorContains(t, err, "at least 2")
	_, err = m.BitsPerChar(ctx, []int32{1, 7})
	assert.ErrorContains(t, err, "position 1")
}

// TestBitsPerCharCarriesState: the chunked evaluation equals one forward
// pass over the whole sequence (the state is carried between chunks), and
// it is deterministic.
func TestBitsPerCharCarriesState(t *testing.T) {
	text := strings.Repeat("the quick brown fox jumps over the lazy dog. ", 30) // > 2 chunks
	m := tiny(t, text, Config{Embed: 4, Hidden: 8, Layers: 2}, 3)
	ids := m.Vocab.Encode(text)
	require.Greater(t, len(ids), 2*EvalChunk+1)
	got, err := m.BitsPerChar(ctx, ids)
	require.NoError(t, err)
	again, err := m.BitsPerChar(ctx, ids)
	require.NoError(t, err)
	assert.Equal(t, got, again)

	in := tensor.FromInt32(tensor.CPU(), ids[:len(ids)-1], len(ids)-1, 1)
	tg := tensor.FromInt32(tensor.CPU(), ids[1:], len(ids)-1, 1)
	var want float64
	m.noGrad(func() {
		loss, _ := m.Loss(in, tg, nn.LSTMState{})
		want = float64(loss.Item()) / math.Ln2
	})
	// Sums of ~1300 float32 terms in different orders: 1e-5 relative.
	assert.InEpsilon(t, want, got, 1e-5)
}

// TestSampleDeterministic: the same seed gives the same text, another seed
// another text, temperature 0 the greedy continuation; the unknown symbol
// is never produced.
func TestSampleDeterministic(t *testing.T) {
	text := "abcdefghij klmnop"
	m := tiny(t, text, Config{Embed: 4, Hidden: 8, Layers: 1}, 5)
	opts := SampleOptions{N: 200, Temperature: 1.5, Seed: 42}
	a, err := m.Sample(ctx, "abc", opts)
	require.NoError(t, err)
	b, err := m.Sample(ctx, "abc", opts)
	require.NoError(t, err)
	assert.Equal(t, a, b)
	assert.Equal(t, 200, len([]rune(a)))
	assert.NotContains(t, a, string(data.UnknownRune))
	opts.Seed = 43
	c, err := m.Sample(ctx, "abc", opts)
	require.NoError(t, err)
	assert.NotEqual(t, a, c)

	// Greedy: each character is the arg max given the text so far.
	g, err := m.Sample(ctx, "ab", SampleOptions{N: 5})
	require.NoError(t, err)
	ids := m.Vocab.Encode("ab" + g)
	for i := 2; i < len(ids); i++ {
		var logits []float32
		m.noGrad(func() {
			l, _ := m.Forward(tensor.FromInt32(tensor.CPU(), ids[:i], i, 1), nn.LSTMState{})
			logits = l.Float32s()[(i-1)*m.Config.Vocab:]
		})
		best := int32(1)
		for j := int32(2); j < int32(m.Config.Vocab); j++ {
			if logits[j] > logits[best] {
				best = j
			}
		}
		assert.Equal(t, best, ids[i], "position %d", i)
	}

	for _, bad := range []SampleOptions{{N: -1}, {N: 1, Temperature: -1}, {N: 1, Temperature: math.NaN()}} {
		_, err := m.Sample(ctx, "a", bad)
		assert.Error(t, err)
	}
}

// TestPick: inverse-CDF draws over ids ≥ 1 at a temperature.
func TestPick(t *testing.T) {
	logits := []float32{100, 0, float32(math.Log(3))} // the unknown id 0 is never drawn
	probs := make([]float64, 3)
	assert.Equal(t, int32(1), pick(logits, probs, 1, 0.0))
	assert.Equal(t, int32(1), pick(logits, probs, 1, 0.2499))
	assert.Equal(t, int32(2), pick(logits, probs, 1, 0.2501))
	assert.Equal(t, int32(2), pick(logits, probs, 1, 0.9999999))
	assert.Equal(t, int32(2), pick(logits, probs, 0, 0.0))
	// Temperature 2 flattens 1:3 to 1:√3.
	edge := float32(1 / (1 + math.Sqrt(3)))
	assert.Equal(t, int32(1), pick(logits, probs, 2, edge-1e-4))
	assert.Equal(t, int32(2), pick(logits, probs, 2, edge+1e-4))
}

// TestChineseLearnsAndRoundTrips: a small model trained on a repeated
// Chinese line continues a Chinese prompt with that line, rune for rune.
func TestChineseLearnsAndRoundTrips(t *testing.T) {
	line := "床前明月光，疑是地上霜。举头望明月，低头思故乡。\n"
	text := strings.Repeat(line, 40)
	v := data.NewVocab(text)
	assert.Equal(t, line, v.Decode(v.Encode(line)))
	m, err := New(nil, tensor.NewRNG(7), v, Config{Embed: 16, Hidden: 32, Layers: 1})
	require.NoError(t, err)
	tr, err := NewTrainer(m, TrainConfig{LR: 1e-2, Clip: 5})
	require.NoError(t, err)
	b, err := data.NewTextBatcher(v.Encode(text), 4, 25, data.TextOptions{})
	require.NoError(t, err)
	var c data.TextBatch
	first, last := 0.0, 0.0
	for step := 0; step < 150; step++ {
		if !b.Next(&c) {
			require.True(t, b.Next(&c))
		}
		l := tr.Step(c.Input, c.Target, c.Seq, c.Batch, c.Step == 0)
		if step == 0 {
			first = l
		}
		last = l
	}
	t.Logf("loss %.3f → %.3f nats", first, last)
	require.Less(t, last, 0.2)
	got, err := m.Sample(ctx, "床前明月", SampleOptions{N: 20, Temperature: 0})
	require.NoError(t, err)
	assert.Equal(t, "光，疑是地上霜。举头望明月，低头思故乡。", got)
	// Characters outside the vocabulary are fed as the unknown id.
	_, err = m.Sample(ctx, "春眠不觉晓", SampleOptions{N: 3, Temperature: 1, Seed: 1})
	require.NoError(t, err)
}

// TestTrainerExactResume: two steps, a state round trip into a fresh
// trainer (weights, Adam moments, carried state), then two more steps give
// the same losses and weights as four uninterrupted steps.
func TestTrainerExactResume(t *testing.T) {
	text := strings.Repeat("It is a truth universally acknowledged. ", 20)
	v := data.NewVocab(text)
	cfg := Config{Embed: 4, Hidden: 6, Layers: 2}
	mk := func() *Trainer {
		m, err := New(nil, tensor.NewRNG(9), v, cfg)
		require.NoError(t, err)
		tr, err := NewTrainer(m, DefaultTrainConfig())
		require.NoError(t, err)
		return tr
	}
	chunks := func() []data.TextBatch {
		b, err := data.NewTextBatcher(v.Encode(text), 3, 7, data.TextOptions{})
		require.NoError(t, err)
		var out []data.TextBatch
		for range 4 {
			var c data.TextBatch
			require.True(t, b.Next(&c))
			out = append(out, c)
		}
		return out
	}()
	step := func(tr *Trainer, c data.TextBatch) float64 {
		return tr.Step(c.Input, c.Target, c.Seq, c.Batch, c.Step == 0)
	}
	a := mk()
	var want []float64
	for _, c := range chunks {
		want = append(want, step(a, c))
	}
	b := mk()
	got := []float64{step(b, chunks[0]), step(b, chunks[1])}
	st, err := b.State()
	require.NoError(t, err)
	require.Contains(t, st, CarryH)
	require.Contains(t, st, "optim.lstm.weight_ih_l1.exp_avg_sq")
	// Copy, as a checkpoint file would.
	cp := map[string]*tensor.Tensor{}
	for k, v := range st {
		cp[k] = v.To(tensor.CPU())
		if v.DType() == tensor.Float32 {
			cp[k] = tensor.FromFloat32(tensor.CPU(), v.Float32s(), v.Shape()...)
		}
	}
	c := mk()
	require.NoError(t, c.LoadState(cp))
	got = append(got, step(c, chunks[2]), step(c, chunks[3]))
	assert.Equal(t, want, got)
	wa, _ := nn.StateDict(a.Model)
	wc, _ := nn.StateDict(c.Model)
	for k := range wa {
		assert.Equal(t, wa[k].Float32s(), wc[k].Float32s(), k)
	}
	assert.Less(t, want[3], want[0], "the loss goes down")
}

func BenchmarkTrainStep(b *testing.B) {
	// vocab 96 / embed 64 / hidden 256 / seq 64 / batch 32 (the issue's
	// comparison point with PyTorch).
	rs := make([]rune, 95)
	for i := range rs {
		rs[i] = rune(32 + i)
	}
	v, err := data.VocabFromRunes(rs)
	require.NoError(b, err)
	m, err := New(nil, tensor.NewRNG(1), v, DefaultConfig(96))
	require.NoError(b, err)
	tr, err := NewTrainer(m, DefaultTrainConfig())
	require.NoError(b, err)
	const T, B = 64, 32
	in, tg := make([]int32, T*B), make([]int32, T*B)
	for i := range in {
		in[i], tg[i] = int32(1+i*7%95), int32(1+i*11%95)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tr.Step(in, tg, T, B, i == 0)
	}
}

// TestStepSource: a run of 10 steps in rounds of 4 over data epochs of 3
// chunks yields rounds of 4, 4, 2 chunks continuing across data epochs
// (Step 0 marks each data epoch's start), and Seek to any position yields
// the chunk an uninterrupted run sees there.
func TestStepSource(t *testing.T) {
	ids := make([]int32, 40)
	for i := range ids {
		ids[i] = int32(i)
	}
	mk := func() *StepSource {
		b, err := data.NewTextBatcher(ids, 2, 6, data.TextOptions{})
		require.NoError(t, err)
		require.Equal(t, 4, b.StepsPerEpoch()) // 20 per track: 19 inputs in chunks of 6
		s, err := NewStepSource(b, 10, 3)
		require.NoError(t, err)
		return s
	}
	s := mk()
	assert.Equal(t, 4, s.Rounds())
	type pos struct{ round, step int }
	seen := map[pos][]int32{}
	var sizes, dataSteps []int
	for r := 0; r < s.Rounds(); r++ {
		n := 0
		var c data.TextBatch
		for s.Next(&c) {
			seen[pos{r, n}] = append([]int32(nil), c.Input...)
			dataSteps = append(dataSteps, c.Step)
			n++
		}
		sizes = append(sizes, n)
	}
	assert.Equal(t, []int{3, 3, 3, 1}, sizes)
	assert.Equal(t, []int{0, 1, 2, 3, 0, 1, 2, 3, 0, 1}, dataSteps)
	for p, want := range seen {
		s2 := mk()
		require.NoError(t, s2.Seek(p.round, p.step))
		var c data.TextBatch
		require.True(t, s2.Next(&c))
		assert.Equal(t, want, c.Input, "%+v", p)
	}
	s3 := mk()
	require.NoError(t, s3.Seek(4, 0), "the end of the run")
	var c data.TextBatch
	assert.False(t, s3.Next(&c))
	assert.Error(t, s3.Seek(5, 0))
	_, err := NewStepSource(nil, 0, 1)
	assert.Error(t, err)
}

// FuzzFromMeta: weight-file metadata (outside bytes) never panics; what it
// accepts builds a model of the configured size and vocabulary.
func FuzzFromMeta(f *testing.F) {
	f.Add(`{"vocab":3,"embed":2,"hidden":2,"layers":1}`, `{"kind":"runes","unknown":0,"symbols":"ab"}`)
	f.Add(`{"vocab":4,"embed":1,"hidden":3,"layers":2}`, `{"kind":"runes","unknown":0,"symbols":"床前光"}`)
	f.Add(`{"vocab":-1}`, `{}`)
	f.Add(`{"vocab":1048576,"embed":8192,"hidden":8192,"layers":2}`, `{"kind":"runes","unknown":0,"symbols":"a"}`)
	f.Fuzz(func(t *testing.T, cfg, voc string) {
		meta := map[string]string{nn.MetaConfig: cfg, MetaVocab: voc}
		var c Config
		if json.Unmarshal([]byte(cfg), &c) == nil && c.Validate() == nil && c.NumParams() > 1<<16 {
			t.Skip("valid but too large to build in a fuzz run")
		}
		m, err := FromMeta(nil, meta, "")
		if err != nil {
			return
		}
		require.Equal(t, m.Vocab.Size(), m.Config.Vocab)
		require.Equal(t, m.Config.NumParams(), nn.NumParams(m))
	})
}

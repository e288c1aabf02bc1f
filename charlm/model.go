// Package charlm owns ingot's character-level language model: Unicode
// runes → Embedding → LSTM (1–2 layers) → Linear over the vocabulary,
// trained with cross-entropy and Adam by truncated backpropagation through
// time (the recurrent state is carried, detached, from one chunk of a track
// to the next), with gradient clipping by global norm. It also owns the
// model's weight file (the vocabulary rides in the metadata), bits per
// character on a text, and seeded sampling that continues a prompt.
//
// The text GAN (package textgan) uses the same model as its generator, fed
// soft embeddings (a distribution over the vocabulary times the embedding
// matrix) through ForwardEmbedded.
//
// Parameter names follow PyTorch: embed.weight [V,E]; lstm.weight_ih_l0
// [4H,E], lstm.weight_hh_l0 [4H,H], lstm.bias_ih_l0, lstm.bias_hh_l0 (and
// _l1 for a second layer); head.weight [V,H], head.bias [V] — the state
// dict of the PyTorch module in bench/pytorch/charlm.py.
//
// A Model is not safe for concurrent use: inference (BitsPerChar, Sample)
// briefly marks the parameters as not requiring gradients.
package charlm

import (
	"encoding/json"
	"fmt"
	"maps"

	"github.com/ingotml/ingot/data"
	"github.com/ingotml/ingot/nn"
	"github.com/ingotml/ingot/tensor"
)

// Family is the model family recorded in charlm weight files.
const Family = "charlm"

// MetaVocab is the metadata key holding the vocabulary (data.Vocab's JSON).
const MetaVocab = "ingot.vocab"

// Limits on a configuration, so that a weight file's metadata cannot ask
// for an absurd model.
const (
	MaxLayers = 2
	MaxWidth  = 8192
	MaxVocab  = 1 << 20
	MaxParams = 1 << 28 // 1 GiB of float32 weights
)

// NumParams is the number of trainable scalars of a model of c.
func (c Config) NumParams() int {
	n := c.Vocab*c.Embed + c.Hidden*c.Vocab + c.Vocab
	in := c.Embed
	for range c.Layers {
		n += 4*c.Hidden*(in+c.Hidden) + 8*c.Hidden
		in = c.Hidden
	}
	return n
}

// Config is the model's architecture. It is stored as JSON in the weight
// file's metadata (nn.MetaConfig).
type Config struct {
	Vocab  int `json:"vocab"`  // vocabulary size, including the unknown id 0
	Embed  int `json:"embed"`  // embedding size
	Hidden int `json:"hidden"` // LSTM hidden size
	Layers int `json:"layers"` // LSTM layers, 1 or 2
}

// DefaultConfig is the default architecture for a vocabulary of size v.
func DefaultConfig(v int) Config { return Config{Vocab: v, Embed: 64, Hidden: 256, Layers: 1} }

// Validate reports an out-of-range configuration.
func (c Config) Validate() error {
	switch {
	case c.Vocab < 2 || c.Vocab > MaxVocab:
		return fmt.Errorf("charlm: vocabulary size %d, want 2..%d", c.Vocab, MaxVocab)
	case c.Embed < 1 || c.Embed > MaxWidth:
		return fmt.Errorf("charlm: embedding size %d, want 1..%d", c.Embed, MaxWidth)
	case c.Hidden < 1 || c.Hidden > MaxWidth:
		return fmt.Errorf("charlm: hidden size %d, want 1..%d", c.Hidden, MaxWidth)
	case c.Layers < 1 || c.Layers > MaxLayers:
		return fmt.Errorf("charlm: %d LSTM layers, want 1..%d", c.Layers, MaxLayers)
	case c.NumParams() > MaxParams:
		return fmt.Errorf("charlm: %+v has %d parameters, more than the limit %d", c, c.NumParams(), MaxParams)
	}
	return nil
}

// Model is the character LSTM.
type Model struct {
	nn.Base
	Config Config
	Vocab  *data.Vocab
	Embed  *nn.Embedding
	LSTM   *nn.LSTM
	Head   *nn.Linear
}

// New builds a model on d (nil: the CPU) with PyTorch's default
// initialisation drawn from rng. cfg.Vocab must equal vocab.Size().
func New(d tensor.Device, rng *tensor.RNG, vocab *data.Vocab, cfg Config) (*Model, error) {
	if vocab == nil {
		return nil, fmt.Errorf("charlm: no vocabulary")
	}
	if cfg.Vocab == 0 {
		cfg.Vocab = vocab.Size()
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Vocab != vocab.Size() {
		return nil, fmt.Errorf("charlm: configuration says %d symbols, the vocabulary has %d", cfg.Vocab, vocab.Size())
	}
	if d == nil {
		d = tensor.CPU()
	}
	m := &Model{Config: cfg, Vocab: vocab}
	m.Embed = nn.NewEmbedding(d, rng, cfg.Vocab, cfg.Embed)
	m.LSTM = nn.NewLSTM(d, rng, nn.RNNConfig{InputSize: cfg.Embed, HiddenSize: cfg.Hidden, NumLayers: cfg.Layers})
	m.Head = nn.NewLinear(d, rng, cfg.Hidden, cfg.Vocab)
	m.AddModule("embed", m.Embed)
	m.AddModule("lstm", m.LSTM)
	m.AddModule("head", m.Head)
	return m, nil
}

// Device is the device holding the model's parameters.
func (m *Model) Device() tensor.Device { return m.Embed.Weight.T.Device() }

// Forward runs int32 ids [T,B] (time-major) from state s (nil parts:
// zeros) and returns the logits [T,B,V] and the final state.
func (m *Model) Forward(ids *tensor.Tensor, s nn.LSTMState) (*tensor.Tensor, nn.LSTMState) {
	if ids.Rank() != 2 {
		panic(fmt.Sprintf("charlm.Forward: ids %v, want int32 [T B]", ids))
	}
	x := m.Embed.Forward(ids)
	y, st := m.ForwardEmbedded(x, s)
	if !x.RequiresGrad() {
		x.Release()
	}
	return y, st
}

// SoftEmbed maps distributions over the vocabulary [..., V] to their
// expected embeddings p·E [..., E], differentiable in p and in E. A one-hot
// row gives exactly that symbol's embedding.
func (m *Model) SoftEmbed(p *tensor.Tensor) *tensor.Tensor {
	return SoftEmbed(p, m.Embed.Weight.T)
}

// SoftEmbed is p [..., V] times table [V, E].
func SoftEmbed(p, table *tensor.Tensor) *tensor.Tensor {
	V, E := table.Dim(0), table.Dim(1)
	if p.Dim(-1) != V {
		panic(fmt.Sprintf("charlm.SoftEmbed: distribution %v over a table of %d rows", p, V))
	}
	shape := append([]int(nil), p.Shape()...)
	p2 := p.Reshape(-1, V)
	y := tensor.MatMul(p2, table)
	shape[len(shape)-1] = E
	out := y.Reshape(shape...)
	if !out.RequiresGrad() {
		p2.Release()
		y.Release()
	}
	return out
}

// ForwardEmbedded runs embedded inputs x [T,B,E] (hard or soft) from state
// s and returns the logits [T,B,V] and the final state.
func (m *Model) ForwardEmbedded(x *tensor.Tensor, s nn.LSTMState) (*tensor.Tensor, nn.LSTMState) {
	T, B := x.Dim(0), x.Dim(1)
	y, st := m.LSTM.ForwardState(x, s)
	y2 := y.Reshape(T*B, m.Config.Hidden)
	l := m.Head.Forward(y2)
	logits := l.Reshape(T, B, m.Config.Vocab)
	if !logits.RequiresGrad() {
		for _, t := range []*tensor.Tensor{y, y2, l} {
			t.Release()
		}
	}
	return logits, st
}

// noGrad runs f with m's parameters marked as not requiring gradients, so
// nothing is recorded, and restores them.
func (m *Model) noGrad(f func()) {
	ps := nn.Trainable(m)
	for _, p := range ps {
		p.T.SetRequiresGrad(false)
	}
	defer func() {
		for _, p := range ps {
			p.T.SetRequiresGrad(true)
		}
	}()
	f()
}

// Meta returns the weight-file metadata that rebuilds m: family, config
// and vocabulary, plus extra entries.
func (m *Model) Meta(family string, extra map[string]string) (map[string]string, error) {
	cfg, err := json.Marshal(m.Config)
	if err != nil {
		return nil, err
	}
	voc, err := json.Marshal(m.Vocab)
	if err != nil {
		return nil, err
	}
	meta := map[string]string{nn.MetaFamily: family, nn.MetaConfig: string(cfg), MetaVocab: string(voc)}
	maps.Copy(meta, extra)
	return meta, nil
}

// Save writes m's weights to path (".safetensors.zst" compresses) with
// its configuration and vocabulary in the metadata.
func (m *Model) Save(path string, extra map[string]string) error {
	meta, err := m.Meta(Family, extra)
	if err != nil {
		return err
	}
	return nn.Save(path, m, meta)
}

// FromMeta builds an untrained model (weights to be loaded) on d from the
// configuration and vocabulary in weight-file metadata. The config key is
// nn.MetaConfig unless configKey is given.
func FromMeta(d tensor.Device, meta map[string]string, configKey string) (*Model, error) {
	if configKey == "" {
		configKey = nn.MetaConfig
	}
	raw, ok := meta[configKey]
	if !ok {
		return nil, fmt.Errorf("charlm: the weight file has no %q metadata (not a character model?)", configKey)
	}
	var cfg Config
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		return nil, fmt.Errorf("charlm: metadata %q: %w", configKey, err)
	}
	rawVocab, ok := meta[MetaVocab]
	if !ok {
		return nil, fmt.Errorf("charlm: the weight file has no %q metadata (no vocabulary)", MetaVocab)
	}
	var v data.Vocab
	if err := json.Unmarshal([]byte(rawVocab), &v); err != nil {
		return nil, fmt.Errorf("charlm: metadata %q: %w", MetaVocab, err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%w (in the weight file's metadata)", err)
	}
	return New(d, tensor.NewRNG(0), &v, cfg)
}

// Load reads a charlm weight file onto d (nil: the CPU): it rebuilds the
// model from the metadata and loads its weights strictly.
func Load(path string, d tensor.Device) (*Model, map[string]string, error) {
	meta, err := nn.ReadMeta(path)
	if err != nil {
		return nil, nil, err
	}
	if f := meta[nn.MetaFamily]; f != Family {
		return nil, nil, fmt.Errorf("charlm: %s holds a %q model, not a %q one", path, f, Family)
	}
	m, err := FromMeta(d, meta, "")
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if _, err := nn.Load(path, m); err != nil {
		return nil, nil, err
	}
	return m, meta, nil
}

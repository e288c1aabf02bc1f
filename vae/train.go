package vae

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"

	"github.com/ingotml/ingot/data"
	"github.com/ingotml/ingot/nn"
	"github.com/ingotml/ingot/nn/optim"
	"github.com/ingotml/ingot/tensor"
	"github.com/ingotml/ingot/train"
)

// TrainConfig configures Train. Zero fields take the defaults of
// DefaultTrainConfig.
type TrainConfig struct {
	Model     Config
	Epochs    int
	Batch     int
	LR        float64 // Adam's learning rate (betas 0.9, 0.999, eps 1e-8)
	Beta      float64 // weight of the KL term
	Seed      uint64  // initialisation, shuffling, noise
	Dir       string  // output directory
	Resume    bool
	Device    tensor.Device // nil: tensor.Default()
	Out       io.Writer     // progress and epoch lines (nil: none)
	Quiet     bool
	EvalEvery int // extra test evaluations every N steps (0: per epoch)
}

// Default training settings: the classic VAE recipe (batch 128, Adam 1e-3,
// β = 1) for DefaultEpochs epochs.
const (
	DefaultEpochs = 10
	DefaultBatch  = 128
	DefaultLR     = 1e-3
	DefaultBeta   = 1.0
	DefaultSeed   = 1
)

func (c TrainConfig) withDefaults() TrainConfig {
	c.Model = c.Model.withDefaults()
	if c.Epochs == 0 {
		c.Epochs = DefaultEpochs
	}
	if c.Batch == 0 {
		c.Batch = DefaultBatch
	}
	if c.LR == 0 {
		c.LR = DefaultLR
	}
	if c.Beta == 0 {
		c.Beta = DefaultBeta
	}
	if c.Dir == "" {
		c.Dir = "."
	}
	return c
}

// Validate checks the settings.
func (c TrainConfig) Validate() error {
	if err := c.Model.Validate(); err != nil {
		return err
	}
	switch {
	case c.Epochs < 0:
		return fmt.Errorf("vae: epochs %d, must be positive", c.Epochs)
	case c.Batch < 0:
		return fmt.Errorf("vae: batch size %d, must be positive", c.Batch)
	case c.LR < 0 || math.IsNaN(c.LR) || math.IsInf(c.LR, 0):
		return fmt.Errorf("vae: learning rate %v, must be positive and finite", c.LR)
	case c.Beta < 0 || math.IsNaN(c.Beta) || math.IsInf(c.Beta, 0):
		return fmt.Errorf("vae: beta %v, must be non-negative and finite", c.Beta)
	}
	return nil
}

// Output file names in TrainConfig.Dir.
const (
	WeightsFile         = "vae.safetensors.zst"
	SamplesFile         = "samples.png"
	ReconstructionsFile = "reconstructions.png"
	InterpolationFile   = "interpolation.png"
	LossPlotFile        = "loss.png"
)

// Trainer is the VAE's train.Task: one Adam step per batch on the
// reparameterised loss, evaluation on a test set, checkpoint state, and
// the pictures after each epoch.
type Trainer struct {
	Model *Model
	cfg   TrainConfig
	opt   *optim.Adam
	noise *tensor.RNG
	test  *data.Images
	beta  float32
}

// NewTrainer builds a model and its optimizer on d for cfg; test (may be
// nil) is the evaluation set.
func NewTrainer(d tensor.Device, cfg TrainConfig, test *data.Images) (*Trainer, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m, err := New(d, tensor.NewRNG(cfg.Seed), cfg.Model)
	if err != nil {
		return nil, err
	}
	opt, err := optim.NewAdam(nn.Trainable(m), optim.AdamConfig{LR: cfg.LR, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8})
	if err != nil {
		return nil, err
	}
	return &Trainer{Model: m, cfg: cfg, opt: opt, noise: tensor.NewRNG(cfg.Seed).Stream(1), test: test, beta: float32(cfg.Beta)}, nil
}

// Step implements train.Task: it trains on one batch of images in [0, 1]
// and returns the per-image loss, recon and kl. On an asynchronous device
// the whole step is queued and reading the three numbers is its only
// round trip.
func (t *Trainer) Step(_ context.Context, b *data.Batch) (train.Metrics, error) {
	c := t.Model.Config
	if b.Rows != c.Height || b.Cols != c.Width {
		return nil, fmt.Errorf("vae: batch of %d×%d images for a model of %d×%d", b.Rows, b.Cols, c.Height, c.Width)
	}
	d := t.Model.Device()
	x := tensor.FromFloat32(d, b.X, b.N, c.Channels, c.Height, c.Width)
	vals := t.Model.Backward(x, t.noise, t.beta)
	t.opt.Step()
	// nn.ZeroGrad rather than the optimizer's ZeroGrad, which zeroes
	// nothing in this version of nn/optim.
	nn.ZeroGrad(t.Model)
	v := vals.Float32s()
	vals.Release()
	x.Release()
	return train.Metrics{"loss": float64(v[0]), "recon": float64(v[1]), "kl": float64(v[2])}, nil
}

// Evaluate implements train.Task: Evaluate on the test set.
func (t *Trainer) Evaluate(ctx context.Context) (train.Metrics, error) {
	if t.test == nil {
		return nil, nil
	}
	e, err := Evaluate(ctx, t.Model, t.test)
	if err != nil {
		return nil, err
	}
	return train.Metrics{"loss": e.Loss, "recon": e.Recon, "kl": e.KL}, nil
}

// State implements train.Task: the model's tensors, Adam's state under
// "optim.", the noise RNG's position and the model's metadata.
func (t *Trainer) State() (map[string]*tensor.Tensor, map[string]string, error) {
	ts, err := nn.StateDict(t.Model)
	if err != nil {
		return nil, nil, err
	}
	for k, v := range t.opt.State() {
		ts[k] = v
	}
	meta := t.Model.Meta()
	seed, stream, counter := t.noise.State()
	meta["vae.noise_rng"] = fmt.Sprintf("%d %d %d", seed, stream, counter)
	return ts, meta, nil
}

// LoadState implements train.Task.
func (t *Trainer) LoadState(ts map[string]*tensor.Tensor, meta map[string]string) error {
	if meta[nn.MetaConfig] != t.Model.Config.JSON() {
		return fmt.Errorf("the checkpoint's model %s differs from %s", meta[nn.MetaConfig], t.Model.Config.JSON())
	}
	opt, model := nn.SplitPrefix(ts, optim.StatePrefix)
	if err := copyState(t.Model, model); err != nil {
		return err
	}
	full := make(map[string]*tensor.Tensor, len(opt))
	for k, v := range opt {
		full[optim.StatePrefix+k] = v
	}
	if err := t.opt.LoadState(full); err != nil {
		return err
	}
	var seed, stream, counter uint64
	if _, err := fmt.Sscanf(meta["vae.noise_rng"], "%d %d %d", &seed, &stream, &counter); err != nil {
		return fmt.Errorf("noise RNG state %q: %w", meta["vae.noise_rng"], err)
	}
	t.noise.SetState(seed, stream, counter)
	return nil
}

// copyState copies tensors into m's parameters in place, strictly (same
// names, shapes and dtypes). In place matters: the optimizer holds its own
// *nn.Param copies of nested parameters, which nn.LoadStateDict's
// replacement tensors would not reach.
func copyState(m nn.Module, ts map[string]*tensor.Tensor) error {
	ps := m.Params()
	for _, p := range ps {
		t, ok := ts[p.Name]
		if !ok {
			return fmt.Errorf("tensor %q is missing", p.Name)
		}
		if !slices.Equal(t.Shape(), p.T.Shape()) || t.DType() != p.T.DType() || p.T.DType() != tensor.Float32 {
			return fmt.Errorf("tensor %q is %v, the model has %v", p.Name, t, p.T)
		}
	}
	if len(ts) != len(ps) {
		return fmt.Errorf("%d tensors for a model of %d", len(ts), len(ps))
	}
	for _, p := range ps {
		p.T.CopyFrom(ts[p.Name].Float32s())
	}
	return nil
}

// EndEpoch implements train.EpochEnder: it writes the weights and the
// pictures, so they are there (and current) after every epoch.
func (t *Trainer) EndEpoch(_ context.Context, rec train.EpochRecord) error {
	return t.WriteOutputs(t.cfg.Dir, map[string]string{"vae.epochs": fmt.Sprint(rec.Epoch)})
}

// WriteOutputs writes the weight file and the pictures to dir: 64 samples
// from a fixed prior draw (seeded by the training seed, so grids of
// successive epochs are comparable), 32 test images above their
// reconstructions, and latent interpolations between test images of
// different classes.
func (t *Trainer) WriteOutputs(dir string, meta map[string]string) error {
	m := t.Model
	if err := m.Save(filepath.Join(dir, WeightsFile), meta); err != nil {
		return err
	}
	s := m.Sample(tensor.NewRNG(t.cfg.Seed).Stream(2), 64)
	err := train.WriteGrid(filepath.Join(dir, SamplesFile), s, train.GridOptions{Cols: 8, Zoom: 2})
	s.Release()
	if err != nil || t.test == nil {
		return err
	}
	if err := WriteReconstructions(filepath.Join(dir, ReconstructionsFile), m, t.test, 32); err != nil {
		return err
	}
	return WriteInterpolations(filepath.Join(dir, InterpolationFile), m, t.test, 10)
}

// imagesTensor is images idx of set as [n, 1, H, W] in [0, 1] on d.
func imagesTensor(d tensor.Device, set *data.Images, idx []int) *tensor.Tensor {
	sz := set.Rows * set.Cols
	x := make([]float32, 0, len(idx)*sz)
	for _, i := range idx {
		for _, p := range set.Image(i) {
			x = append(x, float32(p)/255)
		}
	}
	return tensor.FromFloat32(d, x, len(idx), 1, set.Rows, set.Cols)
}

// WriteReconstructions writes a PNG of the first n test images (n a
// multiple of 8) in rows of 8, each row followed by its reconstructions.
func WriteReconstructions(path string, m *Model, set *data.Images, n int) error {
	n = min(n, set.N) / 8 * 8
	if n == 0 {
		return errors.New("vae: fewer than 8 images to reconstruct")
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	x := imagesTensor(m.Device(), set, idx)
	r := m.Reconstruct(x)
	var rows []*tensor.Tensor
	for i := 0; i < n; i += 8 {
		rows = append(rows, x.Slice(0, i, i+8), r.Slice(0, i, i+8))
	}
	grid := tensor.Concat(0, rows...)
	err := train.WriteGrid(path, grid, train.GridOptions{Cols: 8, Zoom: 2})
	grid.Release()
	r.Release()
	x.Release()
	return err
}

// WriteInterpolations writes a PNG with one row per pair of classes
// (0→1, 2→3, …): steps images from the first test image of one class to
// the first of the other, through the latent means.
func WriteInterpolations(path string, m *Model, set *data.Images, steps int) error {
	first := map[int32]int{}
	for i, l := range set.Labels {
		if _, ok := first[l]; !ok {
			first[l] = i
		}
	}
	var rows []*tensor.Tensor
	for c := int32(0); c+1 < 10; c += 2 {
		a, okA := first[c]
		b, okB := first[c+1]
		if !okA || !okB {
			continue
		}
		pair := imagesTensor(m.Device(), set, []int{a, b})
		rows = append(rows, m.Interpolate(pair.Slice(0, 0, 1), pair.Slice(0, 1, 2), steps))
	}
	if len(rows) == 0 {
		return errors.New("vae: the test set has no two classes to interpolate between")
	}
	grid := tensor.Concat(0, rows...)
	return train.WriteGrid(path, grid, train.GridOptions{Cols: steps, Zoom: 2})
}

// Result is what Train produced.
type Result struct {
	Model   *Model
	History *train.History
	Test    Eval // the final model on the test set
	Dir     string
}

// Settings is the string that identifies a run's hyperparameters in its
// checkpoint (everything but the epoch count).
func (c TrainConfig) settings(ds *data.Dataset) string {
	b, _ := json.Marshal(struct {
		Model       json.RawMessage `json:"model"`
		Batch       int             `json:"batch"`
		LR, Beta    float64
		Seed        uint64 `json:"seed"`
		Data        string `json:"data"`
		Device      string `json:"device"`
		Train, Test int
	}{json.RawMessage(c.Model.JSON()), c.Batch, c.LR, c.Beta, c.Seed, ds.Source.String(), c.Device.Name(), ds.Train.N, ds.Test.N})
	return string(b)
}

// Train trains a VAE on ds as cfg says, writing to cfg.Dir the weight file,
// the checkpoint, metrics.json, the loss plot, samples, reconstructions
// and interpolations.
func Train(ctx context.Context, ds *data.Dataset, cfg TrainConfig) (*Result, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Device == nil {
		d, err := tensor.Default()
		if err != nil {
			return nil, err
		}
		cfg.Device = d
	}
	c := cfg.Model
	if c.Channels != 1 || c.Height != ds.Train.Rows || c.Width != ds.Train.Cols {
		return nil, fmt.Errorf("vae: the model takes %d×%d×%d images, the data has 1×%d×%d", c.Channels, c.Height, c.Width, ds.Train.Rows, ds.Train.Cols)
	}
	if ds.Train.N < cfg.Batch {
		return nil, fmt.Errorf("vae: batch size %d is larger than the %d training images", cfg.Batch, ds.Train.N)
	}
	tr, err := NewTrainer(cfg.Device, cfg, ds.Test)
	if err != nil {
		return nil, err
	}
	// Drop the last short batch: every step then has the same shape (and
	// the same cost), as in the PyTorch reference.
	ld, err := data.NewLoader(ds.Train, cfg.Batch, data.LoaderOptions{Seed: cfg.Seed, Shuffle: true, DropLast: true})
	if err != nil {
		return nil, err
	}
	h, err := train.Run(ctx, train.Config[data.Batch]{
		Epochs: cfg.Epochs, Dir: cfg.Dir, Device: cfg.Device, Resume: cfg.Resume,
		Settings: cfg.settings(ds),
		Items:    func(b *data.Batch) int { return b.N }, ItemName: "img",
		EvalEvery: cfg.EvalEvery,
		Plots: []train.Plot{{File: LossPlotFile, Title: "VAE loss (recon + β·KL)", YLabel: "nats per image", Metrics: []string{"loss"}},
			{File: "kl.png", Title: "VAE KL term", YLabel: "nats per image", Metrics: []string{"kl"}}},
		Out: cfg.Out, Quiet: cfg.Quiet,
	}, tr, ld)
	res := &Result{Model: tr.Model, History: h, Dir: cfg.Dir}
	if err != nil {
		return res, err
	}
	if n := len(h.Epochs); n > 0 && h.Epochs[n-1].Test != nil {
		t := h.Epochs[n-1].Test
		res.Test = Eval{Recon: t["recon"], KL: t["kl"], Loss: t["loss"], Images: ds.Test.N}
	}
	return res, nil
}

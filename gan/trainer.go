package gan

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ingotml/ingot/data"
	"github.com/ingotml/ingot/gan/classifier"
	"github.com/ingotml/ingot/nn"
	"github.com/ingotml/ingot/nn/optim"
	"github.com/ingotml/ingot/tensor"
	"github.com/ingotml/ingot/train"
)

// TrainConfig configures Train. Zero fields take the defaults.
type TrainConfig struct {
	Model  Config
	Step   StepConfig
	Epochs int
	Batch  int
	LR     float64 // Adam's learning rate for both players (default 2e-4)
	Beta1  float64 // Adam's β1 (default 0.5; β2 is 0.999)
	Seed   uint64  // initialisation, shuffling, noise
	// InitGenerator is a VAE weight file whose decoder becomes the
	// generator (see NewFromVAE); Model.Arch must then be ArchVAE or empty.
	InitGenerator string
	EvalImages    int // held-out real and generated images for the D metrics (default 1000)
	Dir           string
	Resume        bool
	Device        tensor.Device // nil: tensor.Default()
	Out           io.Writer
	Quiet         bool
	// NoCheckpoint skips checkpoints (benchmarks).
	NoCheckpoint bool
}

// Defaults.
const (
	DefaultBatch      = 64
	DefaultLR         = 2e-4
	DefaultBeta1      = 0.5
	DefaultSeed       = 1
	DefaultEvalImages = 1000
	DefaultEpochsMLP  = 20
	DefaultEpochsConv = 5
)

func (c TrainConfig) withDefaults() TrainConfig {
	if c.Model.Arch == "" && c.InitGenerator != "" {
		c.Model.Arch = ArchVAE
	}
	if c.Model.Arch != ArchVAE {
		c.Model = c.Model.withDefaults()
	}
	c.Step = c.Step.withDefaults()
	if c.Epochs == 0 {
		c.Epochs = DefaultEpochsMLP
		if c.Model.Arch == ArchDCGAN {
			c.Epochs = DefaultEpochsConv
		}
	}
	if c.Batch == 0 {
		c.Batch = DefaultBatch
	}
	if c.LR == 0 {
		c.LR = DefaultLR
	}
	if c.Beta1 == 0 {
		c.Beta1 = DefaultBeta1
	}
	if c.EvalImages == 0 {
		c.EvalImages = DefaultEvalImages
	}
	if c.Dir == "" {
		c.Dir = "."
	}
	return c
}

// Validate checks the settings.
func (c TrainConfig) Validate() error {
	c = c.withDefaults()
	if c.Model.Arch != ArchVAE {
		if err := c.Model.Validate(); err != nil {
			return err
		}
	} else if c.InitGenerator == "" {
		return fmt.Errorf("gan: architecture %q needs a VAE weight file to start from", ArchVAE)
	}
	if err := c.Step.Validate(); err != nil {
		return err
	}
	switch {
	case c.Epochs < 0:
		return fmt.Errorf("gan: epochs %d, must be positive", c.Epochs)
	case c.Batch < 2:
		return fmt.Errorf("gan: batch size %d, must be at least 2", c.Batch)
	case !(c.LR > 0) || math.IsInf(c.LR, 0):
		return fmt.Errorf("gan: learning rate %v, must be positive and finite", c.LR)
	case !(c.Beta1 >= 0 && c.Beta1 < 1):
		return fmt.Errorf("gan: beta1 %v, want a value in [0, 1)", c.Beta1)
	case c.EvalImages < 0:
		return fmt.Errorf("gan: %d evaluation images, must be ≥ 0", c.EvalImages)
	}
	return nil
}

// Output files in TrainConfig.Dir.
const (
	WeightsFile  = "gan.safetensors.zst"
	SamplesFile  = "samples.png"      // fixed-noise grid after the last epoch
	EpochSamples = "samples_%03d.png" // fixed-noise grid after each epoch
	LossPlotFile = "loss.png"
	DPlotFile    = "discriminator.png"
)

// RNG streams of the training seed.
const (
	streamInit     = 0 // weights
	streamNoise    = 1 // the generator's z during training
	streamInstance = 2 // instance noise
	streamFixed    = 3 // the fixed grid noise
	streamEval     = 4 // evaluation noise (redrawn identically each time)
)

// Trainer is the image GANs' train.Task: one Adversarial step per batch of
// real images in [−1, 1], the discriminator metrics on held-out data,
// checkpoint state and the fixed-noise grids.
type Trainer struct {
	Model *Model
	Adv   *Adversarial
	cfg   TrainConfig
	noise *tensor.RNG
	inst  *tensor.RNG
	fixed *tensor.Tensor // [64, Noise], the grid's noise
	test  *data.Images
	step  int // global steps done
}

// NewTrainer builds the model (from cfg, or from cfg.InitGenerator) and
// its optimizers on d; test (may be nil) gives the held-out real images.
func NewTrainer(d tensor.Device, cfg TrainConfig, test *data.Images) (*Trainer, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rng := tensor.NewRNG(cfg.Seed)
	var m *Model
	var err error
	if cfg.InitGenerator != "" {
		m, err = NewFromVAE(d, rng.Stream(streamInit), cfg.InitGenerator, cfg.Model)
	} else {
		m, err = New(d, rng.Stream(streamInit), cfg.Model)
	}
	if err != nil {
		return nil, err
	}
	t := &Trainer{Model: m, cfg: cfg, noise: rng.Stream(streamNoise), inst: rng.Stream(streamInstance), test: test}
	t.cfg.Model = m.Config
	adam := DefaultAdam()
	adam.LR, adam.Beta1 = cfg.LR, cfg.Beta1
	t.Adv, err = NewAdversarial(m.Players(t.noise), cfg.Step, adam, t.inst)
	if err != nil {
		return nil, err
	}
	t.fixed = m.Noise(rng.Stream(streamFixed), 64)
	return t, nil
}

// Step implements train.Task on a batch of images scaled to [−1, 1].
func (t *Trainer) Step(_ context.Context, b *data.Batch) (train.Metrics, error) {
	c := t.Model.Config
	if b.Rows != c.Height || b.Cols != c.Width || c.Channels != 1 {
		return nil, fmt.Errorf("gan: batch of 1×%d×%d images for a model of %d×%d×%d", b.Rows, b.Cols, c.Channels, c.Height, c.Width)
	}
	x := tensor.FromFloat32(t.Model.Device(), b.X, b.N, 1, b.Rows, b.Cols)
	s, err := t.Adv.Step(t.step, x)
	x.Release()
	if err != nil {
		return nil, err
	}
	t.step++
	return train.Metrics{"d_loss": s.DLoss, "g_loss": s.GLoss, "d_real": s.DReal, "d_fake": s.DFake}, nil
}

// EvaluateDiscriminator classifies the first n images of test (scaled to
// [−1, 1]) and n images generated from noise of rng, with both networks in
// eval mode, and counts the decisions.
func EvaluateDiscriminator(ctx context.Context, m *Model, test *data.Images, n int, rng *tensor.RNG) (Confusion, error) {
	n = min(n, test.N)
	var c Confusion
	const chunk = 250
	for i := 0; i < n; i += chunk {
		if err := ctx.Err(); err != nil {
			return c, err
		}
		k := min(chunk, n-i)
		real := classifier.SignedImages(m.Device(), test, i, i+k)
		z := m.Noise(rng, k)
		fake := m.Sample(z)
		c = c.Add(Classify(m.Logits(real), m.Logits(fake)))
		real.Release()
		z.Release()
		fake.Release()
	}
	return c, nil
}

// Evaluate implements train.Task: the discriminator's accuracy, precision,
// recall and F1 on held-out real images against as many generated ones
// (noise redrawn identically each time, so epochs are comparable).
func (t *Trainer) Evaluate(ctx context.Context) (train.Metrics, error) {
	if t.test == nil || t.cfg.EvalImages == 0 {
		return nil, nil
	}
	c, err := EvaluateDiscriminator(ctx, t.Model, t.test, t.cfg.EvalImages, tensor.NewRNG(t.cfg.Seed).Stream(streamEval))
	if err != nil {
		return nil, err
	}
	return c.Metrics(), nil
}

// State implements train.Task: the model's tensors, both optimizers' states
// ("optim.generator.…", "optim.discriminator.…"), the RNG positions and the
// step counter.
func (t *Trainer) State() (map[string]*tensor.Tensor, map[string]string, error) {
	ts, err := nn.StateDict(t.Model)
	if err != nil {
		return nil, nil, err
	}
	for k, v := range t.Adv.OptG.State() {
		ts[k] = v
	}
	for k, v := range t.Adv.OptD.State() {
		ts[k] = v
	}
	meta := t.Model.Meta()
	meta["gan.noise_rng"] = rngState(t.noise)
	meta["gan.instance_rng"] = rngState(t.inst)
	meta["gan.step"] = strconv.Itoa(t.step)
	return ts, meta, nil
}

func rngState(r *tensor.RNG) string {
	s, st, c := r.State()
	return fmt.Sprintf("%d %d %d", s, st, c)
}

func setRNG(r *tensor.RNG, key string, meta map[string]string) error {
	var s, st, c uint64
	if _, err := fmt.Sscanf(meta[key], "%d %d %d", &s, &st, &c); err != nil {
		return fmt.Errorf("%s %q: %w", key, meta[key], err)
	}
	r.SetState(s, st, c)
	return nil
}

// LoadState implements train.Task.
func (t *Trainer) LoadState(ts map[string]*tensor.Tensor, meta map[string]string) error {
	if meta[nn.MetaConfig] != t.Model.Config.JSON() {
		return fmt.Errorf("the checkpoint's model %s differs from %s", meta[nn.MetaConfig], t.Model.Config.JSON())
	}
	opt, model := nn.SplitPrefix(ts, optim.StatePrefix)
	if err := nn.LoadStateDict(t.Model, model); err != nil {
		return err
	}
	og, od := map[string]*tensor.Tensor{}, map[string]*tensor.Tensor{}
	for k, v := range opt {
		if strings.HasPrefix(k, "generator.") {
			og[optim.StatePrefix+k] = v
		} else {
			od[optim.StatePrefix+k] = v
		}
	}
	if err := t.Adv.OptG.LoadState(og); err != nil {
		return err
	}
	if err := t.Adv.OptD.LoadState(od); err != nil {
		return err
	}
	if err := setRNG(t.noise, "gan.noise_rng", meta); err != nil {
		return err
	}
	if err := setRNG(t.inst, "gan.instance_rng", meta); err != nil {
		return err
	}
	n, err := strconv.Atoi(meta["gan.step"])
	if err != nil || n < 0 {
		return fmt.Errorf("gan.step %q is not a step count", meta["gan.step"])
	}
	t.step = n
	return nil
}

// EndEpoch implements train.EpochEnder: the weight file and the fixed-noise
// grid of this epoch (and samples.png, the latest).
func (t *Trainer) EndEpoch(_ context.Context, rec train.EpochRecord) error {
	if err := t.Model.Save(filepath.Join(t.cfg.Dir, WeightsFile)); err != nil {
		return err
	}
	s := t.Model.Sample(t.fixed)
	defer s.Release()
	o := train.GridOptions{Cols: 8, Lo: -1, Hi: 1, Zoom: 2}
	if err := train.WriteGrid(filepath.Join(t.cfg.Dir, fmt.Sprintf(EpochSamples, rec.Epoch)), s, o); err != nil {
		return err
	}
	return train.WriteGrid(filepath.Join(t.cfg.Dir, SamplesFile), s, o)
}

// Result is what Train produced.
type Result struct {
	Model   *Model
	History *train.History
	Dir     string
}

func (c TrainConfig) settings(ds *data.Dataset, d tensor.Device) string {
	b, _ := json.Marshal(struct {
		Model       json.RawMessage `json:"model"`
		Step        StepConfig      `json:"step"`
		Batch       int             `json:"batch"`
		LR, Beta1   float64
		Seed        uint64 `json:"seed"`
		Init        string `json:"init_generator"`
		Data        string `json:"data"`
		Device      string `json:"device"`
		Train, Test int
	}{json.RawMessage(c.Model.JSON()), c.Step, c.Batch, c.LR, c.Beta1, c.Seed, c.InitGenerator, ds.Source.String(), d.Name(), ds.Train.N, ds.Test.N})
	return string(b)
}

// Train trains a GAN on ds's training images as cfg says, writing to
// cfg.Dir the weight file, the checkpoint, metrics.json, the loss and
// discriminator plots and the fixed-noise sample grids.
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
	if ds.Train.N < cfg.Batch {
		return nil, fmt.Errorf("gan: batch size %d is larger than the %d training images", cfg.Batch, ds.Train.N)
	}
	tr, err := NewTrainer(cfg.Device, cfg, ds.Test)
	if err != nil {
		return nil, err
	}
	c := tr.Model.Config
	if c.Channels != 1 || c.Height != ds.Train.Rows || c.Width != ds.Train.Cols {
		return nil, fmt.Errorf("gan: the model makes %d×%d×%d images, the data has 1×%d×%d", c.Channels, c.Height, c.Width, ds.Train.Rows, ds.Train.Cols)
	}
	ld, err := data.NewLoader(ds.Train, cfg.Batch, data.LoaderOptions{Seed: cfg.Seed, Shuffle: true, DropLast: true, Scale: data.ScaleSigned})
	if err != nil {
		return nil, err
	}
	cfg.Model = c
	h, err := train.Run(ctx, train.Config[data.Batch]{
		Epochs: cfg.Epochs, Dir: cfg.Dir, Device: cfg.Device, Resume: cfg.Resume,
		Settings: cfg.settings(ds, cfg.Device),
		Items:    func(b *data.Batch) int { return b.N }, ItemName: "img",
		Plots: []train.Plot{
			{File: LossPlotFile, Title: "GAN losses (non-saturating)", YLabel: "BCE per image", Metrics: []string{"d_loss", "g_loss"}},
			{File: DPlotFile, Title: "Discriminator on held-out real vs generated", YLabel: "score", Metrics: []string{"d_accuracy", "d_f1", "d_real", "d_fake"}},
		},
		Out: cfg.Out, Quiet: cfg.Quiet, NoCheckpoint: cfg.NoCheckpoint,
	}, tr, ld)
	return &Result{Model: tr.Model, History: h, Dir: cfg.Dir}, err
}

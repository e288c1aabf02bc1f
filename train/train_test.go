package train_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ingotml/ingot/data"
	"github.com/ingotml/ingot/nn"
	"github.com/ingotml/ingot/nn/optim"
	"github.com/ingotml/ingot/tensor"
	"github.com/ingotml/ingot/train"
)

// regression is a tiny Task: a linear model of 4 pixels fitted by Adam to
// a fixed linear target, with RNG noise on the target so that the RNG
// state matters for exact resume.
type regression struct {
	d     tensor.Device
	model *nn.Linear
	opt   *optim.Adam
	rng   *tensor.RNG
	eval  *data.Images

	steps  int
	nanAt  int    // poison the input of this global step (1-based)
	stopAt int    // cancel after this global step
	cancel func() // for stopAt
}

// weights are the model's parameters, flattened.
func (r *regression) weights() []float32 {
	return append(r.model.Weight.T.Float32s(), r.model.Bias.T.Float32s()...)
}

var trueW = []float32{0.5, -1, 2, 0.25}

func target(x []float32, n int) []float32 {
	y := make([]float32, n)
	for i := range n {
		for j, w := range trueW {
			y[i] += w * x[i*4+j]
		}
	}
	return y
}

func newRegression(t *testing.T) *regression {
	d := tensor.CPU()
	r := &regression{d: d, rng: tensor.NewRNG(7)}
	r.model = nn.NewLinear(d, tensor.NewRNG(1), 4, 1)
	var err error
	r.opt, err = optim.NewAdam(nn.Trainable(r.model), optim.AdamConfig{LR: 0.05, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8})
	require.NoError(t, err)
	r.eval = images(16, 99)
	return r
}

func (r *regression) loss(x, y *tensor.Tensor) *tensor.Tensor {
	return nn.MSELoss(r.model.Forward(x), y, nn.Mean)
}

func (r *regression) Step(_ context.Context, b *data.Batch) (train.Metrics, error) {
	r.steps++
	xs := append([]float32(nil), b.X...)
	if r.steps == r.nanAt {
		xs[0] = float32(math.NaN())
	}
	x := tensor.FromFloat32(r.d, xs, b.N, 4)
	noise := r.rng.Normal(r.d, 0, 0.01, b.N, 1)
	y := tensor.Add(tensor.FromFloat32(r.d, target(xs, b.N), b.N, 1), noise)
	loss := r.loss(x, y)
	loss.Backward()
	r.opt.Step()
	nn.ZeroGrad(r.model) // not r.opt.ZeroGrad(): it zeroes nothing (see the report)
	v := loss.Item()
	loss.ReleaseGraph()
	if r.steps == r.stopAt {
		r.cancel()
	}
	return train.Metrics{"loss": float64(v), "half": float64(v) / 2}, nil
}

func (r *regression) Evaluate(context.Context) (train.Metrics, error) {
	x := make([]float32, len(r.eval.Pixels))
	for i, p := range r.eval.Pixels {
		x[i] = float32(p) / 255
	}
	n := r.eval.N
	loss := r.loss(tensor.FromFloat32(r.d, x, n, 4), tensor.FromFloat32(r.d, target(x, n), n, 1))
	v := loss.Item()
	loss.ReleaseGraph()
	return train.Metrics{"loss": float64(v)}, nil
}

func (r *regression) State() (map[string]*tensor.Tensor, map[string]string, error) {
	sd, err := nn.StateDict(r.model)
	if err != nil {
		return nil, nil, err
	}
	for k, v := range r.opt.State() {
		sd[k] = v
	}
	seed, stream, counter := r.rng.State()
	return sd, map[string]string{"rng": fmt.Sprintf("%d,%d,%d", seed, stream, counter), "steps": strconv.Itoa(r.steps)}, nil
}

func (r *regression) LoadState(ts map[string]*tensor.Tensor, meta map[string]string) error {
	opt, model := nn.SplitPrefix(ts, optim.StatePrefix)
	if err := nn.LoadStateDict(r.model, model); err != nil {
		return err
	}
	withPrefix := map[string]*tensor.Tensor{}
	for k, v := range opt {
		withPrefix[optim.StatePrefix+k] = v
	}
	if err := r.opt.LoadState(withPrefix); err != nil {
		return err
	}
	var seed, stream, counter uint64
	if _, err := fmt.Sscanf(meta["rng"], "%d,%d,%d", &seed, &stream, &counter); err != nil {
		return fmt.Errorf("rng state %q: %w", meta["rng"], err)
	}
	r.rng.SetState(seed, stream, counter)
	var err error
	r.steps, err = strconv.Atoi(meta["steps"])
	return err
}

// images is n random 2×2 "images".
func images(n int, seed uint64) *data.Images {
	rng := tensor.NewRNG(seed)
	u := rng.Uniform(tensor.CPU(), 0, 256, n*4).Float32s()
	px := make([]uint8, n*4)
	for i, v := range u {
		px[i] = uint8(v)
	}
	return &data.Images{N: n, Rows: 2, Cols: 2, Pixels: px, Labels: make([]int32, n)}
}

// run trains a fresh regression (or the given one) for epochs in dir.
func run(t *testing.T, r *regression, dir string, epochs int, resume bool) (*train.History, error) {
	t.Helper()
	ld, err := data.NewLoader(images(60, 5), 8, data.LoaderOptions{Seed: 3, Shuffle: true})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.cancel = cancel
	cfg := train.Config[data.Batch]{
		Epochs: epochs, Dir: dir, Device: r.d, Resume: resume, Settings: "lr=0.05",
		Items: func(b *data.Batch) int { return b.N }, ItemName: "ex", LogEvery: 3, EvalEvery: 5,
		Plots: []train.Plot{{File: "loss.png", Title: "loss", YLabel: "MSE", Metrics: []string{"loss"}}},
	}
	return train.Run(ctx, cfg, r, ld)
}

func TestRunWritesOutputsAndLearns(t *testing.T) {
	dir := t.TempDir()
	r := newRegression(t)
	h, err := run(t, r, dir, 4, false)
	require.NoError(t, err)
	require.Len(t, h.Epochs, 4)
	assert.Equal(t, 8, h.StepsPerEpoch, "60 examples in batches of 8, the last short")
	assert.Equal(t, 32, h.Epochs[3].Steps)
	assert.Less(t, h.Epochs[3].Train["loss"], h.Epochs[0].Train["loss"]/3, "Adam fits a linear target")
	assert.Less(t, h.Epochs[3].Test["loss"], h.Epochs[0].Test["loss"])
	// Epoch means weight each batch by its size: "half" is loss/2 exactly.
	assert.InDelta(t, h.Epochs[0].Train["loss"]/2, h.Epochs[0].Train["half"], 1e-12)
	assert.Positive(t, h.Epochs[0].ItemsPerSecond)
	// Curves: points every 3 steps and at epoch ends (3, 6, 8 per epoch);
	// evaluations every 5 steps except at epoch ends, plus each epoch end.
	assert.Len(t, h.Train, 12)
	assert.Equal(t, 6, h.Train[1].Step)
	assert.Equal(t, 8, h.Train[2].Step)
	assert.InDelta(t, 1.0, h.Train[2].Epoch, 1e-12)
	var evalSteps []int
	for _, p := range h.Test {
		evalSteps = append(evalSteps, p.Step)
	}
	assert.Equal(t, []int{5, 8, 10, 15, 16, 20, 24, 25, 30, 32}, evalSteps)

	js, err := os.ReadFile(filepath.Join(dir, train.MetricsFile))
	require.NoError(t, err)
	var back train.History
	require.NoError(t, json.Unmarshal(js, &back))
	assert.Equal(t, *h, back, "metrics.json holds the history exactly")
	assert.Contains(t, string(js), `"items_per_second"`)

	f, err := os.Open(filepath.Join(dir, "loss.png"))
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	assert.Equal(t, 576, img.Bounds().Dx(), "6 inches at 96 dpi")

	meta, err := nn.ReadMeta(filepath.Join(dir, train.CheckpointFile))
	require.NoError(t, err)
	assert.Equal(t, "checkpoint", meta["train.kind"])
	assert.Equal(t, "lr=0.05", meta["train.settings"])
}

// A run interrupted mid-epoch, or stopped at an epoch end, and resumed gives
// exactly the losses (bit for bit) and weights of an uninterrupted run.
func TestResumeIsExact(t *testing.T) {
	ref := newRegression(t)
	want, err := run(t, ref, t.TempDir(), 4, false)
	require.NoError(t, err)

	for _, c := range []struct {
		name   string
		stopAt int // cancel after this step; 0: stop after 2 epochs
	}{
		{"epoch end", 0},
		{"mid-epoch", 13},
		{"just before an epoch end", 15},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			r := newRegression(t)
			if c.stopAt == 0 {
				_, err := run(t, r, dir, 2, false)
				require.NoError(t, err)
			} else {
				r.stopAt = c.stopAt
				_, err := run(t, r, dir, 4, false)
				var ie *train.InterruptedError
				require.ErrorAs(t, err, &ie)
				assert.ErrorIs(t, err, context.Canceled)
				assert.Equal(t, c.stopAt, ie.Step)
				assert.Equal(t, 2, ie.Epoch)
				assert.Contains(t, err.Error(), "checkpoint saved to")
			}
			// A fresh process: new model, new optimizer, new RNG.
			r2 := newRegression(t)
			got, err := run(t, r2, dir, 4, true)
			require.NoError(t, err)
			require.Len(t, got.Epochs, 4)
			for i := range want.Epochs {
				assert.Equal(t, want.Epochs[i].Train, got.Epochs[i].Train, "epoch %d train", i+1)
				assert.Equal(t, want.Epochs[i].Test, got.Epochs[i].Test, "epoch %d test", i+1)
			}
			assert.Equal(t, want.Train, got.Train, "training curve")
			assert.Equal(t, want.Test, got.Test, "test curve")
			assert.Equal(t, ref.weights(), r2.weights(), "final weights")
		})
	}
}

func TestNaNGuardKeepsLastGoodCheckpoint(t *testing.T) {
	dir := t.TempDir()
	r := newRegression(t)
	r.nanAt = 13 // epoch 2 (8 steps per epoch)
	_, err := run(t, r, dir, 4, false)
	var ne *train.NonFiniteError
	require.ErrorAs(t, err, &ne)
	assert.Equal(t, 13, ne.Step)
	assert.Equal(t, 2, ne.Epoch)
	assert.Equal(t, "loss", ne.Name)
	assert.True(t, math.IsNaN(ne.Value))
	ckpt := filepath.Join(dir, train.CheckpointFile)
	assert.Equal(t, ckpt, ne.Checkpoint)
	assert.Contains(t, err.Error(), "loss is NaN at step 13 (epoch 2)")
	assert.Contains(t, err.Error(), "last good checkpoint is "+ckpt)

	// The checkpoint is the end of epoch 1, with finite weights, and the run
	// resumes from it (without the poison) to the end.
	ts, meta, err := nn.LoadState(ckpt, tensor.CPU())
	require.NoError(t, err)
	assert.Contains(t, meta["train.state"], `"step":8,`)
	for name, v := range ts {
		if v.DType() == tensor.Float32 {
			for _, x := range v.Float32s() {
				require.False(t, math.IsNaN(float64(x)), name)
			}
		}
	}
	h, err := run(t, newRegression(t), dir, 4, true)
	require.NoError(t, err)
	assert.Len(t, h.Epochs, 4)

	// The first step can fail too: no checkpoint exists then.
	r = newRegression(t)
	r.nanAt = 1
	_, err = run(t, r, t.TempDir(), 1, false)
	require.ErrorAs(t, err, &ne)
	assert.Equal(t, 1, ne.Step)
	assert.Contains(t, err.Error(), "no checkpoint was written before it")
}

func TestResumeErrors(t *testing.T) {
	_, err := run(t, newRegression(t), t.TempDir(), 1, true)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nothing to resume: no checkpoint at")

	dir := t.TempDir()
	_, err = run(t, newRegression(t), dir, 1, false)
	require.NoError(t, err)
	ld, err := data.NewLoader(images(60, 5), 8, data.LoaderOptions{})
	require.NoError(t, err)
	cfg := train.Config[data.Batch]{Epochs: 2, Dir: dir, Device: tensor.CPU(), Resume: true, Settings: "lr=0.1"}
	_, err = train.Run(context.Background(), cfg, newRegression(t), ld)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "was made with other settings")
	assert.Contains(t, err.Error(), "checkpoint: lr=0.05")

	// A weight file that is not a checkpoint.
	wdir := t.TempDir()
	require.NoError(t, nn.Save(filepath.Join(wdir, train.CheckpointFile), nn.NewLinear(tensor.CPU(), tensor.NewRNG(1), 4, 1), nil))
	cfg.Dir, cfg.Settings = wdir, "lr=0.05"
	_, err = train.Run(context.Background(), cfg, newRegression(t), ld)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is not a training checkpoint")

	cfg.Epochs = 0
	_, err = train.Run(context.Background(), cfg, newRegression(t), ld)
	assert.ErrorContains(t, err, "epochs 0, must be positive")
}

func TestGridPNG(t *testing.T) {
	// Two 2×3 images: a ramp and its negative, one column, no padding, zoom 2.
	x := []float32{0, 0.5, 1, -1, 2, float32(math.NaN()), 1, 0.5, 0, 0, 0, 0}
	b, err := train.GridPNG(x, 2, 1, 2, 3, train.GridOptions{Cols: 1, Pad: -1, Zoom: 2})
	require.NoError(t, err)
	img, err := png.Decode(bytes.NewReader(b))
	require.NoError(t, err)
	require.Equal(t, 6, img.Bounds().Dx())
	require.Equal(t, 8, img.Bounds().Dy())
	grey := func(px, py int) uint32 { r, _, _, _ := img.At(px, py).RGBA(); return r >> 8 }
	assert.Equal(t, uint32(0), grey(0, 0))
	assert.Equal(t, uint32(128), grey(2, 1), "0.5 → 127.5 rounds to 128")
	assert.Equal(t, uint32(255), grey(5, 1))
	assert.Equal(t, uint32(0), grey(0, 2), "clipped below")
	assert.Equal(t, uint32(255), grey(2, 3), "clipped above")
	r, g, _, _ := img.At(4, 2).RGBA()
	assert.Equal(t, [2]uint32{255, 0}, [2]uint32{r >> 8, g >> 8}, "NaN is red")
	assert.Equal(t, uint32(255), grey(0, 4), "second image below the first")

	_, err = train.GridPNG(x, 3, 1, 2, 3, train.GridOptions{})
	assert.ErrorContains(t, err, "image grid of 12 values for 3 images")
	_, err = train.GridPNG(x, 2, 1, 2, 3, train.GridOptions{Lo: 1, Hi: 1})
	assert.ErrorContains(t, err, "is empty")

	// WriteGrid from a tensor; the signed range maps −1 to black.
	path := filepath.Join(t.TempDir(), "g.png")
	require.NoError(t, train.WriteGrid(path, tensor.Full(tensor.CPU(), -1, 4, 1, 5, 5), train.GridOptions{Lo: -1, Hi: 1}))
	f, err := os.ReadFile(path)
	require.NoError(t, err)
	img, err = png.Decode(bytes.NewReader(f))
	require.NoError(t, err)
	assert.Equal(t, 2*5+3*2, img.Bounds().Dx(), "2 columns of 5 pixels, padding 2")
	assert.Equal(t, uint32(0), grey(2, 2))
	assert.Equal(t, uint32(255), grey(0, 0), "padding is white")
	assert.ErrorContains(t, train.WriteGrid(path, tensor.Zeros(tensor.CPU(), 2, 5), train.GridOptions{}), "not square images")
}

func TestEpochLines(t *testing.T) {
	var out strings.Builder
	ld, err := data.NewLoader(images(60, 5), 8, data.LoaderOptions{})
	require.NoError(t, err)
	r := newRegression(t)
	cfg := train.Config[data.Batch]{Epochs: 2, Dir: t.TempDir(), Device: r.d, Out: &out, ItemName: "ex",
		Items: func(b *data.Batch) int { return b.N }}
	_, err = train.Run(context.Background(), cfg, r, ld)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 2, "one line per epoch, no progress bar off a terminal")
	assert.Regexp(t, `^epoch 1/2  train loss \S+ half \S+  test loss \S+  \S+ s  \d+ ex/s$`, lines[0])

	out.Reset()
	cfg.Quiet, cfg.Dir = true, t.TempDir()
	require.NoError(t, ld.Seek(0, 0))
	_, err = train.Run(context.Background(), cfg, newRegression(t), ld)
	require.NoError(t, err)
	assert.Empty(t, out.String())
}

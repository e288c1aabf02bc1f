package main

import (
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVAEFlagValidation(t *testing.T) {
	w := filepath.Join(t.TempDir(), "none.safetensors.zst")
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"train"}, "which model?"},
		{[]string{"train", "vea"}, `unknown model "vea"`},
		{[]string{"train", "vae", "extra"}, `unexpected argument "extra"`},
		{[]string{"train", "vae", "--model", "rnn"}, `--model "rnn": want mlp or conv`},
		{[]string{"train", "vae", "--epochs", "-1"}, "--epochs -1: want 1 to 100000"},
		{[]string{"train", "vae", "--batch", "0"}, "--batch 0: want 1 to 65536"},
		{[]string{"train", "vae", "--latent", "0"}, "--latent 0: want 1 to 4096"},
		{[]string{"train", "vae", "--lr", "0"}, "--lr 0: want a number in"},
		{[]string{"train", "vae", "--lr", "NaN"}, "--lr NaN"},
		{[]string{"train", "vae", "--beta", "-1"}, "--beta -1"},
		{[]string{"train", "vae", "--device", "tpu"}, `--device "tpu": want auto, cpu or metal`},
		{[]string{"train", "vae", "--out", ""}, "--out must name a directory"},
		{[]string{"train", "vae", "--batch", "7000", "--data", "embedded"}, "--batch 7000 is larger than the 6000 training images"},
		{[]string{"train", "vae", "--epochs", "x"}, `invalid value "x" for flag -epochs`},
		{[]string{"sample", "vae"}, "--weights is required"},
		{[]string{"sample", "vae", "--weights", w}, "--out is required"},
		{[]string{"sample", "vae", "--weights", w, "--out", "g.jpg"}, "name it *.png"},
		{[]string{"sample", "vae", "--weights", w, "--out", "g.png", "--n", "0"}, "--n 0: want 1 to 10000"},
		{[]string{"sample", "vae", "--weights", w, "--out", "g.png", "--cols", "-2"}, "--cols -2"},
		{[]string{"eval", "vae"}, "--weights is required"},
		{[]string{"eval", "vae", "--weights", w, "--device", "gpu"}, `--device "gpu"`},
		{[]string{"bench", "train", "vae", "--steps", "0"}, "--steps 0: want 1 to 1000000"},
		{[]string{"bench", "train", "vae", "--threads", "-1"}, "--threads -1"},
		{[]string{"bench", "train", "vae", "--warmup", "-1"}, "--warmup -1"},
		{[]string{"bench", "train", "vae", "--model", "x"}, `--model "x"`},
		{[]string{"bench", "train", "vae", "--batch", "0"}, "--batch 0"},
	} {
		code, _, stderr := runCLI(c.args...)
		assert.Equal(t, 2, code, "%v: %s", c.args, stderr)
		assert.Contains(t, stderr, c.msg, "%v", c.args)
		assert.NotContains(t, stderr, "goroutine", "no stack traces")
	}
	// Errors that are not about usage: exit 1 with a clear message.
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"sample", "vae", "--weights", w, "--out", filepath.Join(t.TempDir(), "g.png")}, "no such file"},
		{[]string{"eval", "vae", "--weights", w}, "no such file"},
		{[]string{"train", "vae", "--data", "/nonexistent/dir"}, "data directory"},
		{[]string{"train", "vae", "--data", "embedded", "--resume", "--out", t.TempDir()}, "nothing to resume"},
	} {
		code, _, stderr := runCLI(c.args...)
		assert.Equal(t, 1, code, "%v: %s", c.args, stderr)
		assert.Contains(t, stderr, c.msg, "%v", c.args)
	}
	for _, args := range [][]string{{"train", "vae", "-h"}, {"sample", "vae", "-h"}, {"eval", "vae", "-h"}, {"bench", "train", "vae", "-h"}} {
		code, out, _ := runCLI(args...)
		assert.Equal(t, 0, code, "%v", args)
		assert.Contains(t, out, "Usage: ingot "+args[0], "%v", args)
		assert.Contains(t, out, "Examples:", "%v", args)
	}
}

// The whole CLI flow on the embedded subset: train briefly, sample, evaluate
// (deterministically, matching the training run's final test loss).
func TestVAETrainSampleEval(t *testing.T) {
	dir := t.TempDir()
	code, out, stderr := runCLI("train", "vae", "--data", "embedded", "--epochs", "1", "--batch", "500", "--lr", "3e-3", "--device", "cpu", "--out", dir)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "using embedded Fashion-MNIST subset (6000 train / 1000 test); device cpu")
	assert.Contains(t, out, "epoch 1/1  train loss")
	assert.Contains(t, out, "wrote "+dir)
	for _, f := range []string{"vae.safetensors.zst", "samples.png", "reconstructions.png", "interpolation.png", "loss.png", "metrics.json", "checkpoint.safetensors.zst"} {
		assert.FileExists(t, filepath.Join(dir, f))
	}
	var h struct {
		Epochs []struct {
			Train, Test    map[string]float64
			Seconds        float64
			ItemsPerSecond float64 `json:"items_per_second"`
		}
	}
	js, err := os.ReadFile(filepath.Join(dir, "metrics.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(js, &h))
	require.Len(t, h.Epochs, 1)
	assert.Positive(t, h.Epochs[0].ItemsPerSecond)
	assert.Positive(t, h.Epochs[0].Seconds)

	weights := filepath.Join(dir, "vae.safetensors.zst")
	grid := filepath.Join(dir, "grid.png")
	code, out, stderr = runCLI("sample", "vae", "--weights", weights, "--n", "12", "--cols", "4", "--out", grid, "--device", "cpu")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "wrote 12 samples to "+grid)
	f, err := os.Open(grid)
	require.NoError(t, err)
	img, err := png.Decode(f)
	f.Close()
	require.NoError(t, err)
	assert.Equal(t, 4*58+2, img.Bounds().Dx())
	assert.Equal(t, 3*58+2, img.Bounds().Dy())

	var reports [2]vaeEvalReport
	for i := range reports {
		code, out, stderr = runCLI("eval", "vae", "--weights", weights, "--data", "embedded", "--json", "--device", "cpu")
		require.Equal(t, 0, code, stderr)
		require.NoError(t, json.Unmarshal([]byte(out), &reports[i]))
	}
	assert.Equal(t, reports[0], reports[1], "deterministic")
	assert.Equal(t, 1000, reports[0].Images)
	assert.Equal(t, h.Epochs[0].Test["loss"], reports[0].Loss, "the weight file is the trained model")
	code, out, _ = runCLI("eval", "vae", "--weights", weights, "--data", "embedded")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "reconstruction (z = μ)")

	// Resuming to 2 epochs continues; resuming with another batch is refused.
	code, _, stderr = runCLI("train", "vae", "--data", "embedded", "--epochs", "2", "--batch", "500", "--lr", "3e-3", "--device", "cpu", "--out", dir, "--resume", "--quiet")
	require.Equal(t, 0, code, stderr)
	code, _, stderr = runCLI("train", "vae", "--data", "embedded", "--epochs", "3", "--batch", "400", "--lr", "3e-3", "--device", "cpu", "--out", dir, "--resume", "--quiet")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "other settings")
}

func TestBenchTrainVAE(t *testing.T) {
	code, out, stderr := runCLI("bench", "train", "vae", "--steps", "3", "--warmup", "1", "--batch", "32", "--device", "cpu", "--json")
	require.Equal(t, 0, code, stderr)
	var r struct {
		Model    string  `json:"model"`
		Batch    int     `json:"batch"`
		MSMedian float64 `json:"ms_median"`
		Steps    int     `json:"steps"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &r))
	assert.Equal(t, "mlp", r.Model)
	assert.Equal(t, 32, r.Batch)
	assert.Equal(t, 3, r.Steps)
	assert.Positive(t, r.MSMedian)
}

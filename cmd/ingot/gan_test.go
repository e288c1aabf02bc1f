package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGANFlagValidation(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"train", "gan", "--epochs", "-1"}, "--epochs -1"},
		{[]string{"train", "gan", "--batch", "1"}, "--batch 1"},
		{[]string{"train", "dcgan", "--noise", "0"}, "--noise 0"},
		{[]string{"train", "gan", "--lr", "nan"}, "--lr NaN"},
		{[]string{"train", "gan", "--beta1", "1"}, "--beta1 1"},
		{[]string{"train", "gan", "--label-smoothing", "1"}, "--label-smoothing 1"},
		{[]string{"train", "gan", "--instance-noise", "-0.1"}, "--instance-noise -0.1"},
		{[]string{"train", "gan", "--d-steps", "0"}, "--d-steps 0"},
		{[]string{"train", "gan", "--g-steps", "101"}, "--g-steps 101"},
		{[]string{"train", "dcgan", "--features", "0"}, "--features 0"},
		{[]string{"train", "dcgan", "--init-generator", "x"}, "flag provided but not defined: -init-generator"},
		{[]string{"train", "gan", "--features", "8"}, "flag provided but not defined: -features"},
		{[]string{"train", "gan", "--init-generator", filepath.Join(dir, "missing.safetensors.zst")}, "--init-generator"},
		{[]string{"train", "gan", "--device", "tpu"}, `--device "tpu"`},
		{[]string{"train", "gan", "--out", ""}, "--out must name a directory"},
		{[]string{"train", "gan", "extra"}, `unexpected argument "extra"`},
		{[]string{"sample", "gan", "--out", "x.png"}, "--weights is required"},
		{[]string{"sample", "dcgan", "--weights", "w", "--n", "0", "--out", "x.png"}, "--n 0"},
		{[]string{"sample", "gan", "--weights", "w"}, "--out is required"},
		{[]string{"sample", "gan", "--weights", filepath.Join(dir, "nope"), "--out", "x.png"}, "--weights"},
		{[]string{"eval", "gan", "--n", "1"}, "--n 1"},
		{[]string{"eval", "dcgan"}, "--weights is required"},
		{[]string{"bench", "train", "gan", "--steps", "0"}, "--steps 0"},
		{[]string{"bench", "train", "dcgan", "--threads", "-1"}, "--threads -1"},
	} {
		code, _, stderr := runCLI(c.args...)
		assert.Equal(t, 2, code, "%v: %s", c.args, stderr)
		assert.Contains(t, stderr, c.msg, "%v", c.args)
		assert.NotContains(t, stderr, "goroutine", "no stack traces")
	}
	code, out, _ := runCLI("train", "dcgan", "-h")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "Usage: ingot train dcgan")
	assert.Contains(t, out, "Examples:")
}

// TestGANTrainSampleEval trains the MLP GAN for one short epoch on the
// embedded subset, then samples and evaluates the weight file.
func TestGANTrainSampleEval(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	t.Setenv("INGOT_DEVICE", "cpu")
	dir := t.TempDir()
	code, out, stderr := runCLI("train", "gan", "--data", "embedded", "--epochs", "1", "--batch", "500", "--out", dir, "--quiet")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "wrote "+dir)
	w := filepath.Join(dir, "gan.safetensors.zst")
	require.FileExists(t, w)

	png := filepath.Join(dir, "grid.png")
	code, out, stderr = runCLI("sample", "gan", "--weights", w, "--n", "16", "--out", png)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "wrote 16 samples")
	b, err := os.ReadFile(png)
	require.NoError(t, err)
	assert.Equal(t, "\x89PNG", string(b[:4]))

	// A gan file is not a dcgan file.
	code, _, stderr = runCLI("sample", "dcgan", "--weights", w, "--out", png)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "holds a gan model")

	eval := func() map[string]any {
		code, out, stderr := runCLI("eval", "gan", "--weights", w, "--n", "200", "--data", "embedded", "--json")
		require.Equal(t, 0, code, stderr)
		var r map[string]any
		require.NoError(t, json.Unmarshal([]byte(out), &r))
		return r
	}
	r := eval()
	for _, k := range []string{"classes_covered", "fd", "fd_real_vs_real", "class_counts", "real_images"} {
		assert.Contains(t, r, k)
	}
	assert.Equal(t, 200.0, r["real_images"])
	assert.Equal(t, r, eval(), "eval is deterministic for a seed")

	code, out, stderr = runCLI("eval", "gan", "--weights", w, "--n", "200", "--data", "embedded")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "mode coverage:")
	assert.Contains(t, out, "real vs real")
}

func TestBenchTrainGAN(t *testing.T) {
	t.Setenv("INGOT_DEVICE", "cpu")
	code, out, stderr := runCLI("bench", "train", "gan", "--steps", "2", "--warmup", "1", "--batch", "8", "--json")
	require.Equal(t, 0, code, stderr)
	var r ganBenchResult
	require.NoError(t, json.Unmarshal([]byte(out), &r))
	assert.Equal(t, "gan", r.Model)
	assert.Equal(t, 8, r.Batch)
	assert.Greater(t, r.MSMedian, 0.0)
}

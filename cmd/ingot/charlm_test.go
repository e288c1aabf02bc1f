package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCharLMFlagValidation: bad flags exit 2 with a message naming the flag.
func TestCharLMFlagValidation(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"train", "charlm", "--layers", "3"}, "--layers must be in 1..2"},
		{[]string{"train", "charlm", "--hidden", "0"}, "--hidden must be in"},
		{[]string{"train", "charlm", "--lr", "-1"}, "--lr must be a positive number"},
		{[]string{"train", "charlm", "--clip", "NaN"}, "--clip must be"},
		{[]string{"train", "charlm", "--corpus", "klingon"}, `no corpus "klingon"`},
		{[]string{"train", "charlm", "--corpus", "austen", "--text", "x.txt"}, "not both"},
		{[]string{"train", "charlm", "--held-out", "1"}, "--held-out must be in [0, 1)"},
		{[]string{"train", "charlm", "--device", "tpu"}, `unknown device "tpu"`},
		{[]string{"train", "charlm", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"train", "charlm", "extra"}, `unexpected argument "extra"`},
		{[]string{"sample", "charlm"}, "--weights is required"},
		{[]string{"sample", "charlm", "--weights", "w", "--temperature", "-0.5"}, "--temperature must be ≥ 0"},
		{[]string{"sample", "charlm", "--weights", "w", "--n", "-1"}, "--n must be in"},
		{[]string{"eval", "charlm", "--weights", "w"}, "exactly one of --text and --corpus"},
		{[]string{"eval", "charlm", "--text", "t"}, "--weights is required"},
		{[]string{"bench", "train", "charlm", "--hidden", "0"}, "--hidden must be in 1.."},
		{[]string{"train", "textgan", "--adv-steps", "0", "--out", dir}, "--adv-steps and --adv-round must be at least 1"},
		{[]string{"train", "textgan", "--tau", "0", "--out", dir}, "temperature 0"},
		{[]string{"train", "textgan", "--adv-weight", "-1", "--out", dir}, "adversarial weight -1"},
		{[]string{"sample", "textgan"}, "--weights is required"},
	} {
		code, _, stderr := runCLI(c.args...)
		assert.Equal(t, 2, code, "%v: %s", c.args, stderr)
		assert.Contains(t, stderr, c.want, "%v", c.args)
		assert.NotContains(t, stderr, "goroutine", "no stack trace")
	}
	// A missing weight file is a failure (1), not a usage error.
	code, _, stderr := runCLI("sample", "charlm", "--weights", filepath.Join(dir, "none.safetensors.zst"))
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "none.safetensors.zst")
}

// TestCharLMTrainSampleEval: a tiny run on a Chinese text file writes the
// weights, metrics.json and plot; sampling is deterministic for a seed and
// continues a Chinese prompt in the vocabulary; eval prints the same bits
// per character as the run's final evaluation when given the held-out
// text; --resume of a finished run changes nothing.
func TestCharLMTrainSampleEval(t *testing.T) {
	dir := t.TempDir()
	text := strings.Repeat("床前明月光，疑是地上霜。举头望明月，低头思故乡。\n", 30)
	path := filepath.Join(dir, "poem.txt")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	out := filepath.Join(dir, "run")
	args := []string{"train", "charlm", "--text", path, "--embed", "8", "--hidden", "16", "--seq", "16", "--batch", "4",
		"--steps", "12", "--lr", "0.01", "--out", out, "--quiet"}
	code, stdout, stderr := runCLI(args...)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "held-out bits per character")
	w := filepath.Join(out, charlmWeightsFile)
	for _, f := range []string{w, filepath.Join(out, "metrics.json"), filepath.Join(out, "bpc.png")} {
		assert.FileExists(t, f)
	}
	code, a, stderr := runCLI("sample", "charlm", "--weights", w, "--prompt", "床前", "--n", "30", "--seed", "5")
	require.Equal(t, 0, code, stderr)
	code, b, _ := runCLI("sample", "charlm", "--weights", w, "--prompt", "床前", "--n", "30", "--seed", "5")
	require.Equal(t, 0, code)
	assert.Equal(t, a, b)
	got := []rune(strings.TrimSuffix(a, "\n"))
	require.Len(t, got, 32)
	assert.Equal(t, "床前", string(got[:2]))
	for _, r := range got {
		assert.True(t, strings.ContainsRune(text, r), "%q is in the training text", r)
	}

	// The held-out tail (10%, as the run split it), evaluated by eval.
	runes := []rune(text)
	held := string(runes[len(runes)-int(float64(len(runes))*0.1):])
	hp := filepath.Join(dir, "held.txt")
	require.NoError(t, os.WriteFile(hp, []byte(held), 0o644))
	code, js, stderr := runCLI("eval", "charlm", "--weights", w, "--text", hp, "--json")
	require.Equal(t, 0, code, stderr)
	var r bpcReport
	require.NoError(t, json.Unmarshal([]byte(js), &r))
	var hist struct {
		Epochs []struct {
			Test map[string]float64 `json:"test"`
		} `json:"epochs"`
	}
	mj, err := os.ReadFile(filepath.Join(out, "metrics.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(mj, &hist))
	assert.InDelta(t, hist.Epochs[len(hist.Epochs)-1].Test["bpc"], r.BPC, 1e-9, "same model, same text, same computation")
	assert.Equal(t, 0, r.Unknown)

	// Resuming a finished run trains nothing more and gives the same weights.
	before, err := os.ReadFile(w)
	require.NoError(t, err)
	code, _, stderr = runCLI(append(args, "--resume")...)
	require.Equal(t, 0, code, stderr)
	after, err := os.ReadFile(w)
	require.NoError(t, err)
	assert.Equal(t, before, after)
}

// TestTextGANTrainSample: pre-training, adversarial rounds with the guard,
// the weight file, sampling and eval of the generator.
func TestTextGANTrainSample(t *testing.T) {
	dir := t.TempDir()
	text := strings.Repeat("It is a truth universally acknowledged, that a single man. ", 40)
	path := filepath.Join(dir, "t.txt")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	out := filepath.Join(dir, "run")
	code, stdout, stderr := runCLI("train", "textgan", "--text", path, "--embed", "8", "--hidden", "16", "--seq", "16", "--batch", "4",
		"--steps", "10", "--adv-steps", "6", "--adv-round", "3", "--prefix", "3", "--length", "6", "--d-embed", "4", "--d-hidden", "8",
		"--eval-seqs", "8", "--d-warmup", "2", "--out", out, "--quiet")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "generator held-out bits per character")
	w := filepath.Join(out, textganWeightsFile)
	assert.FileExists(t, w)
	assert.FileExists(t, filepath.Join(out, "pretrain", charlmWeightsFile))
	mj, err := os.ReadFile(filepath.Join(out, "metrics.json"))
	require.NoError(t, err)
	for _, k := range []string{"d_accuracy", "d_precision", "d_recall", "d_f1", "bpc"} {
		assert.Contains(t, string(mj), `"`+k+`"`)
	}
	code, s, stderr := runCLI("sample", "textgan", "--weights", w, "--prompt", "It is", "--n", "20")
	require.Equal(t, 0, code, stderr)
	assert.True(t, strings.HasPrefix(s, "It is"))
	code, _, stderr = runCLI("eval", "textgan", "--weights", w, "--text", path)
	require.Equal(t, 0, code, stderr)
	// A textgan file is not a charlm file.
	code, _, stderr = runCLI("sample", "charlm", "--weights", w)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `"textgan"`)
}

// TestTorchTwinEnvironment: the PyTorch twin runs once per thread count with
// OpenBLAS on that many threads and without a forced OpenBLAS kernel (a fake
// twin, a shell script, reports what it was given).
func TestTorchTwinEnvironment(t *testing.T) {
	script := filepath.Join(t.TempDir(), "twin.sh")
	body := `n=$4; [ "$OPENBLAS_NUM_THREADS" = "$n" ] || exit 3; [ -z "$OPENBLAS_CORETYPE" ] || exit 4
echo "charlstm torch fake threads $n: median $n.5 ms/step (min $n.25 ms/step), 7.5 cpu-ms/step"
`
	require.NoError(t, os.WriteFile(script, []byte(body), 0o755))
	t.Setenv("OPENBLAS_CORETYPE", "Haswell")
	t.Setenv("OPENBLAS_NUM_THREADS", "64")
	rows, err := runTorchCharLSTM("/bin/sh", script, 5)
	require.NoError(t, err)
	require.Len(t, rows, runtime.NumCPU())
	for i, r := range rows {
		assert.Equal(t, i+1, r.Threads)
		assert.Equal(t, float64(i+1)+0.5, r.MedianMS)
		assert.Equal(t, float64(i+1)+0.25, r.MinMS)
		assert.Equal(t, 7.5, r.CPUMS)
	}
}

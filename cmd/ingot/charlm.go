package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"

	"github.com/ingotml/ingot/charlm"
	"github.com/ingotml/ingot/data"
	"github.com/ingotml/ingot/tensor"
	"github.com/ingotml/ingot/train"
)

func init() {
	registerFamily("charlm", family{
		summary: "character-level LSTM language model (text in, text out)",
		train:   trainCharLM,
		sample:  sampleCharLM,
		eval:    evalCharLM,
		bench:   benchCharLM,
	})
}

// charlmWeightsFile is the weight file train writes in its output directory.
const charlmWeightsFile = "charlm.safetensors.zst"

// textFlags are the text-source flags shared by charlm and textgan.
type textFlags struct {
	text, corpus *string
	heldOut      *float64
}

func addTextFlags(fs *flags) textFlags {
	var names []string
	for _, c := range data.Corpora {
		names = append(names, c.Name)
	}
	return textFlags{
		text:    fs.String("text", "", "train on this UTF-8 text file (raw or gzip)"),
		corpus:  fs.String("corpus", "", "train on a shipped corpus: "+strings.Join(names, ", ")+" (default "+data.DefaultCorpus+")"),
		heldOut: fs.Float64("held-out", 0.1, "fraction of the text, at its end, held out for evaluation"),
	}
}

// load returns the text, a label for it, and usage errors for bad flags.
func (tf textFlags) load() (text, label string, err error) {
	if *tf.text != "" && *tf.corpus != "" {
		return "", "", usagef("give --text or --corpus, not both")
	}
	if !(*tf.heldOut >= 0 && *tf.heldOut < 1) {
		return "", "", usagef("--held-out must be in [0, 1), got %v", *tf.heldOut)
	}
	if *tf.text != "" {
		t, err := data.LoadText(*tf.text)
		if err != nil {
			return "", "", err
		}
		return t, *tf.text, nil
	}
	name := *tf.corpus
	if name == "" {
		name = data.DefaultCorpus
	}
	t, err := data.LoadCorpus(name)
	if err != nil {
		return "", "", usagef("--corpus: %v", err)
	}
	return t, "corpus " + name, nil
}

// charlmSettings is what changes a charlm run's losses (for resume).
type charlmSettings struct {
	Text    string        `json:"text"`
	Config  charlm.Config `json:"config"`
	Seq     int           `json:"seq"`
	Batch   int           `json:"batch"`
	Steps   int           `json:"steps"`
	Round   int           `json:"round"`
	LR      float64       `json:"lr"`
	Clip    float64       `json:"clip"`
	Seed    uint64        `json:"seed"`
	HeldOut float64       `json:"held_out"`
	Device  string        `json:"device"`
}

// lmFlags are the model and optimisation flags of charlm (and textgan's
// pre-training).
type lmFlags struct {
	embed, hidden, layers, seq, batch, steps, epochs *int
	lr, clip                                         *float64
	seed                                             *uint64
}

func addLMFlags(fs *flags) lmFlags {
	def := charlm.DefaultConfig(0)
	tc := charlm.DefaultTrainConfig()
	return lmFlags{
		embed:  fs.Int("embed", def.Embed, "embedding size"),
		hidden: fs.Int("hidden", def.Hidden, "LSTM hidden size"),
		layers: fs.Int("layers", def.Layers, "LSTM layers (1 or 2)"),
		seq:    fs.Int("seq", 64, "characters per chunk of truncated backpropagation through time"),
		batch:  fs.Int("batch", 32, "parallel tracks of text per step"),
		steps:  fs.Int("steps", 0, "training steps (default: --epochs passes over the text)"),
		epochs: fs.Int("epochs", 10, "passes over the training text (ignored with --steps)"),
		lr:     fs.Float64("lr", tc.LR, "Adam learning rate"),
		clip:   fs.Float64("clip", tc.Clip, "largest global gradient norm (0: no clipping)"),
		seed:   fs.Uint64("seed", 1, "random seed (initial weights)"),
	}
}

func (f lmFlags) validate() error {
	for _, c := range []struct {
		name string
		v    int
		lo   int
		hi   int
	}{{"embed", *f.embed, 1, charlm.MaxWidth}, {"hidden", *f.hidden, 1, charlm.MaxWidth}, {"layers", *f.layers, 1, charlm.MaxLayers},
		{"seq", *f.seq, 1, 1 << 16}, {"batch", *f.batch, 1, 1 << 16}, {"steps", *f.steps, 0, 1 << 30}, {"epochs", *f.epochs, 1, 1 << 20}} {
		if c.v < c.lo || c.v > c.hi {
			return usagef("--%s must be in %d..%d, got %d", c.name, c.lo, c.hi, c.v)
		}
	}
	if !(*f.lr > 0) || math.IsInf(*f.lr, 0) {
		return usagef("--lr must be a positive number, got %v", *f.lr)
	}
	if !(*f.clip >= 0) || math.IsInf(*f.clip, 0) {
		return usagef("--clip must be ≥ 0, got %v", *f.clip)
	}
	return nil
}

// lmData is a text split and batched for training.
type lmData struct {
	vocab          *data.Vocab
	train, heldOut []int32
	batcher        *data.TextBatcher
}

func prepareText(text string, heldOut float64, batch, seq int) (*lmData, error) {
	v := data.NewVocab(text)
	ids := v.Encode(text)
	tr, ho, err := data.SplitHeldOut(ids, heldOut)
	if err != nil {
		return nil, usagef("%v", err)
	}
	b, err := data.NewTextBatcher(tr, batch, seq, data.TextOptions{Layout: data.TimeMajor})
	if err != nil {
		return nil, usagef("the training text is too short for --batch %d: %v", batch, err)
	}
	return &lmData{vocab: v, train: tr, heldOut: ho, batcher: b}, nil
}

func trainCharLM(args []string, out io.Writer) error {
	fs := newFlags("train charlm", "ingot train charlm [--text FILE | --corpus NAME] [--embed 64 --hidden 256 --layers 1] [--seq 64 --batch 32] [--steps N | --epochs N] [--lr 0.002 --clip 5 --seed 1] [--device auto] [--out DIR] [--resume] [--quiet]",
		"  ingot train charlm                                # Pride and Prejudice, 10 epochs\n"+
			"  ingot train charlm --corpus tang300 --steps 2000  # Tang poems (Chinese)\n"+
			"  ingot train charlm --text my.txt --out runs/my --layers 2\n"+
			"  ingot train charlm --out runs/my --resume         # continue an interrupted run\n", out)
	tf := addTextFlags(fs)
	lf := addLMFlags(fs)
	device := fs.String("device", "auto", "auto, cpu or metal")
	outDir := fs.String("out", "runs/charlm", "output directory: weights, checkpoint, metrics.json, plots")
	resume := fs.Bool("resume", false, "continue from the checkpoint in --out")
	quiet := fs.Bool("quiet", false, "no progress bar or epoch lines")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if err := lf.validate(); err != nil {
		return err
	}
	if *outDir == "" {
		return usagef("--out must name a directory")
	}
	text, label, err := tf.load()
	if err != nil {
		return err
	}
	d, err := openDevice(*device)
	if err != nil {
		return err
	}
	ld, err := prepareText(text, *tf.heldOut, *lf.batch, *lf.seq)
	if err != nil {
		return err
	}
	ctx, stop := interruptible()
	defer stop()
	_, err = fitCharLM(ctx, out, d, ld, lf, label, *tf.heldOut, *outDir, *resume, *quiet, "charlm")
	return err
}

// fitCharLM trains a new character model on ld in dir (train.Run: progress,
// checkpoints, resume) and writes dir/charlm.safetensors.zst.
func fitCharLM(ctx context.Context, out io.Writer, d tensor.Device, ld *lmData, lf lmFlags, label string, heldOut float64, dir string, resume, quiet bool, what string) (*charlm.Model, error) {
	cfg := charlm.Config{Vocab: ld.vocab.Size(), Embed: *lf.embed, Hidden: *lf.hidden, Layers: *lf.layers}
	m, err := charlm.New(d, tensor.NewRNG(*lf.seed), ld.vocab, cfg)
	if err != nil {
		return nil, err
	}
	tr, err := charlm.NewTrainer(m, charlm.TrainConfig{LR: *lf.lr, Clip: *lf.clip})
	if err != nil {
		return nil, err
	}
	steps := *lf.steps
	if steps == 0 {
		steps = *lf.epochs * ld.batcher.StepsPerEpoch()
	}
	src, err := charlm.NewStepSource(ld.batcher, steps, 0)
	if err != nil {
		return nil, usagef("%v", err)
	}
	settings, _ := json.Marshal(charlmSettings{Text: label, Config: cfg, Seq: *lf.seq, Batch: *lf.batch, Steps: steps, Round: src.StepsPerEpoch(),
		LR: *lf.lr, Clip: *lf.clip, Seed: *lf.seed, HeldOut: heldOut, Device: d.Name()})
	if !quiet {
		fmt.Fprintf(out, "%s: %s, %d characters (%d held out), vocabulary %d; %d parameters on %s; %d steps of %d×%d characters\n",
			what, label, len(ld.train)+len(ld.heldOut), len(ld.heldOut), ld.vocab.Size(), lmNumParams(m), d.Name(), steps, *lf.batch, *lf.seq)
	}
	task := &charlm.Task{Trainer: tr, HeldOut: ld.heldOut}
	hist, err := train.Run(ctx, train.Config[data.TextBatch]{
		Epochs: src.Rounds(), Dir: dir, Device: d, Resume: resume, Settings: string(settings),
		Items: charlm.Items, ItemName: "char", Out: out, Quiet: quiet,
		Plots: []train.Plot{{File: "bpc.png", Title: "character LSTM", YLabel: "bits per character", Metrics: []string{"bpc"}}},
	}, task, src)
	if err != nil {
		var ie *train.InterruptedError
		if errors.As(err, &ie) {
			return nil, fmt.Errorf("%v; run again with --resume to continue", err)
		}
		return nil, err
	}
	path := filepath.Join(dir, charlmWeightsFile)
	if err := m.Save(path, map[string]string{"ingot.trained_on": label, "ingot.steps": fmt.Sprint(steps)}); err != nil {
		return nil, err
	}
	if last := hist.Epochs[len(hist.Epochs)-1]; last.Test != nil {
		fmt.Fprintf(out, "held-out bits per character: %.4f\n", last.Test["bpc"])
	}
	fmt.Fprintf(out, "weights: %s\n", path)
	return m, nil
}

func lmNumParams(m *charlm.Model) int {
	n := 0
	for _, p := range m.Params() {
		n += p.T.Len()
	}
	return n
}

// loadLM loads the generator of a charlm or textgan weight file.
func loadLM(path string, d tensor.Device) (*charlm.Model, error) {
	if path == "" {
		return nil, usagef("--weights is required")
	}
	m, _, err := charlm.Load(path, d)
	return m, err
}

func sampleCharLM(args []string, out io.Writer) error {
	return sampleLM("charlm", charlmWeightsFile, func(p string, d tensor.Device) (*charlm.Model, error) { return loadLM(p, d) }, args, out)
}

func sampleLM(family, weightsName string, load func(string, tensor.Device) (*charlm.Model, error), args []string, out io.Writer) error {
	fs := newFlags("sample "+family, "ingot sample "+family+" --weights W [--prompt P] [--n 500] [--temperature 0.8] [--seed 1] [--device auto]",
		"  ingot sample "+family+" --weights runs/"+family+"/"+weightsName+" --prompt 'It is a truth'\n"+
			"  ingot sample "+family+" --weights W --prompt 床前明月光 --n 100 --temperature 0\n", out)
	weights := fs.String("weights", "", "weight file written by ingot train "+family)
	prompt := fs.String("prompt", "", "text to continue (default: start after a newline)")
	n := fs.Int("n", 500, "characters to generate")
	temp := fs.Float64("temperature", 0.8, "sampling temperature (0: always the most likely character)")
	seed := fs.Uint64("seed", 1, "random seed: the same seed gives the same text")
	device := fs.String("device", "auto", "auto, cpu or metal")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *n < 0 || *n > 1<<24 {
		return usagef("--n must be in 0..%d, got %d", 1<<24, *n)
	}
	if !(*temp >= 0) || math.IsInf(*temp, 0) {
		return usagef("--temperature must be ≥ 0, got %v", *temp)
	}
	if *weights == "" {
		return usagef("--weights is required")
	}
	d, err := openDevice(*device)
	if err != nil {
		return err
	}
	m, err := load(*weights, d)
	if err != nil {
		return err
	}
	ctx, stop := interruptible()
	defer stop()
	s, err := m.Sample(ctx, *prompt, charlm.SampleOptions{N: *n, Temperature: *temp, Seed: *seed})
	if err != nil {
		return err
	}
	fmt.Fprintln(out, *prompt+s)
	return nil
}

// bpcReport is eval's JSON output.
type bpcReport struct {
	Weights string  `json:"weights"`
	Text    string  `json:"text"`
	Chars   int     `json:"chars"`
	Unknown int     `json:"unknown_chars"`
	BPC     float64 `json:"bits_per_char"`
	Device  string  `json:"device"`
}

func evalCharLM(args []string, out io.Writer) error {
	return evalLM("charlm", func(p string, d tensor.Device) (*charlm.Model, error) { return loadLM(p, d) }, args, out)
}

func evalLM(family string, load func(string, tensor.Device) (*charlm.Model, error), args []string, out io.Writer) error {
	fs := newFlags("eval "+family, "ingot eval "+family+" --weights W (--text FILE | --corpus NAME) [--json] [--device auto]",
		"  ingot eval "+family+" --weights W --text held-out.txt\n  ingot eval "+family+" --weights W --corpus tang300 --json\n", out)
	weights := fs.String("weights", "", "weight file written by ingot train "+family)
	text := fs.String("text", "", "UTF-8 text file to measure (raw or gzip)")
	corpus := fs.String("corpus", "", "or a shipped corpus (the whole text)")
	asJSON := fs.Bool("json", false, "print JSON")
	device := fs.String("device", "auto", "auto, cpu or metal")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *weights == "" {
		return usagef("--weights is required")
	}
	if (*text == "") == (*corpus == "") {
		return usagef("give exactly one of --text and --corpus")
	}
	var s, label string
	var err error
	if *text != "" {
		label = *text
		s, err = data.LoadText(*text)
	} else {
		label = "corpus " + *corpus
		s, err = data.LoadCorpus(*corpus)
		if err != nil {
			return usagef("--corpus: %v", err)
		}
	}
	if err != nil {
		return err
	}
	d, err := openDevice(*device)
	if err != nil {
		return err
	}
	m, err := load(*weights, d)
	if err != nil {
		return err
	}
	ids := m.Vocab.Encode(s)
	if len(ids) < 2 {
		return fmt.Errorf("%s: %d characters; bits per character need at least 2", label, len(ids))
	}
	unknown := 0
	for _, id := range ids {
		if id == data.UnknownID {
			unknown++
		}
	}
	ctx, stop := interruptible()
	defer stop()
	bpc, err := m.BitsPerChar(ctx, ids)
	if err != nil {
		return err
	}
	r := bpcReport{Weights: *weights, Text: label, Chars: len(ids), Unknown: unknown, BPC: bpc, Device: d.Name()}
	if *asJSON {
		js, _ := json.MarshalIndent(r, "", "  ")
		fmt.Fprintln(out, string(js))
		return nil
	}
	fmt.Fprintf(out, "%s: %d characters (%d outside the vocabulary), %.4f bits per character\n", label, r.Chars, r.Unknown, r.BPC)
	return nil
}

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

	"github.com/ingotml/ingot/bench"
	"github.com/ingotml/ingot/data"
	"github.com/ingotml/ingot/nn"
	"github.com/ingotml/ingot/tensor"
	"github.com/ingotml/ingot/train"
	"github.com/ingotml/ingot/vae"
)

func init() {
	registerFamily("vae", family{
		summary: "variational autoencoder on Fashion-MNIST images (MLP or conv)",
		train:   trainVAE,
		sample:  sampleVAE,
		eval:    evalVAE,
		bench:   benchVAE,
	})
}

// vaeImageBudget sets the default number of epochs: about this many
// training images, so the default run takes about the same time whatever
// the data set (50 epochs of the embedded subset, 5 of full Fashion-MNIST).
const vaeImageBudget = 300_000

// findImages is data.Find, plus "embedded" for the subset shipped in the
// binary even where a full data set is installed.
func findImages(dir string) (*data.Dataset, error) {
	if dir != "embedded" {
		return data.Find(dir)
	}
	tr, err := data.Default(data.Train)
	if err != nil {
		return nil, err
	}
	te, err := data.Default(data.Test)
	if err != nil {
		return nil, err
	}
	return &data.Dataset{Train: tr, Test: te, Source: data.Source{Kind: data.SourceEmbedded}}, nil
}

func checkFinite(name string, v, lo, hi float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < lo || v > hi {
		return usagef("--%s %v: want a number in [%g, %g]", name, v, lo, hi)
	}
	return nil
}

func noArgs(fs *flags) error {
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q (flags go after the model name)", fs.Arg(0))
	}
	return nil
}

func trainVAE(args []string, out io.Writer) error {
	fs := newFlags("train vae",
		"ingot train vae [--model mlp|conv] [--data DIR] [--epochs N] [--batch B] [--latent D] [--lr X] [--beta X] [--seed S] [--device auto|cpu|metal] [--out DIR] [--resume] [--quiet]",
		`  ingot train vae                                  # MLP VAE, about two minutes on 2 cores
  ingot train vae --epochs 10 --data /usr/share/datasets/fashion-mnist
  ingot train vae --model conv --latent 32 --out out/conv
  ingot train vae --epochs 20 --resume               # continue a run to 20 epochs

Data: --data DIR, else Debian's dataset-fashion-mnist if installed, else the
Fashion-MNIST subset embedded in ingot. Ctrl-C saves a checkpoint; --resume
continues from it with the same losses as an uninterrupted run.
`, out)
	model := fs.String("model", vae.MLP, "architecture: mlp (784-400-latent) or conv (Conv2d encoder, ConvTranspose2d decoder)")
	dataDir := fs.String("data", "", "MNIST-format data directory, or \"embedded\" (default: system Fashion-MNIST, else the embedded subset)")
	epochs := fs.Int("epochs", 0, fmt.Sprintf("training epochs (default: about %d images' worth, 50 on the embedded subset)", vaeImageBudget))
	batch := fs.Int("batch", vae.DefaultBatch, "batch size")
	latent := fs.Int("latent", 20, "latent dimensions")
	lr := fs.Float64("lr", vae.DefaultLR, "Adam learning rate")
	beta := fs.Float64("beta", vae.DefaultBeta, "weight of the KL term (1 = the ELBO)")
	seed := fs.Uint64("seed", vae.DefaultSeed, "random seed (initialisation, shuffling, noise)")
	device := fs.String("device", "auto", "auto, cpu or metal")
	outDir := fs.String("out", filepath.Join("out", "vae"), "output directory")
	resume := fs.Bool("resume", false, "continue from the checkpoint in --out")
	quiet := fs.Bool("quiet", false, "no progress bar or per-epoch lines")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if *model != vae.MLP && *model != vae.Conv {
		return usagef("--model %q: want mlp or conv", *model)
	}
	switch {
	case *epochs < 0 || *epochs > 100000:
		return usagef("--epochs %d: want 1 to 100000 (or 0 for the default)", *epochs)
	case *batch < 1 || *batch > 65536:
		return usagef("--batch %d: want 1 to 65536", *batch)
	case *latent < 1 || *latent > 4096:
		return usagef("--latent %d: want 1 to 4096", *latent)
	case *outDir == "":
		return usagef("--out must name a directory")
	}
	if err := checkFinite("lr", *lr, 1e-12, 10); err != nil {
		return err
	}
	if err := checkFinite("beta", *beta, 0, 1e6); err != nil {
		return err
	}
	d, err := openDevice(*device)
	if err != nil {
		return err
	}
	ds, err := findImages(*dataDir)
	if err != nil {
		return err
	}
	if ds.Train.N < *batch {
		return usagef("--batch %d is larger than the %d training images", *batch, ds.Train.N)
	}
	n := *epochs
	if n == 0 {
		n = max(1, (vaeImageBudget+ds.Train.N/2)/ds.Train.N)
	}
	cfg := vae.TrainConfig{Model: vae.DefaultConfig(*model), Epochs: n, Batch: *batch, LR: *lr, Beta: *beta,
		Seed: *seed, Dir: *outDir, Resume: *resume, Device: d, Out: out, Quiet: *quiet}
	cfg.Model.Latent = *latent
	cfg.Model.Height, cfg.Model.Width = ds.Train.Rows, ds.Train.Cols
	if err := cfg.Model.Validate(); err != nil {
		return usagef("%v", err)
	}
	if !*quiet {
		m, err := vae.New(tensor.CPU(), tensor.NewRNG(0), cfg.Model)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s; device %s\n", ds.Describe(), d.Name())
		epochsWord := "epochs"
		if n == 1 {
			epochsWord = "epoch"
		}
		fmt.Fprintf(out, "%s VAE, %d parameters; %d %s of %d steps (batch %d), Adam lr %g, beta %g, seed %d\n",
			*model, nn.NumParams(m), n, epochsWord, ds.Train.N / *batch, *batch, *lr, *beta, *seed)
	}
	ctx, stop := interruptible()
	defer stop()
	res, err := vae.Train(ctx, ds, cfg)
	var ie *train.InterruptedError
	if errors.As(err, &ie) {
		return fmt.Errorf("%w\nrun the same command with --resume to continue", err)
	}
	if err != nil {
		return err
	}
	t := res.Test
	fmt.Fprintf(out, "test loss %.2f nats per image (reconstruction %.2f with z = μ, KL %.2f) on %d test images\n", t.Loss, t.Recon, t.KL, t.Images)
	fmt.Fprintf(out, "wrote %s:\n", *outDir)
	for _, f := range [][2]string{
		{vae.WeightsFile, "the model (ingot sample vae --weights …, or vae.Load)"},
		{vae.SamplesFile, "64 images sampled from the prior"},
		{vae.ReconstructionsFile, "test images, each row above its reconstructions"},
		{vae.InterpolationFile, "walks through latent space between test images of two classes"},
		{vae.LossPlotFile + ", kl.png", "training curves"},
		{train.MetricsFile, "per-epoch train and test loss, seconds, images per second"},
		{train.CheckpointFile, "everything --resume needs"},
	} {
		fmt.Fprintf(out, "  %-27s %s\n", f[0], f[1])
	}
	return nil
}

func sampleVAE(args []string, out io.Writer) error {
	fs := newFlags("sample vae", "ingot sample vae --weights W [--n 64] [--seed S] [--cols C] [--device auto|cpu|metal] --out grid.png",
		"  ingot sample vae --weights out/vae/vae.safetensors.zst --out grid.png\n  ingot sample vae --weights vae.safetensors.zst --n 100 --cols 10 --seed 7 --out more.png\n", out)
	weights := fs.String("weights", "", "weight file written by ingot train vae (required)")
	n := fs.Int("n", 64, "number of images")
	seed := fs.Uint64("seed", 1, "random seed of the prior draw")
	cols := fs.Int("cols", 0, "images per row (default: a square grid)")
	device := fs.String("device", "auto", "auto, cpu or metal")
	outPath := fs.String("out", "", "PNG file to write (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	switch {
	case *weights == "":
		return usagef("--weights is required (the vae.safetensors.zst that ingot train vae wrote)")
	case *outPath == "":
		return usagef("--out is required (the PNG file to write)")
	case !strings.HasSuffix(strings.ToLower(*outPath), ".png"):
		return usagef("--out %q: the grid is a PNG; name it *.png", *outPath)
	case *n < 1 || *n > 10000:
		return usagef("--n %d: want 1 to 10000", *n)
	case *cols < 0 || *cols > 1000:
		return usagef("--cols %d: want 1 to 1000 (or 0 for a square grid)", *cols)
	}
	d, err := openDevice(*device)
	if err != nil {
		return err
	}
	m, err := vae.Load(*weights, d)
	if err != nil {
		return err
	}
	x := m.Sample(tensor.NewRNG(*seed), *n)
	if err := train.WriteGrid(*outPath, x, train.GridOptions{Cols: *cols, Zoom: 2}); err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %d samples to %s\n", *n, *outPath)
	return nil
}

// vaeEvalReport is `ingot eval vae --json`.
type vaeEvalReport struct {
	Weights string  `json:"weights"`
	Data    string  `json:"data"`
	Images  int     `json:"images"`
	Recon   float64 `json:"recon"`
	KL      float64 `json:"kl"`
	Loss    float64 `json:"loss"`
}

func evalVAE(args []string, out io.Writer) error {
	fs := newFlags("eval vae", "ingot eval vae --weights W [--data DIR] [--device auto|cpu|metal] [--json]",
		"  ingot eval vae --weights out/vae/vae.safetensors.zst\n  ingot eval vae --weights vae.safetensors.zst --data /usr/share/datasets/fashion-mnist --json\n", out)
	weights := fs.String("weights", "", "weight file written by ingot train vae (required)")
	dataDir := fs.String("data", "", "MNIST-format data directory, or \"embedded\" (default: system Fashion-MNIST, else the embedded subset)")
	device := fs.String("device", "auto", "auto, cpu or metal")
	asJSON := fs.Bool("json", false, "print a JSON object")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if *weights == "" {
		return usagef("--weights is required (the vae.safetensors.zst that ingot train vae wrote)")
	}
	d, err := openDevice(*device)
	if err != nil {
		return err
	}
	m, err := vae.Load(*weights, d)
	if err != nil {
		return err
	}
	ds, err := findImages(*dataDir)
	if err != nil {
		return err
	}
	e, err := vae.Evaluate(context.Background(), m, ds.Test)
	if err != nil {
		return err
	}
	r := vaeEvalReport{Weights: *weights, Data: ds.Source.String(), Images: e.Images, Recon: e.Recon, KL: e.KL, Loss: e.Loss}
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	fmt.Fprintf(out, "%s on the test split of %s (%d images), nats per image:\n", r.Weights, r.Data, r.Images)
	fmt.Fprintf(out, "  reconstruction (z = μ)  %.4f\n  KL                      %.4f\n  loss                    %.4f\n", r.Recon, r.KL, r.Loss)
	return nil
}

func benchVAE(args []string, out io.Writer) error {
	fs := newFlags("bench train vae", "ingot bench train vae [--model mlp|conv] [--batch B] [--device auto|cpu|metal] [--threads N] [--steps N] [--warmup N] [--json]",
		`  ingot bench train vae
  ingot bench train vae --threads 1 --steps 200
  python3 bench/pytorch/vae.py --bench --threads 1 --steps 200   # the same model in PyTorch
`, out)
	model := fs.String("model", vae.MLP, "mlp or conv")
	batch := fs.Int("batch", vae.DefaultBatch, "batch size")
	device := fs.String("device", "auto", "auto, cpu or metal")
	threads := fs.Int("threads", 0, "CPU threads (default: all cores)")
	steps := fs.Int("steps", 100, "timed steps")
	warmup := fs.Int("warmup", 10, "untimed steps first")
	asJSON := fs.Bool("json", false, "print a JSON object")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	switch {
	case *model != vae.MLP && *model != vae.Conv:
		return usagef("--model %q: want mlp or conv", *model)
	case *batch < 1 || *batch > 65536:
		return usagef("--batch %d: want 1 to 65536", *batch)
	case *threads < 0 || *threads > 1024:
		return usagef("--threads %d: want 1 to 1024 (or 0 for all cores)", *threads)
	case *steps < 1 || *steps > 1000000:
		return usagef("--steps %d: want 1 to 1000000", *steps)
	case *warmup < 0 || *warmup > 1000000:
		return usagef("--warmup %d: want 0 to 1000000", *warmup)
	}
	d, err := openDevice(*device)
	if err != nil {
		return err
	}
	r, err := bench.RunTrainVAE(bench.VAEConfig{Kind: *model, Batch: *batch, Device: d, Threads: *threads, Steps: *steps, Warmup: *warmup})
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	fmt.Fprintln(out, r.String())
	return nil
}

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ingotml/ingot/gan"
	"github.com/ingotml/ingot/nn"
	"github.com/ingotml/ingot/tensor"
	"github.com/ingotml/ingot/train"
)

func init() {
	registerFamily("gan", family{
		summary: "MLP GAN on Fashion-MNIST images (or a generator from a VAE decoder)",
		train:   func(a []string, o io.Writer) error { return trainGAN(gan.ArchMLP, a, o) },
		sample:  func(a []string, o io.Writer) error { return sampleGAN(gan.FamilyGAN, a, o) },
		eval:    func(a []string, o io.Writer) error { return evalGAN(gan.FamilyGAN, a, o) },
		bench:   func(a []string, o io.Writer) error { return benchGAN(gan.ArchMLP, a, o) },
	})
	registerFamily("dcgan", family{
		summary: "deep convolutional GAN on Fashion-MNIST images",
		train:   func(a []string, o io.Writer) error { return trainGAN(gan.ArchDCGAN, a, o) },
		sample:  func(a []string, o io.Writer) error { return sampleGAN(gan.FamilyDCGAN, a, o) },
		eval:    func(a []string, o io.Writer) error { return evalGAN(gan.FamilyDCGAN, a, o) },
		bench:   func(a []string, o io.Writer) error { return benchGAN(gan.ArchDCGAN, a, o) },
	})
}

// Default epochs: about this many training images, so a default run takes
// about the same time whatever the data set.
const (
	ganImageBudget   = 300_000 // MLP GAN: 5 epochs of Fashion-MNIST, 50 of the embedded subset
	dcganImageBudget = 120_000 // DCGAN: 2 epochs of Fashion-MNIST, 20 of the embedded subset
)

func trainGAN(arch string, args []string, out io.Writer) error {
	name, budget := "gan", ganImageBudget
	if arch == gan.ArchDCGAN {
		name, budget = "dcgan", dcganImageBudget
	}
	syn := fmt.Sprintf("ingot train %s [--data DIR] [--epochs N] [--batch B] [--noise D] [--lr X] [--beta1 X] [--d-steps K] [--g-steps K] [--label-smoothing S] [--instance-noise S] [--seed S] [--device auto|cpu|metal] [--out DIR] [--resume] [--quiet]", name)
	ex := fmt.Sprintf(`  ingot train %[1]s
  ingot train %[1]s --data embedded --epochs 30 --out out/%[1]s
  ingot train %[1]s --label-smoothing 0.1 --instance-noise 0.1
  ingot train %[1]s --epochs 40 --resume              # continue a run to 40 epochs
`, name)
	if arch == gan.ArchMLP {
		syn += " [--init-generator vae.safetensors.zst]"
		ex += "  ingot train gan --init-generator out/vae/vae.safetensors.zst   # generator = the VAE's decoder\n"
	} else {
		syn += " [--features F]"
	}
	ex += `
Data: --data DIR, else Debian's dataset-fashion-mnist if installed, else the
Fashion-MNIST subset embedded in ingot ("embedded" picks it explicitly).
Images are scaled to [-1, 1]. Ctrl-C saves a checkpoint; --resume continues.
`
	fs := newFlags("train "+name, syn, ex, out)
	dataDir := fs.String("data", "", "MNIST-format data directory, or \"embedded\" (default: system Fashion-MNIST, else the embedded subset)")
	epochs := fs.Int("epochs", 0, fmt.Sprintf("training epochs (default: about %d images' worth)", budget))
	batch := fs.Int("batch", gan.DefaultBatch, "batch size")
	noise := fs.Int("noise", 100, "noise (z) dimensions")
	lr := fs.Float64("lr", gan.DefaultLR, "Adam learning rate of both networks")
	beta1 := fs.Float64("beta1", gan.DefaultBeta1, "Adam β1 (β2 is 0.999)")
	dSteps := fs.Int("d-steps", 1, "discriminator updates per generator update")
	gSteps := fs.Int("g-steps", 1, "generator updates each time")
	smooth := fs.Float64("label-smoothing", 0, "one-sided label smoothing: real target 1-S (0.1 is common)")
	inst := fs.Float64("instance-noise", 0, "std of Gaussian noise on D's inputs, decaying to 0 over the run")
	seed := fs.Uint64("seed", gan.DefaultSeed, "random seed (initialisation, shuffling, noise)")
	device := fs.String("device", "auto", "auto, cpu or metal")
	outDir := fs.String("out", filepath.Join("out", name), "output directory")
	resume := fs.Bool("resume", false, "continue from the checkpoint in --out")
	quiet := fs.Bool("quiet", false, "no progress bar or per-epoch lines")
	var initGen *string
	var features *int
	if arch == gan.ArchMLP {
		initGen = fs.String("init-generator", "", "VAE weight file whose decoder becomes the generator (noise size = its latent size)")
	} else {
		features = fs.Int("features", 32, "base channel count F (G: 2F→F→1, D: 1→F→2F)")
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	switch {
	case *epochs < 0 || *epochs > 100000:
		return usagef("--epochs %d: want 1 to 100000 (or 0 for the default)", *epochs)
	case *batch < 2 || *batch > 65536:
		return usagef("--batch %d: want 2 to 65536", *batch)
	case *noise < 1 || *noise > 4096:
		return usagef("--noise %d: want 1 to 4096", *noise)
	case *dSteps < 1 || *dSteps > 100:
		return usagef("--d-steps %d: want 1 to 100", *dSteps)
	case *gSteps < 1 || *gSteps > 100:
		return usagef("--g-steps %d: want 1 to 100", *gSteps)
	case features != nil && (*features < 1 || *features > 1024):
		return usagef("--features %d: want 1 to 1024", *features)
	case *outDir == "":
		return usagef("--out must name a directory")
	}
	if err := checkFinite("lr", *lr, 1e-12, 10); err != nil {
		return err
	}
	if err := checkFinite("beta1", *beta1, 0, 0.999999); err != nil {
		return err
	}
	if err := checkFinite("label-smoothing", *smooth, 0, 0.999); err != nil {
		return err
	}
	if err := checkFinite("instance-noise", *inst, 0, 10); err != nil {
		return err
	}
	cfg := gan.TrainConfig{Model: gan.DefaultConfig(arch), Batch: *batch, LR: *lr, Beta1: *beta1, Seed: *seed,
		Step: gan.StepConfig{DSteps: *dSteps, GSteps: *gSteps, LabelSmoothing: *smooth, InstanceNoise: *inst},
		Dir:  *outDir, Resume: *resume, Out: out, Quiet: *quiet}
	cfg.Model.Noise = *noise
	if features != nil {
		cfg.Model.Features = *features
	}
	if initGen != nil && *initGen != "" {
		if noiseSet(fs) {
			return usagef("--noise cannot be combined with --init-generator (the noise size is the VAE's latent size)")
		}
		if _, err := os.Stat(*initGen); err != nil {
			return usagef("--init-generator: %v", err)
		}
		cfg.InitGenerator = *initGen
		cfg.Model = gan.Config{Arch: gan.ArchVAE}
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
	if cfg.InitGenerator == "" {
		cfg.Model.Height, cfg.Model.Width = ds.Train.Rows, ds.Train.Cols
		if err := cfg.Model.Validate(); err != nil {
			return usagef("%v", err)
		}
	}
	n := *epochs
	if n == 0 {
		n = max(1, (budget+ds.Train.N/2)/ds.Train.N)
	}
	cfg.Epochs = n
	steps := ds.Train.N / *batch
	cfg.Step.NoiseDecaySteps = n * steps
	cfg.Device = d
	ctx, stop := interruptible()
	defer stop()
	if !*quiet {
		fmt.Fprintf(out, "%s; device %s\n", ds.Describe(), d.Name())
	}
	res, err := gan.Train(ctx, ds, cfg)
	var ie *train.InterruptedError
	if errors.As(err, &ie) {
		return fmt.Errorf("%w\nrun the same command with --resume to continue", err)
	}
	if err != nil {
		return err
	}
	m := res.Model
	fmt.Fprintf(out, "%s: generator %d and discriminator %d parameters, %d epochs of %d steps (batch %d)\n",
		m.Config.Arch, nn.NumParams(m.Generator), nn.NumParams(m.Discriminator), n, steps, *batch)
	if h := res.History; h != nil && len(h.Epochs) > 0 {
		e := h.Epochs[len(h.Epochs)-1]
		fmt.Fprintf(out, "last epoch: D loss %.3f, G loss %.3f; D on held-out real vs generated: accuracy %.3f, F1 %.3f\n",
			e.Train["d_loss"], e.Train["g_loss"], e.Test["d_accuracy"], e.Test["d_f1"])
	}
	fmt.Fprintf(out, "wrote %s:\n", *outDir)
	for _, f := range [][2]string{
		{gan.WeightsFile, fmt.Sprintf("the model (ingot sample %s --weights …, ingot eval %s --weights …)", name, name)},
		{gan.SamplesFile, "64 images from fixed noise after the last epoch (samples_NNN.png: each epoch)"},
		{gan.LossPlotFile, "D and G losses"},
		{gan.DPlotFile, "discriminator accuracy and F1 on held-out real vs generated images"},
		{train.MetricsFile, "per-epoch losses, D metrics, seconds, images per second"},
		{train.CheckpointFile, "everything --resume needs"},
	} {
		fmt.Fprintf(out, "  %-27s %s\n", f[0], f[1])
	}
	return nil
}

// noiseSet reports whether --noise was given.
func noiseSet(fs *flags) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "noise" {
			set = true
		}
	})
	return set
}

// loadGAN loads a weight file of the family the command names.
func loadGAN(family, path string, d tensor.Device) (*gan.Model, error) {
	if path == "" {
		return nil, usagef("--weights is required (a file written by ingot train %s)", family)
	}
	if _, err := os.Stat(path); err != nil {
		return nil, usagef("--weights: %v", err)
	}
	m, err := gan.Load(path, d)
	if err != nil {
		return nil, err
	}
	if m.Family() != family {
		return nil, usagef("--weights %s holds a %s model; use ingot … %s", path, m.Family(), m.Family())
	}
	return m, nil
}

func sampleGAN(family string, args []string, out io.Writer) error {
	fs := newFlags("sample "+family, fmt.Sprintf("ingot sample %s --weights W [--n 64] [--seed S] [--cols C] [--device auto|cpu|metal] --out grid.png", family),
		fmt.Sprintf("  ingot sample %[1]s --weights out/%[1]s/gan.safetensors.zst --out grid.png\n  ingot sample %[1]s --weights out/%[1]s/gan.safetensors.zst --n 100 --cols 10 --seed 7 --out grid.png\n", family), out)
	weights := fs.String("weights", "", fmt.Sprintf("weight file written by ingot train %s (required)", family))
	n := fs.Int("n", 64, "number of images")
	seed := fs.Uint64("seed", 1, "random seed of the noise")
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
	case *n < 1 || *n > 10000:
		return usagef("--n %d: want 1 to 10000", *n)
	case *cols < 0 || *cols > 10000:
		return usagef("--cols %d: want 1 to 10000 (or 0 for a square grid)", *cols)
	case *outPath == "":
		return usagef("--out is required (the PNG file to write)")
	}
	d, err := openDevice(*device)
	if err != nil {
		return err
	}
	m, err := loadGAN(family, *weights, d)
	if err != nil {
		return err
	}
	z := m.Noise(tensor.NewRNG(*seed), *n)
	x := m.Sample(z)
	defer x.Release()
	if err := train.WriteGrid(*outPath, x, train.GridOptions{Cols: *cols, Lo: -1, Hi: 1, Zoom: 2}); err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %d samples to %s\n", *n, *outPath)
	return nil
}

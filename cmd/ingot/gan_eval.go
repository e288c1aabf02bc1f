package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ingotml/ingot/data"
	"github.com/ingotml/ingot/gan"
	"github.com/ingotml/ingot/gan/classifier"
	"github.com/ingotml/ingot/internal/parallel"
)

func evalGAN(family string, args []string, out io.Writer) error {
	fs := newFlags("eval "+family, fmt.Sprintf("ingot eval %s --weights W [--n 1000] [--seed S] [--data DIR] [--classifier FILE] [--device auto|cpu|metal] [--json]", family),
		fmt.Sprintf(`  ingot eval %[1]s --weights out/%[1]s/gan.safetensors.zst
  ingot eval %[1]s --weights out/%[1]s/gan.safetensors.zst --n 5000 --json

Generates --n images and labels them with the Fashion-MNIST classifier that
ships with ingot (package gan/classifier): mode coverage is the number of
classes holding at least 1%% of the samples; FD is the Fréchet distance
between the classifier's features of test images and of samples, printed
beside the distance between two halves of the test set (a perfect
generator's value). The same seed gives the same numbers.
`, family), out)
	weights := fs.String("weights", "", fmt.Sprintf("weight file written by ingot train %s (required)", family))
	n := fs.Int("n", 1000, "number of generated images")
	seed := fs.Uint64("seed", 1, "random seed of the noise")
	dataDir := fs.String("data", "", "MNIST-format data directory for the real test images, or \"embedded\" (default: system Fashion-MNIST, else the embedded subset)")
	clf := fs.String("classifier", "", "classifier weight file (default: the one shipped with ingot)")
	device := fs.String("device", "auto", "auto, cpu or metal")
	asJSON := fs.Bool("json", false, "print a JSON object")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if *n < 2 || *n > 1000000 {
		return usagef("--n %d: want 2 to 1000000", *n)
	}
	d, err := openDevice(*device)
	if err != nil {
		return err
	}
	m, err := loadGAN(family, *weights, d)
	if err != nil {
		return err
	}
	var c *classifier.Model
	if *clf == "" {
		c, err = classifier.Shipped(d)
	} else {
		if _, serr := os.Stat(*clf); serr != nil {
			return usagef("--classifier: %v", serr)
		}
		c, err = classifier.Load(*clf, d)
	}
	if err != nil {
		return err
	}
	ds, err := findImages(*dataDir)
	if err != nil {
		return err
	}
	ctx, stop := interruptible()
	defer stop()
	q, err := gan.EvaluateSamples(ctx, m, c, ds.Test, *n, *seed)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Weights string `json:"weights"`
			Data    string `json:"data"`
			gan.Quality
		}{*weights, ds.Source.String(), q})
	}
	fmt.Fprintf(out, "%s, %d samples (seed %d) against %s\n", *weights, q.Samples, q.Seed, ds.Source)
	fmt.Fprintf(out, "mode coverage: %d of %d classes (≥ %.0f%% of the samples each)\n", q.Classes, classifier.Classes, 100*q.CoverageShare)
	var parts []string
	for i, k := range q.ClassCounts {
		parts = append(parts, fmt.Sprintf("%s %d", data.FashionMNISTClasses[i], k))
	}
	fmt.Fprintf(out, "  %s\n", strings.Join(parts, ", "))
	fmt.Fprintf(out, "Fréchet distance (classifier features, %d images each): %.3f; real vs real: %.3f\n", q.RealImages, q.FD, q.FDBaseline)
	return nil
}

// ganBenchResult is the timing of GAN training steps.
type ganBenchResult struct {
	Model        string  `json:"model"`
	Batch        int     `json:"batch"`
	Device       string  `json:"device"`
	Threads      int     `json:"threads"`
	Steps        int     `json:"steps"`
	MSMedian     float64 `json:"ms_median"`
	MSMin        float64 `json:"ms_min"`
	ImagesPerSec float64 `json:"images_per_second"`
	// CPUMSPerStep is the process CPU time per timed step (all threads):
	// on a shared machine it says what a step costs when wall time does
	// not.
	CPUMSPerStep float64 `json:"cpu_ms_per_step"`
}

func benchGAN(arch string, args []string, out io.Writer) error {
	name := map[string]string{gan.ArchMLP: "gan", gan.ArchDCGAN: "dcgan"}[arch]
	fs := newFlags("bench train "+name, fmt.Sprintf("ingot bench train %s [--batch B] [--device auto|cpu|metal] [--threads N] [--steps N] [--warmup N] [--json]", name),
		fmt.Sprintf(`  ingot bench train %[1]s
  ingot bench train %[1]s --threads 1 --steps 50
  python3 bench/pytorch/%[1]s.py --threads 1 --steps 50   # the same model in PyTorch

A step is one discriminator update (real and generated batch) and one
generator update, with Adam, as ingot train %[1]s runs it.
`, name), out)
	batch := fs.Int("batch", gan.DefaultBatch, "batch size")
	device := fs.String("device", "auto", "auto, cpu or metal")
	threads := fs.Int("threads", 0, "CPU threads (default: all cores)")
	steps := fs.Int("steps", 50, "timed steps")
	warmup := fs.Int("warmup", 5, "untimed steps first")
	asJSON := fs.Bool("json", false, "print a JSON object")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	switch {
	case *batch < 2 || *batch > 65536:
		return usagef("--batch %d: want 2 to 65536", *batch)
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
	defer parallel.Limit(*threads)()
	set, err := data.Default(data.Train)
	if err != nil {
		return err
	}
	if *batch > set.N {
		return usagef("--batch %d is larger than the %d embedded images", *batch, set.N)
	}
	tr, err := gan.NewTrainer(d, gan.TrainConfig{Model: gan.Config{Arch: arch}, Batch: *batch}, nil)
	if err != nil {
		return err
	}
	ld, err := data.NewLoader(set, *batch, data.LoaderOptions{Seed: 1, Shuffle: true, DropLast: true, Scale: data.ScaleSigned})
	if err != nil {
		return err
	}
	var b data.Batch
	step := func() error {
		if !ld.Next(&b) {
			ld.Next(&b)
		}
		if _, err := tr.Step(context.Background(), &b); err != nil {
			return err
		}
		return d.Sync()
	}
	for range *warmup {
		if err := step(); err != nil {
			return err
		}
	}
	ms := make([]float64, *steps)
	cpu0 := processCPU()
	for i := range ms {
		t := time.Now()
		if err := step(); err != nil {
			return err
		}
		ms[i] = float64(time.Since(t).Nanoseconds()) / 1e6
	}
	cpu := (processCPU() - cpu0).Seconds() * 1000 / float64(*steps)
	slices.Sort(ms)
	med := ms[len(ms)/2]
	if len(ms)%2 == 0 {
		med = (ms[len(ms)/2-1] + ms[len(ms)/2]) / 2
	}
	r := ganBenchResult{Model: name, Batch: *batch, Device: d.Name(), Threads: parallel.Threads(), Steps: *steps,
		MSMedian: med, MSMin: ms[0], ImagesPerSec: float64(*batch) / med * 1000, CPUMSPerStep: cpu}
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	fmt.Fprintf(out, "ingot %s batch %d on %s, %d threads: median %.2f ms/step (min %.2f) over %d steps, %.0f images/s; CPU time %.2f ms/step\n",
		r.Model, r.Batch, r.Device, r.Threads, r.MSMedian, r.MSMin, r.Steps, r.ImagesPerSec, r.CPUMSPerStep)
	return nil
}

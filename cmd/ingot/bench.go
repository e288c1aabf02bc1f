package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/ingotml/ingot/bench"
	"github.com/ingotml/ingot/internal/cpufeat"
	"github.com/ingotml/ingot/tensor"
)

func init() {
	register(&command{name: "bench", summary: "measure speed: GEMM throughput, training steps", run: runBench})
}

func runBench(args []string, out io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		fmt.Fprint(out, `Usage:
  ingot bench gemm [flags]            matrix-multiplication GFLOPS
  ingot bench train <model> [flags]   milliseconds per training step

Run 'ingot bench gemm -h' or 'ingot bench train <model> -h' for flags.
`)
		if len(args) == 0 {
			return usagef("what to benchmark? gemm or train")
		}
		return nil
	}
	switch args[0] {
	case "gemm":
		return benchGEMM(args[1:], out)
	case "train":
		return runFamily("bench train", func(f family) func([]string, io.Writer) error { return f.bench }, args[1:], out)
	}
	return usagef("unknown benchmark %q (have: gemm, train)", args[0])
}

func benchGEMM(args []string, out io.Writer) error {
	fs := newFlags("bench gemm", "ingot bench gemm [--sizes LIST] [--threads N] [--repeat N] [--device cpu|metal|all] [--paths LIST] [--json]",
		"  ingot bench gemm\n  ingot bench gemm --sizes 1024,64x1024x1024 --threads 2 --repeat 9\n  ingot bench gemm --device all --json\n", out)
	sizes := fs.String("sizes", "", "comma-separated shapes, N (N×N×N) or MxNxK (default: 128…2048 and 64x1024x1024)")
	threads := fs.Int("threads", 0, "CPU threads (default: all cores)")
	repeat := fs.Int("repeat", 5, "timed runs per row after a warm-up")
	device := fs.String("device", "cpu", "cpu, metal or all")
	paths := fs.String("paths", "", "CPU kernel paths to time, e.g. avx512,avx2 (default: all available)")
	asJSON := fs.Bool("json", false, "one JSON object per row")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	cfg := bench.GEMMConfig{Threads: *threads, Repeat: *repeat, JSON: *asJSON}
	if *sizes != "" {
		s, err := bench.ParseSizes(*sizes)
		if err != nil {
			return usagef("--sizes: %v", err)
		}
		cfg.Sizes = s
	}
	if *threads < 0 {
		return usagef("--threads must be at least 1 (or 0 for all cores), got %d", *threads)
	}
	if *repeat < 1 {
		return usagef("--repeat must be at least 1, got %d", *repeat)
	}
	if *paths != "" {
		for _, p := range strings.Split(*paths, ",") {
			if !cpufeat.Has(cpufeat.Path(p)) {
				return usagef("--paths: this CPU has no %q path (available: %v)", p, cpufeat.Available())
			}
			cfg.Paths = append(cfg.Paths, cpufeat.Path(p))
		}
	}
	var devs []string
	switch *device {
	case "cpu", "metal":
		devs = []string{*device}
	case "all":
		devs = []string{"cpu", "metal"}
	default:
		return usagef("--device must be cpu, metal or all, got %q", *device)
	}
	for _, name := range devs {
		if name == "cpu" {
			if _, err := bench.RunGEMM(out, cfg); err != nil {
				return err
			}
			continue
		}
		d, err := tensor.GetDevice("metal")
		if err != nil {
			if *device == "all" {
				fmt.Fprintf(out, "metal: skipped: %v\n", err)
				continue
			}
			return err
		}
		if _, err := bench.RunDeviceGEMM(out, d, cfg); err != nil {
			return err
		}
	}
	return nil
}

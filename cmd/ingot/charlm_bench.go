package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ingotml/ingot/charlm"
	"github.com/ingotml/ingot/data"
	"github.com/ingotml/ingot/internal/parallel"
	"github.com/ingotml/ingot/tensor"
)

// charlmBench is one row of `ingot bench train charlm`.
type charlmBench struct {
	Impl     string  `json:"impl"` // "ingot" or "pytorch"
	Device   string  `json:"device"`
	Threads  int     `json:"threads,omitempty"`
	MedianMS float64 `json:"median_ms"`
	MinMS    float64 `json:"min_ms"`
	// CPUMS is the process CPU time per step (user + system, all threads):
	// steadier than wall time on a shared machine.
	CPUMS float64 `json:"cpu_ms"`
	Iters int     `json:"iters"`
	Note  string  `json:"note,omitempty"`
}

func benchCharLM(args []string, out io.Writer) error {
	fs := newFlags("bench train charlm", "ingot bench train charlm [--device cpu] [--threads N] [--iters 20] [--pytorch] [--json]",
		"  ingot bench train charlm\n  ingot bench train charlm --pytorch      # PyTorch side by side (bench/pytorch/charlstm.py)\n", out)
	device := fs.String("device", "cpu", "auto, cpu or metal")
	threads := fs.Int("threads", 0, "CPU threads for ingot (default: all cores; the PyTorch twin runs 1 and 2)")
	vocab := fs.Int("vocab", 96, "vocabulary size")
	embed := fs.Int("embed", 64, "embedding size")
	hidden := fs.Int("hidden", 256, "LSTM hidden size")
	seq := fs.Int("seq", 64, "characters per chunk")
	batch := fs.Int("batch", 32, "tracks per step")
	iters := fs.Int("iters", 20, "timed iterations (after 3 warm-up ones)")
	pytorch := fs.Bool("pytorch", false, "also time the PyTorch twin in the same run (needs python3 with torch)")
	python := fs.String("python", "/usr/bin/python3", "Python interpreter for --pytorch")
	script := fs.String("script", "bench/pytorch/charlstm.py", "PyTorch twin for --pytorch (fixed at vocab 96 / embed 64 / hidden 256 / seq 64 / batch 32)")
	asJSON := fs.Bool("json", false, "one JSON object per row")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	for _, c := range []struct {
		name   string
		v, max int
	}{{"vocab", *vocab, charlm.MaxVocab}, {"embed", *embed, charlm.MaxWidth}, {"hidden", *hidden, charlm.MaxWidth}, {"seq", *seq, 1 << 16}, {"batch", *batch, 1 << 16}, {"iters", *iters, 1 << 20}} {
		if c.v < 1 || c.v > c.max {
			return usagef("--%s must be in 1..%d, got %d", c.name, c.max, c.v)
		}
	}
	if *threads < 0 || *threads > 1024 {
		return usagef("--threads %d: want 1 to 1024 (or 0 for all cores)", *threads)
	}
	defer parallel.Limit(*threads)()
	if *vocab < 2 {
		return usagef("--vocab must be at least 2")
	}
	d, err := openDevice(*device)
	if err != nil {
		return err
	}
	rs := make([]rune, *vocab-1)
	for i := range rs {
		rs[i] = rune(0x100 + i)
	}
	v, err := data.VocabFromRunes(rs)
	if err != nil {
		return err
	}
	m, err := charlm.New(d, tensor.NewRNG(1), v, charlm.Config{Vocab: *vocab, Embed: *embed, Hidden: *hidden, Layers: 1})
	if err != nil {
		return err
	}
	// As the PyTorch twin: forward from a zero state, cross-entropy,
	// backward, Adam (lr 1e-3), no clipping.
	tr, err := charlm.NewTrainer(m, charlm.TrainConfig{LR: 1e-3})
	if err != nil {
		return err
	}
	T, B := *seq, *batch
	in, tg := make([]int32, T*B), make([]int32, T*B)
	for i := range in {
		in[i] = 1 + int32(tensor.RandomValue(tensor.DistUniform, 0, float32(*vocab-1), 2, 0, uint64(2*i)))
		tg[i] = 1 + int32(tensor.RandomValue(tensor.DistUniform, 0, float32(*vocab-1), 2, 0, uint64(2*i+1)))
	}
	var times []float64
	var cpu0 time.Duration
	for i := range 3 + *iters {
		if i == 3 {
			cpu0 = processCPU()
		}
		t0 := time.Now()
		tr.Step(in, tg, T, B, true)
		if err := d.Sync(); err != nil {
			return fmt.Errorf("device %s: %w", d.Name(), err)
		}
		if i >= 3 {
			times = append(times, float64(time.Since(t0).Microseconds())/1e3)
		}
	}
	cpuMS := float64((processCPU() - cpu0).Microseconds()) / 1e3 / float64(*iters)
	slices.Sort(times)
	rows := []charlmBench{{Impl: "ingot", Device: d.Name(), MedianMS: lmMedian(times), MinMS: times[0], CPUMS: cpuMS, Iters: *iters}}
	if *pytorch {
		if *vocab != 96 || *embed != 64 || *hidden != 256 || *seq != 64 || *batch != 32 {
			return usagef("--pytorch compares at the twin's fixed sizes: drop --vocab/--embed/--hidden/--seq/--batch")
		}
		r, err := runTorchCharLSTM(*python, *script, *iters)
		if err != nil {
			return err
		}
		rows = append(rows, r...)
	}
	for _, r := range rows {
		if *asJSON {
			js, _ := json.Marshal(r)
			fmt.Fprintln(out, string(js))
			continue
		}
		who := r.Impl + " " + r.Device
		if r.Threads > 0 {
			who += fmt.Sprintf(" (%d threads)", r.Threads)
		}
		fmt.Fprintf(out, "charlm train step V=%d E=%d H=%d T=%d B=%d  %-24s median %8.2f ms  min %8.2f ms  cpu %8.2f ms/step  (%d iterations)\n",
			*vocab, *embed, *hidden, T, B, who, r.MedianMS, r.MinMS, r.CPUMS, r.Iters)
	}
	return nil
}

func lmMedian(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

var lmTorchLine = regexp.MustCompile(`threads (\d+): median ([0-9.]+) ms/step \(min ([0-9.]+)[^)]*\)(?:, ([0-9.]+) cpu-ms/step)?`)

// runTorchCharLSTM runs the PyTorch twin once per thread count from 1 to
// the number of CPUs, each in its best configuration: OpenBLAS on as many
// threads as torch, its own kernel choice (a machine-wide OPENBLAS_CORETYPE
// or OPENBLAS_L2_SIZE can force a slower one) and glibc's malloc keeping its
// memory. It returns a row per thread count.
func runTorchCharLSTM(python, script string, iters int) ([]charlmBench, error) {
	var rows []charlmBench
	for n := 1; n <= runtime.NumCPU(); n++ {
		r, err := runTorchCharLSTMThreads(python, script, iters, n)
		if err != nil {
			return nil, err
		}
		rows = append(rows, r...)
	}
	return rows, nil
}

func runTorchCharLSTMThreads(python, script string, iters, threads int) ([]charlmBench, error) {
	cmd := exec.Command(python, script, "--iters", strconv.Itoa(iters), "--threads", strconv.Itoa(threads))
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OPENBLAS_") && !strings.HasPrefix(kv, "MALLOC_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "OPENBLAS_NUM_THREADS="+strconv.Itoa(threads),
		"MALLOC_MMAP_THRESHOLD_=4294967296", "MALLOC_TRIM_THRESHOLD_=4294967296")
	outb, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("PyTorch twin (%s %s): %v\n%s", python, script, err, outb)
	}
	var rows []charlmBench
	for _, mm := range lmTorchLine.FindAllSubmatch(outb, -1) {
		th, _ := strconv.Atoi(string(mm[1]))
		med, _ := strconv.ParseFloat(string(mm[2]), 64)
		mn, _ := strconv.ParseFloat(string(mm[3]), 64)
		cpu, _ := strconv.ParseFloat(string(mm[4]), 64)
		rows = append(rows, charlmBench{Impl: "pytorch", Device: "cpu", Threads: th, MedianMS: med, MinMS: mn, CPUMS: cpu, Iters: iters})
	}
	if rows == nil {
		return nil, fmt.Errorf("PyTorch twin printed no median: %s", outb)
	}
	return rows, nil
}

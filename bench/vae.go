package bench

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ingotml/ingot/data"
	"github.com/ingotml/ingot/internal/parallel"
	"github.com/ingotml/ingot/tensor"
	"github.com/ingotml/ingot/vae"
)

// VAEConfig selects what RunTrainVAE measures.
type VAEConfig struct {
	Kind    string        // vae.MLP (default) or vae.Conv, default sizes
	Batch   int           // default 128
	Device  tensor.Device // default the CPU
	Threads int           // CPU threads (and GOMAXPROCS); 0 keeps the current count
	Steps   int           // timed steps; default 100
	Warmup  int           // untimed steps first; default 10
}

// VAEResult is the timing of VAE training steps: forward, backward, Adam
// update and the device sync, on batches of the embedded Fashion-MNIST
// subset.
type VAEResult struct {
	Model        string  `json:"model"`
	Batch        int     `json:"batch"`
	Device       string  `json:"device"`
	Threads      int     `json:"threads"`
	Steps        int     `json:"steps"`
	MSMedian     float64 `json:"ms_median"`
	MSMin        float64 `json:"ms_min"`
	ImagesPerSec float64 `json:"images_per_second"` // at the median
}

func (r VAEResult) String() string {
	return fmt.Sprintf("ingot vae-%s batch %d on %s, %d threads: median %.2f ms/step (min %.2f) over %d steps, %.0f images/s",
		r.Model, r.Batch, r.Device, r.Threads, r.MSMedian, r.MSMin, r.Steps, r.ImagesPerSec)
}

// RunTrainVAE times single VAE training steps after a warm-up; the step is
// exactly what `ingot train vae` runs.
func RunTrainVAE(cfg VAEConfig) (VAEResult, error) {
	if cfg.Kind == "" {
		cfg.Kind = vae.MLP
	}
	cfg.Batch = cmp0(cfg.Batch, vae.DefaultBatch)
	cfg.Steps = cmp0(cfg.Steps, 100)
	if cfg.Warmup == 0 {
		cfg.Warmup = 10
	}
	if cfg.Device == nil {
		cfg.Device = tensor.CPU()
	}
	if cfg.Batch < 0 || cfg.Steps < 0 || cfg.Warmup < 0 || cfg.Threads < 0 {
		return VAEResult{}, fmt.Errorf("bench: batch, steps, warm-up and threads must not be negative")
	}
	defer parallel.Limit(cfg.Threads)()
	set, err := data.Default(data.Train)
	if err != nil {
		return VAEResult{}, err
	}
	if cfg.Batch > set.N {
		return VAEResult{}, fmt.Errorf("bench: batch %d is larger than the %d images of the embedded subset", cfg.Batch, set.N)
	}
	tr, err := vae.NewTrainer(cfg.Device, vae.TrainConfig{Model: vae.DefaultConfig(cfg.Kind), Batch: cfg.Batch}, nil)
	if err != nil {
		return VAEResult{}, err
	}
	ld, err := data.NewLoader(set, cfg.Batch, data.LoaderOptions{Seed: 1, Shuffle: true, DropLast: true})
	if err != nil {
		return VAEResult{}, err
	}
	var b data.Batch
	step := func() error {
		if !ld.Next(&b) {
			ld.Next(&b)
		}
		if _, err := tr.Step(context.Background(), &b); err != nil {
			return err
		}
		return cfg.Device.Sync()
	}
	for range cfg.Warmup {
		if err := step(); err != nil {
			return VAEResult{}, err
		}
	}
	ms := make([]float64, cfg.Steps)
	for i := range ms {
		t := time.Now()
		if err := step(); err != nil {
			return VAEResult{}, err
		}
		ms[i] = float64(time.Since(t).Nanoseconds()) / 1e6
	}
	slices.Sort(ms)
	med := ms[len(ms)/2]
	if len(ms)%2 == 0 {
		med = (ms[len(ms)/2-1] + ms[len(ms)/2]) / 2
	}
	return VAEResult{Model: cfg.Kind, Batch: cfg.Batch, Device: cfg.Device.Name(), Threads: parallel.Threads(), Steps: cfg.Steps,
		MSMedian: med, MSMin: ms[0], ImagesPerSec: float64(cfg.Batch) / med * 1000}, nil
}

package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/ingotml/ingot/tensor"
)

// Metrics are named scalar measurements of a step or an evaluation, per
// example (per image, per character) so that batches of different sizes
// average correctly.
type Metrics map[string]float64

// Source yields batches of type B in epochs. data.Loader (B = data.Batch)
// and data.TextBatcher (B = data.TextBatch) implement it.
type Source[B any] interface {
	// Next fills b with the next batch and reports true, or reports false
	// at the end of the epoch and moves to the start of the next one.
	Next(b *B) bool
	StepsPerEpoch() int
	// Position is the epoch and step of the batch Next yields next.
	Position() (epoch, step int)
	// Seek positions the source so the next batch is exactly the one an
	// uninterrupted run would see at (epoch, step).
	Seek(epoch, step int) error
}

// Task is one model family's training logic over batches of type B.
type Task[B any] interface {
	// Step trains on one batch (forward, backward, optimizer update) and
	// returns its metrics.
	Step(ctx context.Context, b *B) (Metrics, error)
	// Evaluate measures held-out data, deterministically; nil metrics mean
	// there is nothing to evaluate.
	Evaluate(ctx context.Context) (Metrics, error)
	// State returns what a checkpoint must hold besides the data position:
	// named tensors (model weights, optimizer state) and string metadata
	// (RNG state, step counters). Metadata keys must not start with
	// "train.", which the loop reserves.
	State() (map[string]*tensor.Tensor, map[string]string, error)
	// LoadState restores what State returned.
	LoadState(tensors map[string]*tensor.Tensor, meta map[string]string) error
}

// EpochEnder is implemented by tasks that write something after each epoch
// (sample grids, weight files). It runs after the epoch's evaluation and
// before its checkpoint; rec is the epoch's record.
type EpochEnder interface {
	EndEpoch(ctx context.Context, rec EpochRecord) error
}

// Config configures Run.
type Config[B any] struct {
	Epochs int           // total epochs of the run (a resumed run continues up to it)
	Dir    string        // output directory: checkpoint, metrics.json, plots
	Device tensor.Device // synced after every step
	Resume bool          // continue from Dir's checkpoint

	// Settings identifies everything that changes the losses (model and
	// data configuration, batch size, learning rate, seed…). It is stored
	// in the checkpoint, and resuming with other settings is refused.
	Settings string

	// Items counts the examples in a batch, for throughput and for
	// weighting per-example metrics (nil: each batch counts 1).
	Items    func(b *B) int
	ItemName string // unit of Items in the progress bar, e.g. "img"

	EvalEvery int    // also evaluate every EvalEvery steps (0: only at epoch ends)
	LogEvery  int    // steps per point of the training curves (0: a tenth of an epoch)
	Plots     []Plot // PNG plots written after each epoch

	// Out receives a line per epoch (unless Quiet) and, when it is a
	// terminal, a live progress bar. Nil means io.Discard.
	Out   io.Writer
	Quiet bool // no progress bar and no epoch lines
	// NoCheckpoint skips writing checkpoints (benchmarks); resume is then
	// impossible.
	NoCheckpoint bool
}

// Output files in Config.Dir.
const (
	CheckpointFile = "checkpoint.safetensors.zst"
	MetricsFile    = "metrics.json"
)

// InterruptedError reports a run stopped by its context. The checkpoint
// holds the position reached, so Resume continues from there.
type InterruptedError struct {
	Epoch, Step int    // 1-based epoch in progress and global steps done
	Checkpoint  string // path of the checkpoint written
	Cause       error  // ctx.Err()
}

func (e *InterruptedError) Error() string {
	return fmt.Sprintf("interrupted in epoch %d after step %d; checkpoint saved to %s (resume to continue)", e.Epoch, e.Step, e.Checkpoint)
}

func (e *InterruptedError) Unwrap() error { return e.Cause }

// NonFiniteError reports a NaN or infinite value: a metric of a step, or a
// tensor about to be checkpointed. Nothing was written for that step, so
// Checkpoint (if not empty) is the last good state.
type NonFiniteError struct {
	Step       int    // global step (1-based) that produced it
	Epoch      int    // 1-based
	Name       string // metric or tensor name
	Value      float64
	Checkpoint string // last good checkpoint, or "" if none was written yet
}

func (e *NonFiniteError) Error() string {
	s := fmt.Sprintf("%s is %v at step %d (epoch %d): training diverged (try a lower learning rate)", e.Name, e.Value, e.Step, e.Epoch)
	if e.Checkpoint != "" {
		return s + "; the last good checkpoint is " + e.Checkpoint
	}
	return s + "; no checkpoint was written before it"
}

// loopState is the loop's part of a checkpoint.
type loopState struct {
	Epoch       int     `json:"epoch"`         // 0-based epoch in progress
	StepInEpoch int     `json:"step_in_epoch"` // batches of it done
	Step        int     `json:"step"`          // global steps done
	Sums        Metrics `json:"sums"`          // Σ items·metric over the epoch so far
	Items       float64 `json:"items"`         // Σ items over the epoch so far
	Seconds     float64 `json:"seconds"`       // step time of the epoch so far
	WinSums     Metrics `json:"win_sums"`      // the same for the current curve point
	WinItems    float64 `json:"win_items"`
	History     History `json:"history"`
}

// Run trains task on src as cfg says and returns the history. See the
// package documentation for the loop, checkpoints and errors.
func Run[B any](ctx context.Context, cfg Config[B], task Task[B], src Source[B]) (*History, error) {
	if cfg.Epochs <= 0 {
		return nil, fmt.Errorf("train: epochs %d, must be positive", cfg.Epochs)
	}
	if cfg.Dir == "" || cfg.Device == nil {
		return nil, errors.New("train: Config needs Dir and Device")
	}
	spe := src.StepsPerEpoch()
	if spe <= 0 {
		return nil, errors.New("train: the data source has no batches (fewer examples than one batch?)")
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("train: output directory: %w", err)
	}
	out := cfg.Out
	if out == nil {
		out = io.Discard
	}
	logEvery := cfg.LogEvery
	if logEvery <= 0 {
		logEvery = max(1, spe/10)
	}
	ckpt := filepath.Join(cfg.Dir, CheckpointFile)
	lastGood := ""
	st := &loopState{Sums: Metrics{}, WinSums: Metrics{}, History: History{StepsPerEpoch: spe}}
	if cfg.Resume {
		var err error
		if st, err = loadCheckpoint(ckpt, cfg.Settings, task); err != nil {
			return nil, err
		}
		if st.History.StepsPerEpoch != spe {
			return nil, fmt.Errorf("train: %s was written with %d steps per epoch, the data now has %d: resume with the same data and batch size", ckpt, st.History.StepsPerEpoch, spe)
		}
		lastGood = ckpt
	}
	if err := src.Seek(st.Epoch, st.StepInEpoch); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	items := func(b *B) float64 {
		if cfg.Items == nil {
			return 1
		}
		return float64(cfg.Items(b))
	}
	save := func() error {
		if cfg.NoCheckpoint {
			return nil
		}
		if err := saveCheckpoint(ckpt, cfg.Settings, task, st); err != nil {
			return err
		}
		lastGood = ckpt
		return nil
	}
	interrupted := func(cause error) error {
		if err := save(); err != nil {
			return fmt.Errorf("train: interrupted, and saving the checkpoint failed: %w", err)
		}
		if err := writeMetrics(cfg.Dir, &st.History); err != nil {
			return err
		}
		return &InterruptedError{Epoch: st.Epoch + 1, Step: st.Step, Checkpoint: ckpt, Cause: cause}
	}
	evaluate := func() (Metrics, error) {
		m, err := task.Evaluate(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil, interrupted(ctx.Err())
			}
			return nil, fmt.Errorf("train: evaluation after step %d: %w", st.Step, err)
		}
		if name, v, bad := nonFinite(m); bad {
			return nil, &NonFiniteError{Step: st.Step, Epoch: st.Epoch + 1, Name: "evaluation " + name, Value: v, Checkpoint: lastGood}
		}
		if m != nil {
			st.History.Test = append(st.History.Test, Point{Step: st.Step, Epoch: float64(st.Step) / float64(spe), Metrics: m})
		}
		return m, nil
	}

	var b B
	for st.Epoch < cfg.Epochs {
		bar := newProgress(out, cfg.Quiet, spe, st.StepInEpoch, st.Epoch+1, cfg.Epochs, cfg.ItemName)
		for {
			if err := ctx.Err(); err != nil {
				bar.finish()
				return &st.History, interrupted(err)
			}
			if !src.Next(&b) {
				break
			}
			t0 := time.Now()
			m, err := task.Step(ctx, &b)
			if err == nil {
				if serr := cfg.Device.Sync(); serr != nil {
					err = fmt.Errorf("device %s: %w", cfg.Device.Name(), serr)
				}
			}
			dt := time.Since(t0).Seconds()
			if err != nil {
				bar.finish()
				if ctx.Err() != nil {
					return &st.History, interrupted(ctx.Err())
				}
				return &st.History, fmt.Errorf("train: step %d (epoch %d): %w", st.Step+1, st.Epoch+1, err)
			}
			if name, v, bad := nonFinite(m); bad {
				bar.finish()
				_ = writeMetrics(cfg.Dir, &st.History)
				return &st.History, &NonFiniteError{Step: st.Step + 1, Epoch: st.Epoch + 1, Name: name, Value: v, Checkpoint: lastGood}
			}
			n := items(&b)
			st.Step++
			st.StepInEpoch++
			st.Seconds += dt
			st.Items += n
			st.WinItems += n
			for k, v := range m {
				st.Sums[k] += n * v
				st.WinSums[k] += n * v
			}
			if st.StepInEpoch%logEvery == 0 || st.StepInEpoch == spe {
				st.History.Train = append(st.History.Train, Point{Step: st.Step, Epoch: float64(st.Step) / float64(spe), Metrics: means(st.WinSums, st.WinItems)})
				st.WinSums, st.WinItems = Metrics{}, 0
			}
			bar.step(int(n), m, st.Items/max(st.Seconds, 1e-9))
			if cfg.EvalEvery > 0 && st.Step%cfg.EvalEvery == 0 && st.StepInEpoch != spe {
				if _, err := evaluate(); err != nil {
					bar.finish()
					return &st.History, err
				}
			}
		}
		bar.finish()
		rec := EpochRecord{Epoch: st.Epoch + 1, Steps: st.Step, Seconds: st.Seconds, Train: means(st.Sums, st.Items)}
		if st.Seconds > 0 {
			rec.ItemsPerSecond = st.Items / st.Seconds
		}
		t0 := time.Now()
		test, err := evaluate()
		if err != nil {
			return &st.History, err
		}
		rec.Test = test
		rec.EvalSeconds = time.Since(t0).Seconds()
		st.History.Epochs = append(st.History.Epochs, rec)
		st.Epoch++
		st.StepInEpoch, st.Sums, st.Items, st.Seconds = 0, Metrics{}, 0, 0
		if e, ok := any(task).(EpochEnder); ok {
			if err := e.EndEpoch(ctx, rec); err != nil {
				return &st.History, fmt.Errorf("train: end of epoch %d: %w", rec.Epoch, err)
			}
		}
		if err := save(); err != nil {
			return &st.History, err
		}
		if err := writeMetrics(cfg.Dir, &st.History); err != nil {
			return &st.History, err
		}
		if err := writePlots(cfg.Dir, cfg.Plots, &st.History); err != nil {
			return &st.History, err
		}
		if !cfg.Quiet {
			fmt.Fprintln(out, rec.summary(cfg.Epochs, cfg.ItemName))
		}
	}
	return &st.History, nil
}

func means(sums Metrics, n float64) Metrics {
	m := make(Metrics, len(sums))
	for k, v := range sums {
		m[k] = v / max(n, 1e-300)
	}
	return m
}

// nonFinite returns the first NaN or infinite metric ("loss" first, then
// by name).
func nonFinite(m Metrics) (string, float64, bool) {
	for _, k := range metricOrder(m) {
		if v := m[k]; math.IsNaN(v) || math.IsInf(v, 0) {
			return k, v, true
		}
	}
	return "", 0, false
}

package charlm

import (
	"context"
	"fmt"
	"math"

	"github.com/ingotml/ingot/data"
	"github.com/ingotml/ingot/tensor"
	"github.com/ingotml/ingot/train"
)

// Task runs a Trainer in the shared training loop (train.Run) over
// data.TextBatch chunks (time-major). Its metrics are per character:
// "loss" (nats) and "bpc" (bits) for training steps, "bpc" on the
// held-out text for evaluations.
type Task struct {
	*Trainer
	HeldOut []int32 // evaluated with BitsPerChar; none: no evaluation
}

var _ train.Task[data.TextBatch] = (*Task)(nil)

// Step implements train.Task.
func (t *Task) Step(_ context.Context, b *data.TextBatch) (train.Metrics, error) {
	l := t.Trainer.Step(b.Input, b.Target, b.Seq, b.Batch, b.Step == 0)
	return train.Metrics{"loss": l, "bpc": l / math.Ln2}, nil
}

// Evaluate implements train.Task: bits per character on the held-out text.
func (t *Task) Evaluate(ctx context.Context) (train.Metrics, error) {
	if len(t.HeldOut) < 2 {
		return nil, nil
	}
	bpc, err := t.Model.BitsPerChar(ctx, t.HeldOut)
	if err != nil {
		return nil, err
	}
	return train.Metrics{"bpc": bpc}, nil
}

// State implements train.Task.
func (t *Task) State() (map[string]*tensor.Tensor, map[string]string, error) {
	ts, err := t.Trainer.State()
	return ts, nil, err
}

// LoadState implements train.Task.
func (t *Task) LoadState(ts map[string]*tensor.Tensor, _ map[string]string) error {
	return t.Trainer.LoadState(ts)
}

// Items counts the characters of a chunk (for train.Config.Items).
func Items(b *data.TextBatch) int { return b.Batch * b.Seq }

// StepSource presents a text batcher to train.Run as a run of exactly
// Total steps in rounds of Round steps — the loop's "epochs", after each of
// which it evaluates and checkpoints. Chunks continue across the data's
// own epochs (each data epoch starts with Step 0, where the model resets
// its state), so a run may stop in the middle of one.
type StepSource struct {
	b            *data.TextBatcher
	total, round int
	done, in     int
	spe          int
}

// NewStepSource wraps b (positioned anywhere; Seek moves it) for a run of
// total steps in rounds of round steps (round ≤ 0: one data epoch).
func NewStepSource(b *data.TextBatcher, total, round int) (*StepSource, error) {
	if b == nil {
		return nil, fmt.Errorf("charlm: no text batcher")
	}
	spe := b.StepsPerEpoch()
	if round <= 0 {
		round = spe
	}
	if total <= 0 {
		return nil, fmt.Errorf("charlm: %d training steps, want at least 1", total)
	}
	round = min(round, total)
	return &StepSource{b: b, total: total, round: round, spe: spe}, nil
}

// Rounds is the number of rounds (train.Config.Epochs).
func (s *StepSource) Rounds() int { return (s.total + s.round - 1) / s.round }

// Next implements train.Source.
func (s *StepSource) Next(c *data.TextBatch) bool {
	if s.in == s.round || s.done == s.total {
		s.in = 0
		return false
	}
	if !s.b.Next(c) && !s.b.Next(c) {
		return false // no chunks at all (the batcher refuses that at construction)
	}
	s.done++
	s.in++
	return true
}

// StepsPerEpoch implements train.Source (steps per round).
func (s *StepSource) StepsPerEpoch() int { return s.round }

// Position implements train.Source.
func (s *StepSource) Position() (epoch, step int) { return s.done / s.round, s.done % s.round }

// Seek implements train.Source.
func (s *StepSource) Seek(epoch, step int) error {
	g := epoch*s.round + step
	if epoch == s.Rounds() && step == 0 {
		g = s.total // the end of a finished run (its last round may be short)
	}
	if epoch < 0 || step < 0 || step > s.round || g > s.total {
		return fmt.Errorf("charlm: seek to round %d step %d: the run has %d steps in rounds of %d", epoch, step, s.total, s.round)
	}
	if err := s.b.Seek(g/s.spe, g%s.spe); err != nil {
		return err
	}
	s.done, s.in = g, step
	return nil
}

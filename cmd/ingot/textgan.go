package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ingotml/ingot/charlm"
	"github.com/ingotml/ingot/data"
	"github.com/ingotml/ingot/tensor"
	"github.com/ingotml/ingot/textgan"
	"github.com/ingotml/ingot/train"
)

func init() {
	registerFamily("textgan", family{
		summary: "text GAN: char-LSTM generator (Gumbel-softmax) vs LSTM discriminator",
		train:   trainTextGAN,
		sample: func(args []string, out io.Writer) error {
			return sampleLM("textgan", textganWeightsFile, textganLoad, args, out)
		},
		eval: func(args []string, out io.Writer) error { return evalLM("textgan", textganLoad, args, out) },
	})
}

const textganWeightsFile = "textgan.safetensors.zst"

func textganLoad(path string, d tensor.Device) (*charlm.Model, error) {
	if path == "" {
		return nil, usagef("--weights is required")
	}
	return textgan.LoadGenerator(path, d)
}

// textganSettings is what changes the adversarial losses (for resume).
type textganSettings struct {
	Text      string         `json:"text"`
	Generator string         `json:"generator"` // the pre-trained weight file
	Config    textgan.Config `json:"config"`
	Batch     int            `json:"batch"`
	Steps     int            `json:"steps"`
	Round     int            `json:"round"`
	HeldOut   float64        `json:"held_out"`
	Device    string         `json:"device"`
}

func trainTextGAN(args []string, out io.Writer) error {
	fs := newFlags("train textgan", "ingot train textgan [--text FILE | --corpus NAME] [--init-generator W | pre-training flags as for charlm] [--d-warmup 2000 --adv-steps 600 --adv-weight 0.5 ...] [--device auto] [--out DIR] [--resume] [--quiet]",
		"  ingot train textgan                                  # pre-train on Austen, then adversarial\n"+
			"  ingot train textgan --init-generator runs/charlm/charlm.safetensors.zst\n"+
			"  ingot train textgan --corpus tang300 --steps 2000 --adv-steps 400\n", out)
	tf := addTextFlags(fs)
	lf := addLMFlags(fs) // MLE pre-training (--steps/--epochs/--lr/--clip/--seed, the model sizes)
	def := textgan.DefaultConfig()
	initGen := fs.String("init-generator", "", "start from this charlm weight file instead of pre-training")
	warmup := fs.Int("d-warmup", def.DWarmup, "discriminator-only steps (generator frozen) before adversarial training")
	advSteps := fs.Int("adv-steps", 600, "adversarial training steps (after the warm-up)")
	advRound := fs.Int("adv-round", 200, "steps between evaluations (guard checks, checkpoints), warm-up included")
	prefix := fs.Int("prefix", def.Prefix, "real characters the generator reads before generating")
	length := fs.Int("length", def.Length, "generated characters the discriminator judges")
	dEmbed := fs.Int("d-embed", def.D.Embed, "discriminator embedding size")
	dHidden := fs.Int("d-hidden", def.D.Hidden, "discriminator LSTM hidden size")
	advWeight := fs.Float64("adv-weight", def.AdvWeight, "weight of the adversarial loss beside the MLE loss (weight 1)")
	advLR := fs.Float64("adv-lr", def.LR, "the generator's Adam learning rate during adversarial training (β1 0.5)")
	dLR := fs.Float64("d-lr", def.DLR, "the discriminator's Adam learning rate (β1 0.5)")
	tau := fs.Float64("tau", def.Sampler.Tau, "Gumbel-softmax temperature")
	soft := fs.Bool("soft", false, "feed soft Gumbel-softmax rows forward (default: straight-through hard one-hot rows)")
	tolerance := fs.Float64("tolerance", def.Tolerance, "largest allowed rise of held-out bits per character over the pre-trained model")
	minWeight := fs.Float64("min-adv-weight", def.MinAdvWeight, "stop adversarial training when the guard halves the weight below this")
	evalSeqs := fs.Int("eval-seqs", def.EvalSeqs, "held-out sequences for the discriminator's accuracy/precision/recall/F1")
	device := fs.String("device", "auto", "auto, cpu or metal")
	outDir := fs.String("out", "runs/textgan", "output directory: weights, checkpoints, metrics.json, plots (pre-training in DIR/pretrain)")
	resume := fs.Bool("resume", false, "continue from the checkpoints in --out")
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
	if *warmup < 0 || *warmup > 1<<30 {
		return usagef("--d-warmup must be in 0..%d, got %d", 1<<30, *warmup)
	}
	if *advSteps < 1 || *advRound < 1 {
		return usagef("--adv-steps and --adv-round must be at least 1, got %d and %d", *advSteps, *advRound)
	}
	cfg := def
	cfg.Prefix, cfg.Length, cfg.D, cfg.DWarmup = *prefix, *length, textgan.DConfig{Embed: *dEmbed, Hidden: *dHidden}, *warmup
	cfg.AdvWeight, cfg.LR, cfg.DLR, cfg.Sampler = *advWeight, *advLR, *dLR, textgan.Sampler{Tau: *tau, StraightThrough: !*soft}
	cfg.Clip, cfg.Tolerance, cfg.MinAdvWeight, cfg.EvalSeqs, cfg.Seed = *lf.clip, *tolerance, *minWeight, *evalSeqs, *lf.seed
	if err := cfg.Validate(); err != nil {
		return usagef("%v", err)
	}
	if *dEmbed < 1 || *dHidden < 1 || *dEmbed > charlm.MaxWidth || *dHidden > charlm.MaxWidth {
		return usagef("--d-embed and --d-hidden must be in 1..%d", charlm.MaxWidth)
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
	ctx, stop := interruptible()
	defer stop()

	// The generator: given, already pre-trained (resume), or pre-trained now.
	genPath := *initGen
	var g *charlm.Model
	if genPath == "" {
		genPath = filepath.Join(*outDir, "pretrain", charlmWeightsFile)
		if _, statErr := os.Stat(genPath); *resume && statErr == nil {
			fmt.Fprintf(out, "textgan: pre-training done earlier: %s\n", genPath)
		} else {
			ld, err := prepareText(text, *tf.heldOut, *lf.batch, *lf.seq)
			if err != nil {
				return err
			}
			pdir := filepath.Join(*outDir, "pretrain")
			_, statErr := os.Stat(filepath.Join(pdir, train.CheckpointFile))
			if _, err := fitCharLM(ctx, out, d, ld, lf, label, *tf.heldOut, pdir, *resume && statErr == nil, *quiet, "textgan pre-training"); err != nil {
				return err
			}
		}
	}
	if g, _, err = charlm.Load(genPath, d); err != nil {
		return err
	}
	// The text in the generator's vocabulary.
	ids := g.Vocab.Encode(text)
	trIDs, hoIDs, err := data.SplitHeldOut(ids, *tf.heldOut)
	if err != nil {
		return usagef("%v", err)
	}
	if len(hoIDs) < cfg.SeqLen() {
		return usagef("the held-out text (%d characters) is shorter than --prefix + --length = %d; raise --held-out", len(hoIDs), cfg.SeqLen())
	}
	b, err := data.NewTextBatcher(trIDs, *lf.batch, cfg.SeqLen(), data.TextOptions{Layout: data.TimeMajor})
	if err != nil {
		return usagef("the training text is too short for --batch %d: %v", *lf.batch, err)
	}
	src, err := charlm.NewStepSource(b, *warmup+*advSteps, *advRound)
	if err != nil {
		return usagef("%v", err)
	}
	t, err := textgan.NewTrainer(ctx, g, cfg, hoIDs, 0)
	if err != nil {
		return err
	}
	if !*quiet {
		fmt.Fprintf(out, "textgan: adversarial training from %s (held-out %.4f bits per character; guard limit %.4f), %d discriminator warm-up steps then %d adversarial steps of %d×(%d+%d) characters\n",
			genPath, t.Guard.Baseline, t.Guard.Limit(), *warmup, *advSteps, *lf.batch, cfg.Prefix, cfg.Length)
	}
	settings, _ := json.Marshal(textganSettings{Text: label, Generator: genPath, Config: cfg, Batch: *lf.batch, Steps: *advSteps,
		Round: src.StepsPerEpoch(), HeldOut: *tf.heldOut, Device: d.Name()})
	task := &guardReporter{Trainer: t, out: out, quiet: *quiet}
	hist, err := train.Run(ctx, train.Config[data.TextBatch]{
		Epochs: src.Rounds(), Dir: *outDir, Device: d, Resume: *resume, Settings: string(settings),
		Items: charlm.Items, ItemName: "char", Out: out, Quiet: *quiet,
		Plots: []train.Plot{
			{File: "bpc.png", Title: "text GAN generator", YLabel: "bits per character", Metrics: []string{"bpc"}},
			{File: "discriminator.png", Title: "text GAN discriminator", YLabel: "", Metrics: []string{"d_accuracy", "d_f1", "d_real", "d_fake"}},
		},
	}, task, src)
	if err != nil {
		var ie *train.InterruptedError
		if errors.As(err, &ie) {
			return fmt.Errorf("%v; run again with --resume to continue", err)
		}
		return err
	}
	path := filepath.Join(*outDir, textganWeightsFile)
	if err := t.Save(path, map[string]string{"ingot.trained_on": label, "ingot.pretrained": genPath}); err != nil {
		return err
	}
	last := hist.Epochs[len(hist.Epochs)-1].Test
	// Measured again: when the guard fired at the last round, the saved
	// generator is the restored one, not the one that round evaluated.
	bpc, err := t.G.BitsPerChar(ctx, hoIDs)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "generator held-out bits per character: %.4f (pre-trained %.4f, limit %.4f); discriminator accuracy %.3f, F1 %.3f at the last round; adversarial weight %.3g\n",
		bpc, t.Guard.Baseline, t.Guard.Limit(), last["d_accuracy"], last["d_f1"], t.Guard.Weight)
	fmt.Fprintf(out, "weights: %s\n", path)
	return nil
}

// guardReporter prints the guard's decisions after each epoch.
type guardReporter struct {
	*textgan.Trainer
	out   io.Writer
	quiet bool
}

func (g *guardReporter) EndEpoch(ctx context.Context, rec train.EpochRecord) error {
	stopped := g.Guard.Stopped()
	if err := g.Trainer.EndEpoch(ctx, rec); err != nil {
		return err
	}
	if stopped || g.quiet {
		return nil
	}
	switch g.LastAction {
	case textgan.GuardLowered:
		fmt.Fprintf(g.out, "guard: held-out %.4f bits per character is above %.4f: generator restored to its last good state, adversarial weight lowered to %.3g\n",
			rec.Test["bpc"], g.Guard.Limit(), g.Guard.Weight)
	case textgan.GuardStopped:
		fmt.Fprintf(g.out, "guard: held-out %.4f bits per character is above %.4f: generator restored, adversarial training stopped\n",
			rec.Test["bpc"], g.Guard.Limit())
	}
	return nil
}

package textgan

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/ingotml/ingot/charlm"
	"github.com/ingotml/ingot/data"
	"github.com/ingotml/ingot/gan"
	"github.com/ingotml/ingot/nn"
	"github.com/ingotml/ingot/nn/optim"
	"github.com/ingotml/ingot/tensor"
	"github.com/ingotml/ingot/train"
)

// Config configures adversarial training.
type Config struct {
	D       DConfig
	Prefix  int // real characters the generator reads (and the discriminator's context)
	Length  int // generated (and real) characters the discriminator judges
	Sampler Sampler
	// DWarmup is the number of discriminator-only steps (the generator
	// frozen) before adversarial training starts, as SeqGAN pre-trains its
	// discriminator: telling a fair character LSTM's text from real text
	// means learning what real words look like, which takes the
	// discriminator thousands of batches; adversarial updates against a
	// discriminator still at chance teach the generator nothing.
	DWarmup int
	// AdvWeight multiplies the adversarial loss in the generator's loss
	// (its MLE loss has weight 1); the guard lowers it.
	AdvWeight float64
	LR, Beta1 float64 // the generator's Adam (β2 0.999, ε 1e-8)
	DLR       float64 // the discriminator's Adam learning rate (same betas)
	Clip      float64 // generator gradient norm limit (0: none)
	// Tolerance is the largest allowed relative rise of the generator's
	// held-out bits per character over the pre-trained value (0.05).
	Tolerance float64
	// MinAdvWeight: when halving brings the weight below it, adversarial
	// training stops.
	MinAdvWeight float64
	EvalSeqs     int    // held-out sequences (and as many generated) for D's metrics
	Seed         uint64 // discriminator initialisation and Gumbel noise
}

// DefaultConfig is what ingot train textgan uses by default.
func DefaultConfig() Config {
	return Config{D: DConfig{Embed: 32, Hidden: 128}, Prefix: 16, Length: 64, DWarmup: 2000,
		Sampler: Sampler{Tau: 1, StraightThrough: true}, AdvWeight: 0.5, LR: 2e-4, DLR: 3e-3, Beta1: 0.5, Clip: 5,
		Tolerance: 0.05, MinAdvWeight: 0.05, EvalSeqs: 256, Seed: 1}
}

// Validate reports an out-of-range configuration.
func (c Config) Validate() error {
	switch {
	case c.Prefix < 1 || c.Prefix > 1<<16:
		return fmt.Errorf("textgan: prefix %d, want 1..65536", c.Prefix)
	case c.Length < 1 || c.Length > 1<<16:
		return fmt.Errorf("textgan: length %d, want 1..65536", c.Length)
	case c.DWarmup < 0 || c.DWarmup > 1<<30:
		return fmt.Errorf("textgan: %d discriminator warm-up steps, want 0..%d", c.DWarmup, 1<<30)
	case !(c.Sampler.Tau > 0) || math.IsInf(c.Sampler.Tau, 0):
		return fmt.Errorf("textgan: Gumbel-softmax temperature %v, want > 0", c.Sampler.Tau)
	case !(c.AdvWeight >= 0) || math.IsInf(c.AdvWeight, 0):
		return fmt.Errorf("textgan: adversarial weight %v, want ≥ 0", c.AdvWeight)
	case !(c.LR > 0) || math.IsInf(c.LR, 0):
		return fmt.Errorf("textgan: learning rate %v, want > 0", c.LR)
	case !(c.DLR > 0) || math.IsInf(c.DLR, 0):
		return fmt.Errorf("textgan: discriminator learning rate %v, want > 0", c.DLR)
	case !(c.Beta1 >= 0 && c.Beta1 < 1):
		return fmt.Errorf("textgan: beta1 %v, want [0, 1)", c.Beta1)
	case !(c.Clip >= 0) || math.IsInf(c.Clip, 0):
		return fmt.Errorf("textgan: clip %v, want ≥ 0", c.Clip)
	case !(c.Tolerance >= 0) || math.IsInf(c.Tolerance, 0):
		return fmt.Errorf("textgan: tolerance %v, want ≥ 0", c.Tolerance)
	case !(c.MinAdvWeight >= 0) || math.IsInf(c.MinAdvWeight, 0):
		return fmt.Errorf("textgan: minimum adversarial weight %v, want ≥ 0", c.MinAdvWeight)
	case c.EvalSeqs < 0 || c.EvalSeqs > 1<<20:
		return fmt.Errorf("textgan: %d evaluation sequences", c.EvalSeqs)
	}
	return nil
}

// SeqLen is the chunk length of the text batcher feeding a Trainer.
func (c Config) SeqLen() int { return c.Prefix + c.Length }

// GuardAction is the outcome of a Guard check.
type GuardAction int

const (
	GuardOK      GuardAction = iota // within tolerance: keep going, remember this state
	GuardLowered                    // too high: restore the last good state, weight halved
	GuardStopped                    // too high and the weight fell below the minimum: weight 0
)

func (a GuardAction) String() string {
	return [...]string{"ok", "lowered", "stopped"}[a]
}

// Guard keeps adversarial training from degrading the generator as a
// language model: a held-out bits-per-character value above
// Baseline·(1+Tolerance) halves the adversarial weight (the caller restores
// the generator's last good state); when the weight falls below MinWeight
// it becomes 0 and adversarial training stops.
type Guard struct {
	Baseline  float64 `json:"baseline"`
	Tolerance float64 `json:"tolerance"`
	Weight    float64 `json:"weight"`
	MinWeight float64 `json:"min_weight"`
}

// Limit is the largest allowed bits per character.
func (g *Guard) Limit() float64 { return g.Baseline * (1 + g.Tolerance) }

// Stopped reports whether adversarial training has stopped.
func (g *Guard) Stopped() bool { return g.Weight == 0 }

// Check judges a held-out bits-per-character value.
func (g *Guard) Check(bpc float64) GuardAction {
	if bpc <= g.Limit() {
		return GuardOK
	}
	g.Weight /= 2
	if g.Weight < g.MinWeight || g.Weight == 0 {
		g.Weight = 0
		return GuardStopped
	}
	return GuardLowered
}

// Trainer runs adversarial training; it implements train.Task over
// data.TextBatch chunks of Config.SeqLen() characters (time-major).
type Trainer struct {
	G       *charlm.Model
	D       *Discriminator
	OptG    *optim.Adam
	OptD    *optim.Adam
	Config  Config
	Guard   Guard
	HeldOut []int32
	// LastAction is the guard's decision at the last epoch end.
	LastAction GuardAction

	rng   *tensor.RNG
	steps int // Step calls so far (the warm-up counts them)
	carry nn.LSTMState
	best  map[string]*tensor.Tensor // the generator's last good state (weights and Adam), on the CPU
}

var _ train.Task[data.TextBatch] = (*Trainer)(nil)

// NewTrainer prepares adversarial training of the pre-trained generator g
// with a fresh discriminator; baseline is g's held-out bits per character
// (measured here when 0).
func NewTrainer(ctx context.Context, g *charlm.Model, cfg Config, heldOut []int32, baseline float64) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := g.Device()
	rng := tensor.NewRNG(cfg.Seed)
	D, err := NewDiscriminator(d, rng.Stream(1), g.Config.Vocab, cfg.D)
	if err != nil {
		return nil, err
	}
	ac := optim.AdamConfig{LR: cfg.LR, Beta1: cfg.Beta1, Beta2: 0.999, Eps: 1e-8}
	og, err := optim.NewAdam(nn.Trainable(g), ac)
	if err != nil {
		return nil, err
	}
	dc := ac
	dc.LR = cfg.DLR
	od, err := optim.NewAdam(nn.Trainable(D), dc)
	if err != nil {
		return nil, err
	}
	if baseline == 0 {
		if len(heldOut) < 2 {
			return nil, fmt.Errorf("textgan: the guard needs held-out text (have %d characters)", len(heldOut))
		}
		if baseline, err = g.BitsPerChar(ctx, heldOut); err != nil {
			return nil, err
		}
	}
	t := &Trainer{G: g, D: D, OptG: og, OptD: od, Config: cfg, HeldOut: heldOut, rng: rng.Stream(2),
		Guard: Guard{Baseline: baseline, Tolerance: cfg.Tolerance, Weight: cfg.AdvWeight, MinWeight: cfg.MinAdvWeight}}
	t.best, err = t.generatorState()
	return t, err
}

// AdvLoss is the generator's adversarial loss alone: the non-saturating
// −mean log σ(D(prefix, rows)) of the rows Rollout emits for prefix and
// noise. It also returns the rows (part of the recorded graph).
func AdvLoss(g *charlm.Model, d *Discriminator, prefix, noise *tensor.Tensor, s Sampler) (*tensor.Tensor, *tensor.Tensor) {
	rows, _ := Rollout(g, prefix, noise, s)
	return gan.GeneratorLoss(d.Forward(prefix, rows)), rows
}

// Warming reports whether the next Step is a discriminator-only warm-up
// step.
func (t *Trainer) Warming() bool { return t.steps < t.Config.DWarmup }

// slice returns rows [lo, hi) of time-major ids with B tracks as [hi−lo, B].
func idsTensor(dev tensor.Device, ids []int32, lo, hi, B int) *tensor.Tensor {
	return tensor.FromInt32(dev, ids[lo*B:hi*B], hi-lo, B)
}

// Step implements train.Task: one discriminator update and one generator
// update (MLE on the chunk plus AdvWeight × adversarial); during the
// warm-up (the first DWarmup steps) the discriminator update alone.
func (t *Trainer) Step(_ context.Context, b *data.TextBatch) (train.Metrics, error) {
	dev := t.G.Device()
	c := t.Config
	B, S := b.Batch, b.Seq
	warm := t.Warming()
	t.steps++
	if warm {
		if S != c.SeqLen() {
			return train.Metrics{}, nil // a short last chunk: nothing to judge
		}
		m := train.Metrics{}
		var fake *tensor.Tensor
		var owned []*tensor.Tensor
		nn.Frozen(func() {
			owned = t.rollout(b, &fake)
		}, t.G)
		t.discriminatorStep(owned[0], owned[1], fake, m)
		fake.Release()
		for _, x := range owned {
			x.Release()
		}
		return m, nil
	}
	if b.Step == 0 || (t.carry.H != nil && t.carry.H.Dim(1) != B) {
		releaseState(t.carry)
		t.carry = nn.LSTMState{}
	}
	in := idsTensor(dev, b.Input, 0, S, B)
	tg := idsTensor(dev, b.Target, 0, S, B)
	defer in.Release()
	defer tg.Release()
	adv := !t.Guard.Stopped() && S == c.SeqLen()
	m := train.Metrics{"adv_weight": t.Guard.Weight}

	var fake *tensor.Tensor
	var owned []*tensor.Tensor
	defer func() {
		for _, x := range owned {
			x.Release()
		}
	}()
	if adv {
		owned = t.rollout(b, &fake)
		fd := fake.Detach()
		owned = append(owned, fd)
		t.discriminatorStep(owned[0], owned[1], fd, m)
	}

	nn.ZeroGrad(t.G)
	mle, st := t.G.Loss(in, tg, t.carry)
	total := mle
	var al *tensor.Tensor
	nn.Frozen(func() { // D is fixed during G's update: no gradients for it
		if adv {
			al = gan.GeneratorLoss(t.D.Forward(owned[0], fake))
			total = tensor.Add(mle, tensor.Scale(al, float32(t.Guard.Weight)))
		}
		total.Backward()
	}, t.D)
	m["bpc"] = float64(mle.Item()) / math.Ln2
	if al != nil {
		m["g_adv"] = float64(al.Item())
	}
	next := st.Detach()
	total.ReleaseGraph()
	releaseState(st)
	releaseState(t.carry)
	t.carry = next
	if math.IsNaN(m["bpc"]) || math.IsInf(m["bpc"], 0) {
		return m, nil // the loop's guard stops the run
	}
	if c.Clip > 0 {
		if n := optim.ClipGradNorm(nn.Trainable(t.G), c.Clip); math.IsNaN(float64(n)) || math.IsInf(float64(n), 0) {
			m["g_grad_norm"] = float64(n)
			return m, nil
		}
	}
	t.OptG.Step()
	return m, nil
}

// rollout generates the batch's continuations into *fake (recorded when
// the generator's parameters require gradients) and returns the prefix ids
// [Prefix,B], the real continuation ids [Length,B] and the noise, which the
// caller releases.
func (t *Trainer) rollout(b *data.TextBatch, fake **tensor.Tensor) []*tensor.Tensor {
	dev, c, B := t.G.Device(), t.Config, b.Batch
	prefix := idsTensor(dev, b.Input, 0, c.Prefix, B)
	real := idsTensor(dev, b.Input, c.Prefix, b.Seq, B)
	noise := Gumbel(t.rng, dev, c.Length, B, t.G.Config.Vocab)
	*fake, _ = Rollout(t.G, prefix, noise, c.Sampler)
	return []*tensor.Tensor{prefix, real, noise}
}

// discriminatorStep updates the discriminator on real and fake (not
// recorded) continuations of prefix and records its loss in m.
func (t *Trainer) discriminatorStep(prefix, real, fake *tensor.Tensor, m train.Metrics) {
	nn.ZeroGrad(t.D)
	lr := t.D.ForwardIDs(prefix, real)
	lf := t.D.Forward(prefix, fake)
	dl := gan.DiscriminatorLoss(lr, lf, 0)
	dl.Backward()
	rv, fv := lr.Float32s(), lf.Float32s()
	m["d_loss"] = float64(dl.Item())
	m["d_real"], m["d_fake"] = meanSigmoid(rv), meanSigmoid(fv)
	dl.ReleaseGraph()
	t.OptD.Step()
}

func meanSigmoid(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += 1 / (1 + math.Exp(-float64(x)))
	}
	return s / float64(max(len(v), 1))
}

func releaseState(s nn.LSTMState) {
	if s.H != nil {
		s.H.Release()
	}
	if s.C != nil {
		s.C.Release()
	}
}

// EvalSequences picks n evenly spaced windows of prefix+length characters
// from ids and returns them time-major ([prefix+length, n]).
func EvalSequences(ids []int32, n, prefix, length int) ([]int32, int) {
	S := prefix + length
	if len(ids) < S || n == 0 {
		return nil, 0
	}
	span := len(ids) - S
	out := make([]int32, S*n)
	for k := range n {
		start := 0
		if n > 1 {
			start = k * span / (n - 1)
		}
		for t := range S {
			out[t*n+k] = ids[start+t]
		}
	}
	return out, n
}

// Evaluate implements train.Task: the generator's held-out bits per
// character ("bpc") and the discriminator's accuracy, precision, recall,
// F1 and loss ("d_loss", the sum of its mean BCE on real and on fake) on
// EvalSeqs held-out real sequences against as many generated ones (fixed
// Gumbel noise, so epochs are comparable).
func (t *Trainer) Evaluate(ctx context.Context) (train.Metrics, error) {
	if len(t.HeldOut) < 2 {
		return nil, nil
	}
	bpc, err := t.G.BitsPerChar(ctx, t.HeldOut)
	if err != nil {
		return nil, err
	}
	m := train.Metrics{"bpc": bpc, "adv_weight": t.Guard.Weight}
	c := t.Config
	seqs, n := EvalSequences(t.HeldOut, c.EvalSeqs, c.Prefix, c.Length)
	if n == 0 {
		return m, nil
	}
	dev := t.G.Device()
	var rl, fl []float32
	nn.Frozen(func() {
		prefix := idsTensor(dev, seqs, 0, c.Prefix, n)
		real := idsTensor(dev, seqs, c.Prefix, c.SeqLen(), n)
		noise := Gumbel(tensor.NewRNG(c.Seed).Stream(3), dev, c.Length, n, t.G.Config.Vocab)
		fake, _ := Rollout(t.G, prefix, noise, c.Sampler)
		rl = t.D.ForwardIDs(prefix, real).Float32s()
		fl = t.D.Forward(prefix, fake).Float32s()
		for _, x := range []*tensor.Tensor{prefix, real, noise, fake} {
			x.Release()
		}
	}, t.G, t.D)
	for k, v := range gan.Classify(rl, fl).Metrics() {
		m[k] = v
	}
	m["d_loss"] = bce(rl, fl)
	return m, nil
}

// bce is the discriminator's loss for logits of real and fake sequences:
// mean softplus(−real) + mean softplus(fake), in float64.
func bce(real, fake []float32) float64 {
	sp := func(x float64) float64 { return math.Max(x, 0) + math.Log1p(math.Exp(-math.Abs(x))) }
	var r, f float64
	for _, x := range real {
		r += sp(-float64(x))
	}
	for _, x := range fake {
		f += sp(float64(x))
	}
	return r/float64(max(len(real), 1)) + f/float64(max(len(fake), 1))
}

// EndEpoch implements train.EpochEnder: the 5% guard.
func (t *Trainer) EndEpoch(_ context.Context, rec train.EpochRecord) error {
	bpc, ok := rec.Test["bpc"]
	if !ok || t.Guard.Stopped() {
		return nil
	}
	t.LastAction = t.Guard.Check(bpc)
	if t.LastAction == GuardOK {
		var err error
		t.best, err = t.generatorState()
		return err
	}
	return t.restoreGenerator(t.best)
}

// generatorState copies the generator's weights and Adam state to the CPU.
func (t *Trainer) generatorState() (map[string]*tensor.Tensor, error) {
	st, err := nn.StateDict(t.G)
	if err != nil {
		return nil, err
	}
	for k, v := range t.OptG.State() {
		st[k] = v
	}
	out := map[string]*tensor.Tensor{}
	for k, v := range st {
		out[k] = copyToCPU(v)
	}
	return out, nil
}

func copyToCPU(v *tensor.Tensor) *tensor.Tensor {
	if v.DType() == tensor.Int32 {
		return tensor.FromInt32(tensor.CPU(), v.Int32s(), v.Shape()...)
	}
	return tensor.FromFloat32(tensor.CPU(), v.Float32s(), v.Shape()...)
}

func (t *Trainer) restoreGenerator(st map[string]*tensor.Tensor) error {
	_, w := nn.SplitPrefix(st, optim.StatePrefix)
	if err := nn.LoadStateDict(t.G, w); err != nil {
		return err
	}
	if err := t.OptG.LoadState(charlm.OptimState(st)); err != nil {
		return err
	}
	releaseState(t.carry)
	t.carry = nn.LSTMState{}
	return nil
}

// Checkpoint names and metadata keys.
const (
	prefixG    = "g."
	prefixD    = "d."
	prefixBest = "best."
	prefixDOpt = "dopt."
	metaRNG    = "textgan.rng"
	metaSteps  = "textgan.steps"
	metaGuard  = "textgan.guard"
)

// State implements train.Task: generator (weights, Adam, carried state),
// discriminator (weights, Adam), the last good generator state, the Gumbel
// RNG position and the guard.
func (t *Trainer) State() (map[string]*tensor.Tensor, map[string]string, error) {
	out := map[string]*tensor.Tensor{}
	g, err := t.generatorState()
	if err != nil {
		return nil, nil, err
	}
	for k, v := range g {
		out[prefixG+k] = v
	}
	if t.carry.H != nil {
		out[prefixG+charlm.CarryH], out[prefixG+charlm.CarryC] = t.carry.H, t.carry.C
	}
	d, err := nn.StateDict(t.D)
	if err != nil {
		return nil, nil, err
	}
	for k, v := range d {
		out[prefixD+k] = v
	}
	for k, v := range t.OptD.State() {
		out[prefixDOpt+k] = v
	}
	for k, v := range t.best {
		out[prefixBest+k] = v
	}
	_, _, counter := t.rng.State()
	guard, _ := json.Marshal(t.Guard)
	return out, map[string]string{metaRNG: strconv.FormatUint(counter, 10), metaGuard: string(guard),
		metaSteps: strconv.Itoa(t.steps)}, nil
}

// LoadState implements train.Task.
func (t *Trainer) LoadState(ts map[string]*tensor.Tensor, meta map[string]string) error {
	parts := map[string]map[string]*tensor.Tensor{prefixG: {}, prefixD: {}, prefixDOpt: {}, prefixBest: {}}
	for k, v := range ts {
		found := false
		for p, m := range parts {
			if rest, ok := strings.CutPrefix(k, p); ok {
				m[rest], found = v, true
			}
		}
		if !found {
			return fmt.Errorf("textgan: unexpected checkpoint tensor %q", k)
		}
	}
	counter, err := strconv.ParseUint(meta[metaRNG], 10, 64)
	if err != nil {
		return fmt.Errorf("textgan: checkpoint metadata %s: %w", metaRNG, err)
	}
	steps, err := strconv.Atoi(meta[metaSteps])
	if err != nil || steps < 0 {
		return fmt.Errorf("textgan: checkpoint metadata %s = %q, want a step count", metaSteps, meta[metaSteps])
	}
	var guard Guard
	if err := json.Unmarshal([]byte(meta[metaGuard]), &guard); err != nil {
		return fmt.Errorf("textgan: checkpoint metadata %s: %w", metaGuard, err)
	}
	g := parts[prefixG]
	h, c := g[charlm.CarryH], g[charlm.CarryC]
	delete(g, charlm.CarryH)
	delete(g, charlm.CarryC)
	if err := t.restoreGenerator(g); err != nil {
		return err
	}
	if err := nn.LoadStateDict(t.D, parts[prefixD]); err != nil {
		return err
	}
	if err := t.OptD.LoadState(charlm.OptimState(parts[prefixDOpt])); err != nil {
		return err
	}
	if h != nil && c != nil {
		dev := t.G.Device()
		t.carry = nn.LSTMState{H: tensor.FromFloat32(dev, h.Float32s(), h.Shape()...), C: tensor.FromFloat32(dev, c.Float32s(), c.Shape()...)}
	}
	t.best = parts[prefixBest]
	seed, stream, _ := t.rng.State()
	t.rng.SetState(seed, stream, counter)
	t.Guard = guard
	t.steps = steps
	return nil
}

// Meta returns textgan weight-file metadata: the generator's charlm
// configuration and vocabulary, the discriminator's configuration and the
// guard's outcome.
func (t *Trainer) Meta(extra map[string]string) (map[string]string, error) {
	dcfg, _ := json.Marshal(t.Config.D)
	guard, _ := json.Marshal(t.Guard)
	e := map[string]string{MetaDConfig: string(dcfg), metaGuard: string(guard)}
	for k, v := range extra {
		e[k] = v
	}
	return t.G.Meta(Family, e)
}

// MetaDConfig holds the discriminator's configuration in weight files.
const MetaDConfig = "textgan.discriminator"

// Save writes the generator (under its charlm names, so the file is also a
// generator a charlm tool can read once the family check is relaxed) and
// the discriminator (under "discriminator.").
func (t *Trainer) Save(path string, extra map[string]string) error {
	meta, err := t.Meta(extra)
	if err != nil {
		return err
	}
	ts, err := nn.StateDict(t.G)
	if err != nil {
		return err
	}
	d, err := nn.StateDict(t.D)
	if err != nil {
		return err
	}
	for k, v := range d {
		ts["discriminator."+k] = v
	}
	return nn.SaveState(path, ts, meta)
}

// LoadGenerator reads the generator of a textgan weight file onto d.
func LoadGenerator(path string, d tensor.Device) (*charlm.Model, error) {
	ts, meta, err := nn.LoadState(path, tensor.CPU())
	if err != nil {
		return nil, err
	}
	if f := meta[nn.MetaFamily]; f != Family {
		return nil, fmt.Errorf("textgan: %s holds a %q model, not a %q one", path, f, Family)
	}
	g, err := charlm.FromMeta(d, meta, "")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	_, gw := nn.SplitPrefix(ts, "discriminator.")
	if err := nn.LoadStateDict(g, gw); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return g, nil
}

package gan

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/ingotml/ingot/nn"
	"github.com/ingotml/ingot/tensor"
)

// Families recorded in weight files (nn.MetaFamily).
const (
	FamilyGAN   = "gan"   // the MLP GAN, or a generator initialised from a VAE decoder
	FamilyDCGAN = "dcgan" // the deep convolutional GAN
)

// Architectures (Config.Arch).
const (
	ArchMLP   = "mlp"   // fully connected G and D (Goodfellow et al. 2014)
	ArchDCGAN = "dcgan" // convolutional G and D (Radford et al. 2016)
	// ArchVAE is a generator with a VAE decoder's architecture (Config.VAE
	// holds the VAE's configuration JSON) followed by tanh, and the MLP
	// discriminator.
	ArchVAE = "vae"
)

// Config describes a GAN's two networks. It is stored as JSON in weight
// files (nn.MetaConfig), so a file alone rebuilds the model. Zero fields
// take the defaults of DefaultConfig(Arch).
type Config struct {
	Arch     string `json:"arch"`
	Noise    int    `json:"noise"` // size of z ~ N(0, I)
	Channels int    `json:"channels"`
	Height   int    `json:"height"`
	Width    int    `json:"width"`
	// MLP: hidden sizes of G (noise side first) and of D (image side
	// first). Defaults [256, 512] and [512, 256].
	GHidden []int `json:"g_hidden,omitempty"`
	DHidden []int `json:"d_hidden,omitempty"`
	// DCGAN: the base channel count F. G projects z to 2F×(H/4)×(W/4) and
	// upsamples 2F → F → C; D downsamples C → F → 2F. Default 32.
	Features int `json:"features,omitempty"`
	// DBatchNorm puts BatchNorm after D's second convolution (DCGAN only;
	// the paper's D has it on every layer but the first). Default true;
	// stored explicitly.
	DBatchNorm *bool `json:"d_batchnorm,omitempty"`
	// Slope is the negative slope of the LeakyReLUs (default 0.2).
	Slope float32 `json:"slope"`
	// VAE is the VAE's configuration (JSON) for ArchVAE.
	VAE string `json:"vae,omitempty"`
}

// DefaultConfig is the default of an architecture for 28×28 greyscale
// images with 100-dimensional noise.
func DefaultConfig(arch string) Config {
	c := Config{Arch: arch, Noise: 100, Channels: 1, Height: 28, Width: 28, Slope: 0.2}
	switch arch {
	case ArchDCGAN:
		c.Features = 32
		t := true
		c.DBatchNorm = &t
	default:
		c.GHidden = []int{256, 512}
		c.DHidden = []int{512, 256}
	}
	return c
}

func (c Config) withDefaults() Config {
	if c.Arch == "" {
		c.Arch = ArchMLP
	}
	d := DefaultConfig(c.Arch)
	if c.Noise == 0 {
		c.Noise = d.Noise
	}
	if c.Channels == 0 {
		c.Channels = d.Channels
	}
	if c.Height == 0 {
		c.Height = d.Height
	}
	if c.Width == 0 {
		c.Width = d.Width
	}
	if c.Slope == 0 {
		c.Slope = d.Slope
	}
	switch c.Arch {
	case ArchDCGAN:
		if c.Features == 0 {
			c.Features = d.Features
		}
		if c.DBatchNorm == nil {
			b := *d.DBatchNorm
			c.DBatchNorm = &b
		}
	case ArchMLP, ArchVAE:
		if c.GHidden == nil && c.Arch == ArchMLP {
			c.GHidden = d.GHidden
		}
		if c.DHidden == nil {
			c.DHidden = DefaultConfig(ArchMLP).DHidden
		}
	}
	c.GHidden = slices.Clone(c.GHidden)
	c.DHidden = slices.Clone(c.DHidden)
	return c
}

// Validate checks the configuration (after defaults).
func (c Config) Validate() error {
	c = c.withDefaults()
	if c.Arch != ArchMLP && c.Arch != ArchDCGAN && c.Arch != ArchVAE {
		return fmt.Errorf("gan: unknown architecture %q (want %q, %q or %q)", c.Arch, ArchMLP, ArchDCGAN, ArchVAE)
	}
	if c.Noise <= 0 || c.Noise > 4096 {
		return fmt.Errorf("gan: noise size %d, want 1 to 4096", c.Noise)
	}
	if c.Channels <= 0 || c.Height <= 0 || c.Width <= 0 || c.Channels*c.Height*c.Width > 1<<24 {
		return fmt.Errorf("gan: image shape %d×%d×%d is not valid", c.Channels, c.Height, c.Width)
	}
	if !(c.Slope >= 0 && c.Slope < 1) {
		return fmt.Errorf("gan: LeakyReLU slope %v, want [0, 1)", c.Slope)
	}
	for _, h := range append(slices.Clone(c.GHidden), c.DHidden...) {
		if h <= 0 || h > 1<<16 {
			return fmt.Errorf("gan: hidden size %d, want 1 to 65536", h)
		}
	}
	switch c.Arch {
	case ArchDCGAN:
		if c.Height%4 != 0 || c.Width%4 != 0 {
			return fmt.Errorf("gan: a DCGAN needs a height and width divisible by 4, have %d×%d", c.Height, c.Width)
		}
		if c.Features <= 0 || c.Features > 1024 {
			return fmt.Errorf("gan: DCGAN features %d, want 1 to 1024", c.Features)
		}
	case ArchVAE:
		if c.VAE == "" {
			return fmt.Errorf("gan: architecture %q needs the VAE configuration", ArchVAE)
		}
	}
	return nil
}

// Pixels is the number of values in one image.
func (c Config) Pixels() int { return c.Channels * c.Height * c.Width }

// JSON is the configuration as stored in weight files.
func (c Config) JSON() string {
	b, _ := json.Marshal(c.withDefaults()) // plain data
	return string(b)
}

// ParseConfig decodes a configuration from a weight file and checks it.
func ParseConfig(s string) (Config, error) {
	var c Config
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return c, fmt.Errorf("gan: configuration %q: %w", s, err)
	}
	if err := c.Validate(); err != nil {
		return c, err
	}
	return c.withDefaults(), nil
}

// Model is a GAN: a generator from noise [N, Noise] to images
// [N, C, H, W] in [−1, 1] (tanh output) and a discriminator from images
// to one logit each, [N, 1]. Parameter names are "generator.<i>.…" and
// "discriminator.<i>.…", the indices of two PyTorch nn.Sequential modules
// (bench/pytorch/gan.py and dcgan.py build the same modules).
type Model struct {
	nn.Base
	Config        Config
	Generator     *nn.Sequential
	Discriminator *nn.Sequential
}

// New builds a GAN on device d, initialised from rng: the MLP GAN with
// PyTorch's default initialisation, the DCGAN with the paper's N(0, 0.02)
// weights (BatchNorm scales N(1, 0.02), biases 0). ArchVAE models are built
// by NewFromVAE.
func New(d tensor.Device, rng *tensor.RNG, cfg Config) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	var g, dis *nn.Sequential
	switch cfg.Arch {
	case ArchMLP:
		g = mlpGenerator(d, rng, cfg)
		dis = mlpDiscriminator(d, rng, cfg)
	case ArchDCGAN:
		g, dis = dcganNetworks(d, rng, cfg)
	default:
		return nil, fmt.Errorf("gan: architecture %q is built by NewFromVAE or Load", cfg.Arch)
	}
	return assemble(cfg, g, dis), nil
}

func assemble(cfg Config, g, dis *nn.Sequential) *Model {
	m := &Model{Config: cfg, Generator: g, Discriminator: dis}
	m.AddModule("generator", g)
	m.AddModule("discriminator", dis)
	m.SetTraining(true)
	return m
}

func mlpGenerator(d tensor.Device, rng *tensor.RNG, cfg Config) *nn.Sequential {
	g := nn.NewSequential()
	in := cfg.Noise
	for _, h := range cfg.GHidden {
		g.Append(nn.NewLinear(d, rng, in, h))
		g.Append(nn.NewLeakyReLU(cfg.Slope))
		in = h
	}
	g.Append(nn.NewLinear(d, rng, in, cfg.Pixels()))
	g.Append(&nn.Tanh{})
	g.Append(nn.NewReshape(cfg.Channels, cfg.Height, cfg.Width))
	return g
}

func mlpDiscriminator(d tensor.Device, rng *tensor.RNG, cfg Config) *nn.Sequential {
	dis := nn.NewSequential(&nn.Flatten{})
	in := cfg.Pixels()
	for _, h := range cfg.DHidden {
		dis.Append(nn.NewLinear(d, rng, in, h))
		dis.Append(nn.NewLeakyReLU(cfg.Slope))
		in = h
	}
	dis.Append(nn.NewLinear(d, rng, in, 1))
	return dis
}

// dcganNetworks follows the DCGAN guidelines for 28×28 images: no pooling
// (strided convolutions in D, fractionally strided in G), BatchNorm in G
// except its output and in D except its input, ReLU in G with a tanh
// output, LeakyReLU(0.2) in D, and the one fully connected layer each
// (G's projection of z, D's final logit).
func dcganNetworks(d tensor.Device, rng *tensor.RNG, cfg Config) (*nn.Sequential, *nn.Sequential) {
	f, h4, w4 := cfg.Features, cfg.Height/4, cfg.Width/4
	conv := func(in, out int, bias bool) nn.ConvConfig {
		return nn.ConvConfig{In: in, Out: out, Kernel: nn.Sq(4), Stride: nn.Sq(2), Padding: nn.Sq(1), NoBias: !bias}
	}
	g := nn.NewSequential(
		nn.NewLinear(d, rng, cfg.Noise, 2*f*h4*w4, nn.WithoutBias()),
		nn.NewBatchNorm1d(d, 2*f*h4*w4),
		&nn.ReLU{},
		nn.NewReshape(2*f, h4, w4),
		nn.NewConvTranspose2d(d, rng, conv(2*f, f, false)),
		nn.NewBatchNorm2d(d, f),
		&nn.ReLU{},
		nn.NewConvTranspose2d(d, rng, conv(f, cfg.Channels, true)),
		&nn.Tanh{},
	)
	dis := nn.NewSequential(
		nn.NewConv2d(d, rng, conv(cfg.Channels, f, true)),
		nn.NewLeakyReLU(cfg.Slope),
		nn.NewConv2d(d, rng, conv(f, 2*f, !*cfg.DBatchNorm)),
	)
	if *cfg.DBatchNorm {
		dis.Append(nn.NewBatchNorm2d(d, 2*f))
	}
	dis.Append(nn.NewLeakyReLU(cfg.Slope))
	dis.Append(&nn.Flatten{})
	dis.Append(nn.NewLinear(d, rng, 2*f*h4*w4, 1))
	// The paper's initialisation, replacing the layers' defaults.
	for _, s := range []*nn.Sequential{g, dis} {
		for _, l := range s.Layers {
			var w, b *nn.Param
			switch l := l.(type) {
			case *nn.Linear:
				w, b = l.Weight, l.Bias
			case *nn.Conv2d:
				w, b = l.Weight, l.Bias
			case *nn.ConvTranspose2d:
				w, b = l.Weight, l.Bias
			case *nn.BatchNorm:
				must(l.Weight.Set(nn.NormalInit(d, rng, 1, 0.02, l.Features)))
				continue
			default:
				continue
			}
			must(w.Set(nn.NormalInit(d, rng, 0, 0.02, w.T.Shape()...)))
			if b != nil {
				must(b.Set(tensor.ZerosLike(b.T)))
			}
		}
	}
	return g, dis
}

func must(err error) {
	if err != nil {
		panic(err) // same shapes by construction
	}
}

// Device is the device holding the model's parameters.
func (m *Model) Device() tensor.Device { return m.Params()[0].T.Device() }

// Generate maps noise z [N, Noise] to images [N, C, H, W] in [−1, 1],
// recording gradients through the generator.
func (m *Model) Generate(z *tensor.Tensor) *tensor.Tensor {
	if z.Rank() != 2 || z.Dim(1) != m.Config.Noise {
		panic(fmt.Sprintf("gan.Generate: want noise [N, %d], have %v", m.Config.Noise, z))
	}
	return m.Generator.Forward(z)
}

// Discriminate maps images [N, C, H, W] to logits [N, 1].
func (m *Model) Discriminate(x *tensor.Tensor) *tensor.Tensor {
	c := m.Config
	if x.Rank() != 4 || x.Dim(1) != c.Channels || x.Dim(2) != c.Height || x.Dim(3) != c.Width {
		panic(fmt.Sprintf("gan.Discriminate: want images [N, %d, %d, %d], have %v", c.Channels, c.Height, c.Width, x))
	}
	return m.Discriminator.Forward(x)
}

// Noise draws n noise vectors z ~ N(0, I) from rng.
func (m *Model) Noise(rng *tensor.RNG, n int) *tensor.Tensor {
	return rng.Normal(m.Device(), 0, 1, n, m.Config.Noise)
}

// Sample generates images for noise z with the generator in eval mode
// (BatchNorm on its running statistics), outside any graph: the result
// [N, C, H, W] in [−1, 1] does not require gradients. The model is left in
// the mode it was in.
func (m *Model) Sample(z *tensor.Tensor) *tensor.Tensor {
	was := m.Generator.Training()
	m.Generator.SetTraining(false)
	defer m.Generator.SetTraining(was)
	return detached(m.Generate(z.Detach()))
}

// Logits returns the discriminator's logits for images x in eval mode,
// outside any graph, as a host slice.
func (m *Model) Logits(x *tensor.Tensor) []float32 {
	was := m.Discriminator.Training()
	m.Discriminator.SetTraining(false)
	defer m.Discriminator.SetTraining(was)
	y := detached(m.Discriminate(x.Detach()))
	v := y.Float32s()
	y.Release()
	return v
}

// detached returns y's values outside the graph and releases the graph.
func detached(y *tensor.Tensor) *tensor.Tensor {
	out := y.Detach()
	y.ReleaseGraph()
	return out
}

// Players returns the model's networks for the adversarial step, drawing
// the generator's noise from rng. The noise of one call stays alive until
// the next call (the first layer's backward reads it), which Adversarial's
// step order allows: it generates again only after the previous batch's
// backward passes are done.
func (m *Model) Players(rng *tensor.RNG) Players {
	var prev *tensor.Tensor
	return Players{
		Generator:     m.Generator,
		Discriminator: m.Discriminator,
		Generate: func(n int) *tensor.Tensor {
			if prev != nil {
				prev.Release()
			}
			prev = m.Noise(rng, n)
			return m.Generate(prev)
		},
		Discriminate: m.Discriminate,
	}
}

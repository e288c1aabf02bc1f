package vae

import (
	"encoding/json"
	"fmt"
	"slices"
)

// Kinds of VAE.
const (
	MLP  = "mlp"  // fully connected encoder and decoder
	Conv = "conv" // Conv2d encoder, ConvTranspose2d decoder
)

// Config describes a VAE's architecture. It is stored as JSON in weight
// files (metadata key nn.MetaConfig), so a file alone rebuilds its model.
// Zero fields take the defaults of DefaultConfig(Kind).
type Config struct {
	Kind     string `json:"kind"`     // MLP or Conv
	Channels int    `json:"channels"` // image channels (1 for Fashion-MNIST)
	Height   int    `json:"height"`
	Width    int    `json:"width"`
	Latent   int    `json:"latent"` // size of z
	// Hidden are the fully connected hidden sizes of the encoder, input
	// side first; the decoder mirrors them. MLP default [400]; Conv default
	// [256] (after the convolutions).
	Hidden []int `json:"hidden"`
	// ConvChannels are the output channels of the encoder's stride-2
	// convolutions (Conv only; default [32, 64]); the decoder mirrors them
	// with transposed convolutions. Height and Width must be divisible by
	// 2^len(ConvChannels).
	ConvChannels []int `json:"conv_channels,omitempty"`
}

// DefaultConfig is the default architecture of a kind for 28×28 greyscale
// images with a 20-dimensional latent space: MLP 784-400-20 (the classic
// VAE of Kingma & Welling and PyTorch's example) or Conv 1→32→64 channels
// (4×4 kernels, stride 2: 28→14→7), then 3136-256-20.
func DefaultConfig(kind string) Config {
	c := Config{Kind: kind, Channels: 1, Height: 28, Width: 28, Latent: 20}
	switch kind {
	case Conv:
		c.Hidden = []int{256}
		c.ConvChannels = []int{32, 64}
	default:
		c.Hidden = []int{400}
	}
	return c
}

// withDefaults fills zero fields from DefaultConfig(c.Kind).
func (c Config) withDefaults() Config {
	if c.Kind == "" {
		c.Kind = MLP
	}
	d := DefaultConfig(c.Kind)
	if c.Channels == 0 {
		c.Channels = d.Channels
	}
	if c.Height == 0 {
		c.Height = d.Height
	}
	if c.Width == 0 {
		c.Width = d.Width
	}
	if c.Latent == 0 {
		c.Latent = d.Latent
	}
	if c.Hidden == nil {
		c.Hidden = d.Hidden
	}
	if c.Kind == Conv && c.ConvChannels == nil {
		c.ConvChannels = d.ConvChannels
	}
	c.Hidden = slices.Clone(c.Hidden)
	c.ConvChannels = slices.Clone(c.ConvChannels)
	return c
}

// Validate checks the configuration (after defaults are applied).
func (c Config) Validate() error {
	c = c.withDefaults()
	if c.Kind != MLP && c.Kind != Conv {
		return fmt.Errorf("vae: unknown kind %q (want %q or %q)", c.Kind, MLP, Conv)
	}
	if c.Channels <= 0 || c.Height <= 0 || c.Width <= 0 {
		return fmt.Errorf("vae: image shape %d×%d×%d must be positive", c.Channels, c.Height, c.Width)
	}
	if c.Channels > 4 || c.Height > 4096 || c.Width > 4096 {
		return fmt.Errorf("vae: image shape %d×%d×%d is too large (at most 4 channels of 4096×4096)", c.Channels, c.Height, c.Width)
	}
	if c.Latent <= 0 || c.Latent > 4096 {
		return fmt.Errorf("vae: latent size %d, want 1 to 4096", c.Latent)
	}
	for _, h := range c.Hidden {
		if h <= 0 || h > 1<<16 {
			return fmt.Errorf("vae: hidden size %d, want 1 to 65536", h)
		}
	}
	if c.Kind == MLP && len(c.ConvChannels) > 0 {
		return fmt.Errorf("vae: conv_channels %v given for an MLP VAE", c.ConvChannels)
	}
	if c.Kind == Conv {
		if len(c.ConvChannels) == 0 {
			return fmt.Errorf("vae: a conv VAE needs at least one conv channel count")
		}
		f := 1 << len(c.ConvChannels)
		if c.Height%f != 0 || c.Width%f != 0 {
			return fmt.Errorf("vae: %d stride-2 convolutions need a height and width divisible by %d, have %d×%d", len(c.ConvChannels), f, c.Height, c.Width)
		}
		for _, ch := range c.ConvChannels {
			if ch <= 0 || ch > 4096 {
				return fmt.Errorf("vae: conv channels %d, want 1 to 4096", ch)
			}
		}
	}
	return nil
}

// Pixels is the number of values in one image.
func (c Config) Pixels() int { return c.Channels * c.Height * c.Width }

// JSON is the configuration as stored in weight files.
func (c Config) JSON() string {
	b, _ := json.Marshal(c.withDefaults()) // plain data: cannot fail
	return string(b)
}

// ParseConfig decodes a configuration from a weight file, strictly.
func ParseConfig(s string) (Config, error) {
	var c Config
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return c, fmt.Errorf("vae: configuration %q: %w", s, err)
	}
	if err := c.Validate(); err != nil {
		return c, err
	}
	return c.withDefaults(), nil
}

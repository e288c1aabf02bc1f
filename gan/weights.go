package gan

import (
	"fmt"
	"maps"

	"github.com/ingotml/ingot/nn"
	"github.com/ingotml/ingot/tensor"
	"github.com/ingotml/ingot/vae"
)

// Family is the family recorded in m's weight files: "dcgan" for the
// DCGAN, "gan" otherwise.
func (m *Model) Family() string {
	if m.Config.Arch == ArchDCGAN {
		return FamilyDCGAN
	}
	return FamilyGAN
}

// Meta returns the weight-file metadata that rebuilds m.
func (m *Model) Meta() map[string]string {
	return map[string]string{nn.MetaFamily: m.Family(), nn.MetaConfig: m.Config.JSON()}
}

// Save writes both networks and the metadata that rebuilds the model to
// path (".safetensors.zst" compresses), atomically; extra metadata is
// added but cannot override the family or configuration.
func (m *Model) Save(path string, extra ...map[string]string) error {
	meta := map[string]string{}
	for _, e := range extra {
		maps.Copy(meta, e)
	}
	maps.Copy(meta, m.Meta())
	return nn.Save(path, m, meta)
}

// Load rebuilds a GAN (family "gan" or "dcgan") on device d from a weight
// file written by Save. The model is in eval mode.
func Load(path string, d tensor.Device) (*Model, error) {
	ts, meta, err := nn.LoadState(path, d)
	if err != nil {
		return nil, err
	}
	f := meta[nn.MetaFamily]
	if f != FamilyGAN && f != FamilyDCGAN {
		if f == "" {
			return nil, fmt.Errorf("%s: not an ingot weight file with a model family (metadata %q missing)", path, nn.MetaFamily)
		}
		return nil, fmt.Errorf("%s: holds a %q model, not a GAN (gan or dcgan)", path, f)
	}
	cfg, err := ParseConfig(meta[nn.MetaConfig])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var m *Model
	if cfg.Arch == ArchVAE {
		m, err = newVAEShaped(d, tensor.NewRNG(0), cfg)
	} else {
		m, err = New(d, tensor.NewRNG(0), cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if m.Family() != f {
		return nil, fmt.Errorf("%s: family %q does not match architecture %q", path, f, cfg.Arch)
	}
	if err := nn.LoadStateDict(m, ts); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m.SetTraining(false)
	return m, nil
}

// A generator from a VAE decoder.
//
// The VAE's decoder (package vae) maps z to pixel logits ℓ and its images
// are σ(ℓ) in [0, 1]. The GAN's images live in [−1, 1], and
//
//	2σ(ℓ) − 1 = tanh(ℓ/2),
//
// so the generator is the decoder with its last layer's weight and bias
// halved, followed by tanh: at step 0 it produces exactly the decoder's
// images, rescaled to [−1, 1]. Its noise is the VAE's prior, z ~ N(0, I)
// of the latent size. Parameter names map one to one:
//
//	vae  decoder.<i>.weight, decoder.<i>.bias   (Linear, ConvTranspose2d)
//	gan  generator.<i>.weight, generator.<i>.bias
//
// with the same index i (the Sequential keeps the decoder's layers in
// order and appends Tanh at the end), and the last layer with parameters
// holds halved values. The encoder, fc_mu and fc_logvar are not used. The
// discriminator is the MLP GAN's (Config.DHidden), freshly initialised.

// NewFromVAE builds a GAN whose generator starts from the decoder of the
// VAE weight file at path, as described above. cfg may set DHidden and
// Slope; the architecture, noise and image shape come from the file.
func NewFromVAE(d tensor.Device, rng *tensor.RNG, path string, cfg Config) (*Model, error) {
	vm, err := vae.Load(path, d)
	if err != nil {
		return nil, fmt.Errorf("gan: generator from a VAE: %w", err)
	}
	cfg.Arch, cfg.VAE = ArchVAE, vm.Config.JSON()
	cfg.GHidden, cfg.Features, cfg.DBatchNorm = nil, 0, nil
	m, err := newVAEShaped(d, rng, cfg)
	if err != nil {
		return nil, err
	}
	// Copy the decoder's weights (generator.<i> = decoder.<i>), halving
	// the last layer with parameters.
	dec, err := nn.StateDict(vm.Decoder)
	if err != nil {
		return nil, err
	}
	last := lastParamLayer(m.Generator)
	for _, p := range m.Generator.Params() {
		src, ok := dec[p.Name]
		if !ok {
			return nil, fmt.Errorf("gan: %s: the VAE decoder has no tensor %q", path, "decoder."+p.Name)
		}
		v := src.Float32s()
		if layerIndex(p.Name) == last {
			for i := range v {
				v[i] *= 0.5
			}
		}
		if err := p.Set(tensor.FromFloat32(d, v, src.Shape()...)); err != nil {
			return nil, fmt.Errorf("gan: %s: %w", path, err)
		}
	}
	return m, nil
}

// newVAEShaped builds an ArchVAE model with fresh weights from cfg.VAE.
func newVAEShaped(d tensor.Device, rng *tensor.RNG, cfg Config) (*Model, error) {
	vc, err := vae.ParseConfig(cfg.VAE)
	if err != nil {
		return nil, fmt.Errorf("gan: generator from a VAE: %w", err)
	}
	if vc.Channels != 1 {
		return nil, fmt.Errorf("gan: the VAE makes %d-channel images; the GAN trainer takes greyscale images", vc.Channels)
	}
	cfg.Arch, cfg.Noise = ArchVAE, vc.Latent
	cfg.Channels, cfg.Height, cfg.Width = vc.Channels, vc.Height, vc.Width
	cfg.VAE = vc.JSON()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	vm, err := vae.New(d, rng, vc)
	if err != nil {
		return nil, err
	}
	g := nn.NewSequential(vm.Decoder.Layers...)
	g.Append(&nn.Tanh{})
	return assemble(cfg, g, mlpDiscriminator(d, rng, cfg)), nil
}

// lastParamLayer is the index of the last layer of s with parameters.
func lastParamLayer(s *nn.Sequential) int {
	last := -1
	for i, l := range s.Layers {
		if len(l.Params()) > 0 {
			last = i
		}
	}
	return last
}

// layerIndex is the leading index of a Sequential parameter name ("3.weight" → 3).
func layerIndex(name string) int {
	i := 0
	for _, c := range name {
		if c < '0' || c > '9' {
			break
		}
		i = i*10 + int(c-'0')
	}
	return i
}

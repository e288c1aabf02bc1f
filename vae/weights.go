package vae

import (
	"fmt"
	"maps"

	"github.com/ingotml/ingot/nn"
	"github.com/ingotml/ingot/nn/optim"
	"github.com/ingotml/ingot/tensor"
)

// Meta returns the weight-file metadata that rebuilds m: the family and
// the configuration (nn.Save adds the ingot version).
func (m *Model) Meta() map[string]string {
	return map[string]string{nn.MetaFamily: Family, nn.MetaConfig: m.Config.JSON()}
}

// Save writes m's weights and the metadata that rebuilds it to path
// (".safetensors.zst" compresses), atomically. extra metadata is added
// (e.g. training settings).
func (m *Model) Save(path string, extra map[string]string) error {
	meta := m.Meta()
	maps.Copy(meta, extra)
	maps.Copy(meta, m.Meta()) // extra cannot override family or config
	return nn.Save(path, m, meta)
}

// Load rebuilds a VAE on device d from a weight file written by Save (or
// by anything writing the same names and metadata), or from a training
// checkpoint (whose optimizer state it ignores).
func Load(path string, d tensor.Device) (*Model, error) {
	ts, meta, err := nn.LoadState(path, d)
	if err != nil {
		return nil, err
	}
	return FromState(ts, meta, path)
}

// FromState rebuilds a VAE from loaded tensors and metadata; where names
// the source in errors.
func FromState(ts map[string]*tensor.Tensor, meta map[string]string, where string) (*Model, error) {
	if f := meta[nn.MetaFamily]; f != Family {
		if f == "" {
			return nil, fmt.Errorf("%s: not an ingot weight file with a model family (metadata %q missing)", where, nn.MetaFamily)
		}
		return nil, fmt.Errorf("%s: holds a %q model, not a VAE", where, f)
	}
	cfg, err := ParseConfig(meta[nn.MetaConfig])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	d := tensor.CPU()
	for _, t := range ts {
		d = t.Device()
		break
	}
	if meta["train.kind"] == "checkpoint" {
		// A training checkpoint: the model's tensors plus the optimizer's.
		_, ts = nn.SplitPrefix(ts, optim.StatePrefix)
	}
	m, err := New(d, tensor.NewRNG(0), cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if err := nn.LoadStateDict(m, ts); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	m.SetTraining(false)
	return m, nil
}

package nn

import (
	"fmt"
	"github.com/ingotml/ingot"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/ingotml/ingot/nn/safetensors"
	"github.com/ingotml/ingot/tensor"
)

// Weight files are safetensors (package nn/safetensors), zstd-compressed
// when the path ends in ".zst" (the default ".safetensors.zst"), written
// atomically. Tensor names are the modules' dotted parameter names, so a
// file moves to and from PyTorch's load_state_dict without renaming.
//
// The metadata (string → string) carries what rebuilds a model: the family
// (MetaFamily), its configuration as a JSON string (MetaConfig) and the
// ingot version (MetaVersion, added by Save). Read it with ReadMeta, build
// the model, then Load.
//
// Checkpoints are the same format: SaveState writes any named tensors —
// StateDict(m) plus, say, the optimizer's state under an "optim." prefix —
// and the metadata holds scalars such as the step and the RNG state (as
// decimal or JSON strings). LoadState reads them back; SplitPrefix and
// LoadStateDict put the pieces where they belong.

// Metadata keys ingot writes.
const (
	MetaFamily  = "ingot.family"  // model family, e.g. "vae", "gan", "charlm"
	MetaConfig  = "ingot.config"  // the model's configuration, a JSON string
	MetaVersion = "ingot.version" // the ingot version that wrote the file
	MetaFormat  = "format"        // "pt", the Hugging Face convention for PyTorch layouts
)

// Version is the ingot version recorded in weight files.
const Version = ingot.Version

// SaveOption adjusts Save and SaveState.
type SaveOption func(*saveOptions)

type saveOptions struct {
	storage safetensors.DType
}

// WithStorage stores float32 tensors as safetensors.F32 (the default, exact),
// F16 (relative error ≤ 2⁻¹¹ ≈ 4.9e-4 in the normal range, overflow above
// 65504) or BF16 (relative error ≤ 2⁻⁸ ≈ 3.9e-3, full float32 range) —
// halving the file at the cost of that rounding. Loading converts back to
// float32 exactly.
func WithStorage(dt safetensors.DType) SaveOption {
	return func(o *saveOptions) { o.storage = dt }
}

// isI64Name reports int32 buffers PyTorch keeps as int64: they are written as
// I64 (and read from I64 or I32).
func isI64Name(name string) bool {
	return name == "num_batches_tracked" || strings.HasSuffix(name, ".num_batches_tracked")
}

// StateDict returns m's parameters and buffers by dotted name (the tensors
// themselves, not copies). A name registered twice is an error.
func StateDict(m Module) (map[string]*tensor.Tensor, error) {
	out := map[string]*tensor.Tensor{}
	for _, p := range m.Params() {
		if _, dup := out[p.Name]; dup {
			return nil, fmt.Errorf("nn: parameter name %q appears twice in the module", p.Name)
		}
		out[p.Name] = p.T
	}
	return out, nil
}

// Save writes m's parameters and buffers to path with metadata meta (plus
// MetaVersion and MetaFormat unless given).
func Save(path string, m Module, meta map[string]string, opts ...SaveOption) error {
	sd, err := StateDict(m)
	if err != nil {
		return fmt.Errorf("saving %s: %w", path, err)
	}
	return SaveState(path, sd, meta, opts...)
}

// SaveState writes named tensors and metadata to path atomically: float32
// tensors in the chosen storage (F32 by default), int32 tensors as I32,
// except num_batches_tracked buffers, written as I64 like PyTorch's.
func SaveState(path string, tensors map[string]*tensor.Tensor, meta map[string]string, opts ...SaveOption) error {
	o := saveOptions{storage: safetensors.F32}
	for _, f := range opts {
		f(&o)
	}
	f := &safetensors.File{Metadata: map[string]string{MetaVersion: Version, MetaFormat: "pt"}}
	maps.Copy(f.Metadata, meta)
	for _, name := range slices.Sorted(maps.Keys(tensors)) {
		t := tensors[name]
		shape := t.Shape()
		var err error
		switch t.DType() {
		case tensor.Float32:
			err = f.AddFloat32(name, shape, t.Float32s(), o.storage)
		case tensor.Int32:
			v := t.Int32s()
			if isI64Name(name) {
				w := make([]int64, len(v))
				for i, x := range v {
					w[i] = int64(x)
				}
				err = f.AddInt64(name, shape, w)
			} else {
				err = f.AddInt32(name, shape, v)
			}
		default:
			err = fmt.Errorf("tensor %q: cannot save dtype %v", name, t.DType())
		}
		if err != nil {
			return fmt.Errorf("saving %s: %w", path, err)
		}
	}
	if err := safetensors.WriteFile(path, f); err != nil {
		return fmt.Errorf("saving weights: %w", err)
	}
	return nil
}

// ReadMeta returns the metadata of the weight file at path (the whole file
// is read and checked, so a corrupt file fails here already).
func ReadMeta(path string) (map[string]string, error) {
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading weights: %w", err)
	}
	return f.Metadata, nil
}

// LoadState reads every tensor of the file at path onto device d: F32, F16
// and BF16 become float32, I32 becomes int32, and I64 becomes int32 when
// every value fits. Other dtypes are an error naming the tensor.
func LoadState(path string, d tensor.Device) (map[string]*tensor.Tensor, map[string]string, error) {
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading weights: %w", err)
	}
	out := make(map[string]*tensor.Tensor, len(f.Tensors))
	for _, name := range f.Names() {
		t, err := toTensor(d, name, f.Tensors[name])
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		out[name] = t
	}
	return out, f.Metadata, nil
}

func toTensor(d tensor.Device, name string, st safetensors.Tensor) (*tensor.Tensor, error) {
	shape := append([]int{}, st.Shape...)
	if len(shape) > tensor.MaxRank {
		return nil, fmt.Errorf("tensor %q: rank %d exceeds %d", name, len(shape), tensor.MaxRank)
	}
	switch st.DType {
	case safetensors.F32, safetensors.F16, safetensors.BF16:
		v, err := st.Float32()
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		return tensor.FromFloat32(d, v, shape...), nil
	case safetensors.I32:
		v, err := st.Int32()
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		return tensor.FromInt32(d, v, shape...), nil
	case safetensors.I64:
		v, err := st.Int64()
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		w := make([]int32, len(v))
		for i, x := range v {
			if x < math.MinInt32 || x > math.MaxInt32 {
				return nil, fmt.Errorf("tensor %q: I64 value %d at index %d does not fit int32", name, x, i)
			}
			w[i] = int32(x)
		}
		return tensor.FromInt32(d, w, shape...), nil
	}
	return nil, fmt.Errorf("tensor %q: dtype %s is not supported (want F32, F16, BF16, I32 or I64)", name, st.DType)
}

// Load reads the weight file at path into m and returns its metadata. It is
// strict: every parameter and buffer of m must be in the file with the
// same shape and a compatible dtype (F32/F16/BF16 for float32, I32/I64 for
// int32), and the file must hold nothing else; any mismatch is an error
// naming the tensor, and m is left unchanged. Values go to the device each
// parameter is on.
func Load(path string, m Module) (map[string]string, error) {
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("loading weights: %w", err)
	}
	ps := m.Params()
	have := map[string]bool{}
	news := make([]*tensor.Tensor, len(ps))
	for i, p := range ps {
		if have[p.Name] {
			return nil, fmt.Errorf("loading %s: parameter name %q appears twice in the module", path, p.Name)
		}
		have[p.Name] = true
		st, ok := f.Tensors[p.Name]
		if !ok {
			return nil, fmt.Errorf("loading %s: tensor %q (%v%v) is missing from the file", path, p.Name, p.T.DType(), p.T.Shape())
		}
		if err := compatible(p, st); err != nil {
			return nil, fmt.Errorf("loading %s: %w", path, err)
		}
		t, err := toTensor(p.T.Device(), p.Name, st)
		if err != nil {
			return nil, fmt.Errorf("loading %s: %w", path, err)
		}
		news[i] = t
	}
	var extra []string
	for _, name := range f.Names() {
		if !have[name] {
			extra = append(extra, fmt.Sprintf("%q", name))
		}
	}
	if len(extra) > 0 {
		return nil, fmt.Errorf("loading %s: unexpected tensors in the file (not in the model): %s", path, strings.Join(extra, ", "))
	}
	for i, p := range ps {
		if err := p.Set(news[i]); err != nil {
			return nil, fmt.Errorf("loading %s: %w", path, err)
		}
	}
	return f.Metadata, nil
}

func compatible(p *Param, st safetensors.Tensor) error {
	if !slices.Equal(p.T.Shape(), st.Shape) {
		return fmt.Errorf("tensor %q: shape %v in the file, the model has %v", p.Name, st.Shape, p.T.Shape())
	}
	var ok bool
	switch p.T.DType() {
	case tensor.Float32:
		ok = st.DType == safetensors.F32 || st.DType == safetensors.F16 || st.DType == safetensors.BF16
	case tensor.Int32:
		ok = st.DType == safetensors.I32 || st.DType == safetensors.I64
	}
	if !ok {
		return fmt.Errorf("tensor %q: dtype %s in the file cannot load into the model's %v", p.Name, st.DType, p.T.DType())
	}
	return nil
}

// LoadStateDict sets m's parameters and buffers from tensors (as returned by
// LoadState), strictly as Load does: the names must match exactly, with the
// same shapes and dtypes. Values are copied into the existing tensors (from
// any device), so optimizers built over them stay attached.
func LoadStateDict(m Module, tensors map[string]*tensor.Tensor) error {
	ps := m.Params()
	have := map[string]bool{}
	for _, p := range ps {
		have[p.Name] = true
		t, ok := tensors[p.Name]
		if !ok {
			return fmt.Errorf("nn.LoadStateDict: tensor %q is missing", p.Name)
		}
		if !slices.Equal(t.Shape(), p.T.Shape()) || t.DType() != p.T.DType() {
			return fmt.Errorf("nn.LoadStateDict: tensor %q is %v, the model has %v", p.Name, t, p.T)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(tensors)) {
		if !have[name] {
			return fmt.Errorf("nn.LoadStateDict: unexpected tensor %q (not in the model)", name)
		}
	}
	for _, p := range ps {
		if err := p.Set(tensors[p.Name]); err != nil {
			return err
		}
	}
	return nil
}

// SplitPrefix separates the tensors whose names start with prefix (returned
// with the prefix removed) from the others.
func SplitPrefix(tensors map[string]*tensor.Tensor, prefix string) (with, without map[string]*tensor.Tensor) {
	with, without = map[string]*tensor.Tensor{}, map[string]*tensor.Tensor{}
	for name, t := range tensors {
		if rest, ok := strings.CutPrefix(name, prefix); ok {
			with[rest] = t
		} else {
			without[name] = t
		}
	}
	return with, without
}

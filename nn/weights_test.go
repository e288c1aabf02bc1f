package nn

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ingotml/ingot/nn/safetensors"
	"github.com/ingotml/ingot/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testModel is a small model with every kind of state: conv and linear
// weights, batch-norm buffers and num_batches_tracked.
func testModel(seed uint64) *Sequential {
	rng := tensor.NewRNG(seed)
	return NewSequential(
		NewConv2d(cpu, rng, ConvConfig{In: 1, Out: 3, Kernel: Sq(3), Stride: Sq(2), Padding: Sq(1)}),
		NewBatchNorm2d(cpu, 3),
		NewLeakyReLU(0.2),
		&Flatten{},
		NewLinear(cpu, rng, 3*3*3, 2),
	)
}

// trained runs two training forwards so that the buffers are not at their
// initial values.
func trained(seed uint64) *Sequential {
	m := testModel(seed)
	rng := tensor.NewRNG(seed + 100)
	for range 2 {
		m.Forward(rng.Normal(cpu, 1, 2, 4, 1, 6, 6))
	}
	return m
}

func stateValues(t *testing.T, m Module) map[string][]float32 {
	out := map[string][]float32{}
	for _, p := range m.Params() {
		if p.T.DType() == tensor.Int32 {
			for _, v := range p.T.Int32s() {
				out[p.Name] = append(out[p.Name], float32(v))
			}
		} else {
			out[p.Name] = p.T.Float32s()
		}
	}
	return out
}

func TestSaveLoadRoundTrip(t *testing.T) {
	for _, name := range []string{"m.safetensors.zst", "m.safetensors"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), name)
			src := trained(1)
			meta := map[string]string{MetaFamily: "test", MetaConfig: `{"hidden":3}`}
			require.NoError(t, Save(path, src, meta))

			got, err := ReadMeta(path)
			require.NoError(t, err)
			assert.Equal(t, "test", got[MetaFamily])
			assert.Equal(t, `{"hidden":3}`, got[MetaConfig])
			assert.Equal(t, Version, got[MetaVersion])

			// PyTorch's dtypes on disk: num_batches_tracked is I64.
			f, err := safetensors.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, safetensors.I64, f.Tensors["1.num_batches_tracked"].DType)
			assert.Empty(t, f.Tensors["1.num_batches_tracked"].Shape)
			assert.Equal(t, safetensors.F32, f.Tensors["0.weight"].DType)

			dst := testModel(2)
			require.NotEqual(t, stateValues(t, src), stateValues(t, dst))
			meta2, err := Load(path, dst)
			require.NoError(t, err)
			assert.Equal(t, "test", meta2[MetaFamily])
			assert.Equal(t, stateValues(t, src), stateValues(t, dst))
			assert.Equal(t, []int32{2}, dst.Layers[1].(*BatchNorm).NumBatchesTracked.T.Int32s())
			for _, p := range Trainable(dst) {
				assert.True(t, p.T.RequiresGrad(), p.Name)
			}
			// The loaded model computes what the saved one does.
			src.SetTraining(false)
			dst.SetTraining(false)
			x := tensor.NewRNG(5).Normal(cpu, 0, 1, 2, 1, 6, 6)
			assert.Equal(t, src.Forward(x).Float32s(), dst.Forward(x).Float32s())
		})
	}
}

// TestSaveReducedPrecision: F16 and BF16 storage halve the float data and
// load back within their documented relative errors (2⁻¹¹ and 2⁻⁸; the
// weights here are normal numbers well inside F16's range).
func TestSaveReducedPrecision(t *testing.T) {
	src := trained(3)
	want := stateValues(t, src)
	for _, tc := range []struct {
		dt  safetensors.DType
		rel float64
	}{{safetensors.F16, 1.0 / 2048}, {safetensors.BF16, 1.0 / 256}} {
		t.Run(string(tc.dt), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "m.safetensors")
			require.NoError(t, Save(path, src, nil, WithStorage(tc.dt)))
			f, err := safetensors.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, tc.dt, f.Tensors["4.weight"].DType)
			dst := testModel(4)
			_, err = Load(path, dst)
			require.NoError(t, err)
			got := stateValues(t, dst)
			for name, w := range want {
				assertClose(t, f64(w), got[name], 1e-7, tc.rel, name)
			}
		})
	}
	err := Save(filepath.Join(t.TempDir(), "x.safetensors"), src, nil, WithStorage(safetensors.I8))
	require.ErrorContains(t, err, "I8")
}

// TestLoadStrict: each mismatch is an error naming the tensor, and a failed
// load leaves the model unchanged.
func TestLoadStrict(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.safetensors")
	require.NoError(t, Save(good, trained(1), nil))
	base, err := safetensors.ReadFile(good)
	require.NoError(t, err)

	variant := func(name string, edit func(f *safetensors.File)) string {
		f := &safetensors.File{Metadata: base.Metadata, Tensors: map[string]safetensors.Tensor{}}
		for k, v := range base.Tensors {
			f.Tensors[k] = v
		}
		edit(f)
		p := filepath.Join(dir, name)
		require.NoError(t, safetensors.WriteFile(p, f))
		return p
	}
	cases := []struct {
		name, path, want string
	}{
		{"missing", variant("missing.safetensors", func(f *safetensors.File) { delete(f.Tensors, "4.bias") }), `"4.bias"`},
		{"unexpected", variant("extra.safetensors", func(f *safetensors.File) {
			f.Tensors["5.weight"] = safetensors.Tensor{DType: safetensors.F32, Shape: []int{1}, Data: make([]byte, 4)}
		}), `"5.weight"`},
		{"shape", variant("shape.safetensors", func(f *safetensors.File) {
			f.Tensors["4.bias"] = safetensors.Tensor{DType: safetensors.F32, Shape: []int{1, 2}, Data: make([]byte, 8)}
		}), `"4.bias"`},
		{"dtype", variant("dtype.safetensors", func(f *safetensors.File) {
			f.Tensors["4.bias"] = safetensors.Tensor{DType: safetensors.I32, Shape: []int{2}, Data: make([]byte, 8)}
		}), `"4.bias"`},
		{"float-for-int", variant("nbt.safetensors", func(f *safetensors.File) {
			f.Tensors["1.num_batches_tracked"] = safetensors.Tensor{DType: safetensors.F32, Shape: []int{}, Data: make([]byte, 4)}
		}), `"1.num_batches_tracked"`},
		{"i64-overflow", variant("big.safetensors", func(f *safetensors.File) {
			f.Tensors["1.num_batches_tracked"] = safetensors.Tensor{DType: safetensors.I64, Shape: []int{}, Data: []byte{0, 0, 0, 0, 1, 0, 0, 0}}
		}), `"1.num_batches_tracked"`},
		{"f64", variant("f64.safetensors", func(f *safetensors.File) {
			f.Tensors["4.bias"] = safetensors.Tensor{DType: safetensors.F64, Shape: []int{2}, Data: make([]byte, 16)}
		}), `"4.bias"`},
		{"no-file", filepath.Join(dir, "absent.safetensors"), "absent.safetensors"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := testModel(7)
			before := stateValues(t, m)
			_, err := Load(tc.path, m)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Equal(t, before, stateValues(t, m), "a failed load changes nothing")
		})
	}

	// Truncated and garbage files are errors, not panics.
	data, err := os.ReadFile(good)
	require.NoError(t, err)
	for _, n := range []int{0, 7, 8, 100, len(data) - 1} {
		p := filepath.Join(dir, "trunc.safetensors")
		require.NoError(t, os.WriteFile(p, data[:n], 0o644))
		_, err := Load(p, testModel(7))
		require.Error(t, err, "truncated to %d bytes", n)
		_, err = ReadMeta(p)
		require.Error(t, err)
	}
}

// TestCheckpointState: a checkpoint holds the model's state plus extra
// tensors (optimizer state) and scalar metadata; SplitPrefix and
// LoadStateDict restore them.
func TestCheckpointState(t *testing.T) {
	src := trained(1)
	sd, err := StateDict(src)
	require.NoError(t, err)
	state := map[string]*tensor.Tensor{}
	for k, v := range sd {
		state[k] = v
	}
	state["optim.0.weight.exp_avg"] = tensor.Full(cpu, 0.5, 3, 1, 3, 3)
	state["optim.step_count"] = tensor.FromInt32(cpu, []int32{7}, []int{}...)
	path := filepath.Join(t.TempDir(), "ckpt.safetensors.zst")
	require.NoError(t, SaveState(path, state, map[string]string{"ingot.step": "42", "ingot.rng": `[1,0,96]`}))

	got, meta, err := LoadState(path, cpu)
	require.NoError(t, err)
	assert.Equal(t, "42", meta["ingot.step"])
	assert.Equal(t, `[1,0,96]`, meta["ingot.rng"])
	opt, model := SplitPrefix(got, "optim.")
	require.Len(t, opt, 2)
	assert.Equal(t, []int32{7}, opt["step_count"].Int32s())
	assert.Equal(t, state["optim.0.weight.exp_avg"].Float32s(), opt["0.weight.exp_avg"].Float32s())

	dst := testModel(9)
	require.NoError(t, LoadStateDict(dst, model))
	assert.Equal(t, stateValues(t, src), stateValues(t, dst))

	// Strictness of LoadStateDict.
	require.ErrorContains(t, LoadStateDict(testModel(9), got), `"optim.`)
	delete(model, "0.bias")
	require.ErrorContains(t, LoadStateDict(testModel(9), model), `"0.bias"`)
	model["0.bias"] = tensor.Zeros(cpu, 4)
	require.ErrorContains(t, LoadStateDict(testModel(9), model), `"0.bias"`)
}

// FuzzLoad: arbitrary bytes (plain or zstd) never panic Load or LoadState;
// when Load accepts a file, the model keeps its shapes.
func FuzzLoad(f *testing.F) {
	dir := f.TempDir()
	for i, name := range []string{"a.safetensors", "b.safetensors.zst"} {
		p := filepath.Join(dir, name)
		require.NoError(f, Save(p, testModel(uint64(i)), map[string]string{MetaFamily: "x"}))
		data, err := os.ReadFile(p)
		require.NoError(f, err)
		f.Add(data)
		f.Add(data[:len(data)/2])
	}
	golden, err := os.ReadFile("testdata/layers_model.safetensors")
	require.NoError(f, err)
	f.Add(golden)
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "f.safetensors")
		require.NoError(t, os.WriteFile(p, data, 0o644))
		m := testModel(1)
		shapes := map[string][]int{}
		for _, q := range m.Params() {
			shapes[q.Name] = q.T.Shape()
		}
		if _, err := Load(p, m); err == nil {
			for _, q := range m.Params() {
				require.Equal(t, shapes[q.Name], q.T.Shape(), q.Name)
			}
		}
		_, _, _ = LoadState(p, cpu)
	})
}

package safetensors

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	want := sampleFile(t)
	cases := []struct {
		name string
		load func(t *testing.T) *File
	}{
		{"Encode/Decode", func(t *testing.T) *File {
			f, err := Decode(bytes.NewReader(encoded(t, want)), Limits{})
			require.NoError(t, err)
			return f
		}},
		{"EncodeZstd/Decode", func(t *testing.T) *File {
			f, err := Decode(bytes.NewReader(encodedZstd(t, want)), Limits{})
			require.NoError(t, err)
			return f
		}},
		{"WriteFile/ReadFile plain", func(t *testing.T) *File {
			p := filepath.Join(dir, "m.safetensors")
			require.NoError(t, WriteFile(p, want))
			raw, err := os.ReadFile(p)
			require.NoError(t, err)
			require.Equal(t, encoded(t, want), raw, "plain file is exactly Encode's output")
			f, err := ReadFile(p)
			require.NoError(t, err)
			return f
		}},
		{"WriteFile/ReadFile zst", func(t *testing.T) *File {
			p := filepath.Join(dir, "m.safetensors.zst")
			require.NoError(t, WriteFile(p, want))
			raw, err := os.ReadFile(p)
			require.NoError(t, err)
			require.True(t, isZstd(raw))
			f, err := ReadFile(p)
			require.NoError(t, err)
			return f
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.load(t)
			requireSameFile(t, want, got)
			checkSampleValues(t, got)
		})
	}
}

// checkSampleValues decodes sampleFile's tensors and checks them against the
// float32 inputs with the documented bounds: F32 exact, F16 relative 2^-11
// (all samples are in F16's normal range), BF16 relative 2^-8.
func checkSampleValues(t *testing.T, f *File) {
	for _, c := range []struct {
		name  string
		bound float64
	}{{"enc.0.weight", 0}, {"enc.0.half", math.Ldexp(1, -11)}, {"enc.0.bf", math.Ldexp(1, -8)}} {
		got, err := f.Tensors[c.name].Float32()
		require.NoError(t, err)
		require.Len(t, got, len(sampleFloats))
		for i, w := range sampleFloats {
			rel := math.Abs(float64(got[i])-float64(w)) / math.Abs(float64(w))
			assert.LessOrEqual(t, rel, c.bound, "%s[%d]: %g vs %g", c.name, i, got[i], w)
		}
	}
	s, err := f.Tensors["scalar"].Float32()
	require.NoError(t, err)
	assert.Equal(t, []float32{-0.75}, s)
	assert.Equal(t, 1, f.Tensors["scalar"].NumElements())
	assert.Equal(t, []int{}, f.Tensors["scalar"].Shape)
	e, err := f.Tensors["empty.f32"].Float32()
	require.NoError(t, err)
	assert.Empty(t, e)
	assert.Equal(t, []int{0, 4}, f.Tensors["empty.f32"].Shape)
	i64, err := f.Tensors["bn.num_batches_tracked"].Int64()
	require.NoError(t, err)
	assert.Equal(t, []int64{-1 << 40}, i64)
	i32, err := f.Tensors["labels"].Int32()
	require.NoError(t, err)
	assert.Equal(t, []int32{-1, 0, 7, math.MaxInt32}, i32)
	// Known F16/BF16 bit patterns: 0.1 → 0x2E66 (0.0999755859375) in F16,
	// 0x3DCD (0.10009765625) in BF16.
	h, _ := f.Tensors["enc.0.half"].Float32()
	b, _ := f.Tensors["enc.0.bf"].Float32()
	assert.Equal(t, float32(0.0999755859375), h[2])
	assert.Equal(t, float32(0.10009765625), b[2])
}

// TestEncodeKnownBytes pins the exact layout: compact JSON, metadata first
// with sorted keys, tensors by dtype alignment then name, space padding to 8.
func TestEncodeKnownBytes(t *testing.T) {
	f := &File{Metadata: map[string]string{"b": "2", "a": "<1>"}}
	require.NoError(t, f.AddFloat32("x", []int{1}, []float32{1}, F32))
	require.NoError(t, f.AddInt64("n", []int{}, []int64{3}))
	require.NoError(t, f.AddFloat32("h", []int{1}, []float32{1}, F16))
	header := `{"__metadata__":{"a":"<1>","b":"2"},` +
		`"n":{"dtype":"I64","shape":[],"data_offsets":[0,8]},` +
		`"x":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},` +
		`"h":{"dtype":"F16","shape":[1],"data_offsets":[12,14]}}`
	for len(header)%8 != 0 {
		header += " "
	}
	want := mk(header, []byte{3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x3f, 0x00, 0x3c})
	assert.Equal(t, string(want), string(encoded(t, f)))
}

// TestEncodeAlignment checks the writer's promise that every tensor starts at
// a multiple of its element size (header padded to 8, alignment-ordered).
func TestEncodeAlignment(t *testing.T) {
	raw := encoded(t, sampleFile(t))
	n := int(raw[0]) | int(raw[1])<<8 | int(raw[2])<<16
	require.Zero(t, n%8)
	var hdr map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw[8:8+n], &hdr))
	for name, v := range hdr {
		if name == metadataKey {
			continue
		}
		var info struct {
			DType   DType    `json:"dtype"`
			Offsets []uint64 `json:"data_offsets"`
		}
		require.NoError(t, json.Unmarshal(v, &info))
		assert.Zero(t, info.Offsets[0]%uint64(info.DType.Size()), "%s at %d", name, info.Offsets[0])
	}
}

func TestEncodeDeterministic(t *testing.T) {
	a, b := encoded(t, sampleFile(t)), encoded(t, sampleFile(t))
	assert.Equal(t, a, b)
}

func TestEmptyFile(t *testing.T) {
	raw := encoded(t, &File{})
	assert.Equal(t, mk("{}      ", nil), raw)
	f, err := Decode(bytes.NewReader(raw), Limits{})
	require.NoError(t, err)
	assert.Empty(t, f.Tensors)
	assert.NotNil(t, f.Tensors)
	assert.NotNil(t, f.Metadata)
}

func TestAddRejectsBadTensors(t *testing.T) {
	cases := []struct {
		name, tensor string
		add          func(f *File) error
		msg          string
	}{
		{"size mismatch", "w", func(f *File) error {
			return f.Add("w", Tensor{DType: F32, Shape: []int{2}, Data: make([]byte, 4)})
		}, "needs 8 bytes, data has 4"},
		{"unknown dtype", "w", func(f *File) error {
			return f.Add("w", Tensor{DType: "F8_E4M3", Shape: []int{1}, Data: make([]byte, 1)})
		}, `unknown dtype "F8_E4M3"`},
		{"negative dim", "w", func(f *File) error {
			return f.Add("w", Tensor{DType: F32, Shape: []int{-1}})
		}, "negative"},
		{"reserved name", "__metadata__", func(f *File) error {
			return f.AddFloat32("__metadata__", []int{1}, []float32{1}, F32)
		}, "reserved"},
		{"bad utf8 name", "\xff", func(f *File) error {
			return f.AddFloat32("\xff", []int{1}, []float32{1}, F32)
		}, "UTF-8"},
		{"float as int storage", "w", func(f *File) error {
			return f.AddFloat32("w", []int{1}, []float32{1}, I32)
		}, "F32, F16 or BF16"},
		{"values vs shape", "w", func(f *File) error {
			return f.AddFloat32("w", []int{3}, []float32{1, 2}, F32)
		}, "needs 12 bytes, data has 8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &File{}
			err := c.add(f)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.msg)
			assert.Empty(t, f.Tensors)
		})
	}
	f := &File{}
	require.NoError(t, f.AddInt32("x", []int{1}, []int32{1}))
	err := f.AddInt32("x", []int{1}, []int32{2})
	require.ErrorContains(t, err, `"x" added twice`)
}

func TestEncodeRejectsInconsistentFile(t *testing.T) {
	f := &File{Tensors: map[string]Tensor{"w": {DType: F32, Shape: []int{3}, Data: make([]byte, 8)}}}
	var b bytes.Buffer
	err := Encode(&b, f)
	require.ErrorIs(t, err, ErrFormat)
	assert.ErrorContains(t, err, `tensor "w"`)
	assert.Zero(t, b.Len(), "nothing written")
	err = EncodeZstd(&b, f)
	require.ErrorIs(t, err, ErrFormat)
	assert.Zero(t, b.Len(), "nothing written")
}

func TestAccessorsCheckDType(t *testing.T) {
	f := sampleFile(t)
	_, err := f.Tensors["labels"].Float32()
	assert.ErrorContains(t, err, "not I32")
	_, err = f.Tensors["enc.0.weight"].Int32()
	assert.ErrorContains(t, err, "not F32")
	_, err = f.Tensors["labels"].Int64()
	assert.ErrorContains(t, err, "not I32")
	_, err = Tensor{DType: F32, Shape: []int{2}, Data: make([]byte, 7)}.Float32()
	assert.ErrorContains(t, err, "needs 8 bytes, data has 7")
}

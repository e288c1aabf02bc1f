package safetensors

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// sampleFloats are values within F16's normal range (so the relative bound
// applies to F16 and BF16 alike), with both signs and awkward mantissas.
var sampleFloats = []float32{1, -2.5, 0.1, 1.0 / 3, 3.14159265, -0.000123, 1234.5678, 65504, -7e-5, 42}

// sampleFile builds a File with every supported dtype, a scalar, empty
// tensors and metadata needing JSON escapes.
func sampleFile(t testing.TB) *File {
	f := &File{Metadata: map[string]string{
		"ingot.family":  "vae",
		"ingot.config":  `{"latent":8,"hidden":[64,32],"act":"relu"}`,
		"ingot.version": "0.1.0",
		"vocab":         "<>&\"\\\n\t\u00e9\u20ac\U0001F600\x01",
	}}
	require.NoError(t, f.AddFloat32("enc.0.weight", []int{2, 5}, sampleFloats, F32))
	require.NoError(t, f.AddFloat32("enc.0.half", []int{10}, sampleFloats, F16))
	require.NoError(t, f.AddFloat32("enc.0.bf", []int{5, 2}, sampleFloats, BF16))
	require.NoError(t, f.AddFloat32("scalar", []int{}, []float32{-0.75}, F32))
	require.NoError(t, f.AddFloat32("empty.f32", []int{0, 4}, nil, F32))
	require.NoError(t, f.AddInt64("bn.num_batches_tracked", []int{}, []int64{-1 << 40}))
	require.NoError(t, f.AddInt64("empty.i64", []int{2, 0}, nil))
	require.NoError(t, f.AddInt32("labels", []int{2, 2}, []int32{-1, 0, 7, math.MaxInt32}))
	raw := func(name string, d DType, shape []int, data []byte) {
		require.NoError(t, f.Add(name, Tensor{DType: d, Shape: shape, Data: data}))
	}
	f64 := make([]byte, 16)
	binary.LittleEndian.PutUint64(f64, math.Float64bits(0.1))
	binary.LittleEndian.PutUint64(f64[8:], math.Float64bits(-2))
	raw("double", F64, []int{2}, f64)
	raw("mask", BOOL, []int{3}, []byte{1, 0, 1})
	raw("bytes.u8", U8, []int{3}, []byte{0, 128, 255})
	raw("bytes.i8", I8, []int{1}, []byte{0x80})
	raw("shorts.i16", I16, []int{1}, []byte{0xff, 0x7f})
	raw("shorts.u16", U16, []int{1}, []byte{0xff, 0xff})
	raw("ints.u32", U32, []int{1}, []byte{1, 2, 3, 4})
	raw("ints.u64", U64, []int{1}, []byte{1, 2, 3, 4, 5, 6, 7, 8})
	return f
}

// requireSameFile checks two Files hold the same metadata and tensors.
func requireSameFile(t testing.TB, want, got *File) {
	t.Helper()
	wm := want.Metadata
	if wm == nil {
		wm = map[string]string{}
	}
	require.Equal(t, wm, got.Metadata)
	require.Equal(t, want.Names(), got.Names())
	for _, n := range want.Names() {
		w, g := want.Tensors[n], got.Tensors[n]
		require.Equal(t, w.DType, g.DType, n)
		require.Equal(t, append([]int{}, w.Shape...), append([]int{}, g.Shape...), n)
		require.True(t, bytes.Equal(w.Data, g.Data), "tensor %s data differs", n)
	}
}

func encoded(t testing.TB, f *File) []byte {
	var b bytes.Buffer
	require.NoError(t, Encode(&b, f))
	return b.Bytes()
}

func encodedZstd(t testing.TB, f *File) []byte {
	var b bytes.Buffer
	require.NoError(t, EncodeZstd(&b, f))
	return b.Bytes()
}

// mk assembles a file from a header text and a buffer, with the true length.
func mk(header string, buf []byte) []byte {
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(out, header...), buf...)
}

package safetensors

import (
	"bytes"
	"os"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/require"
)

// fuzzLimits keep a fuzz iteration cheap; the caps themselves are tested elsewhere.
var fuzzLimits = Limits{MaxHeader: 1 << 16, MaxTotal: 1 << 20, MaxWindow: 1 << 20}

func fuzzSeeds(f *testing.F) [][]byte { return fuzzSeedsT(f) }

func fuzzSeedsT(f testing.TB) [][]byte {
	golden, err := os.ReadFile("testdata/golden.safetensors")
	require.NoError(f, err)
	small := &File{Metadata: map[string]string{"k": "v"}}
	require.NoError(f, small.AddFloat32("w", []int{2}, []float32{1, -2}, BF16))
	return [][]byte{
		golden,
		encoded(f, sampleFile(f)),
		encoded(f, small),
		encoded(f, &File{}),
		mk("{"+tA+","+tB+"}", buf12),
		mk("{"+tA+","+tA+"}", buf12[:8]),
		mk(`{"__metadata__":{"k":1}}`, nil),
		mk(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, buf12[:8]),
	}
}

// checkDecoded re-encodes a successfully decoded file and decodes it again:
// whatever the reader accepts, the writer must write and read back unchanged.
func checkDecoded(t *testing.T, got *File) {
	var b bytes.Buffer
	require.NoError(t, Encode(&b, got))
	again, err := Decode(&b, Limits{})
	require.NoError(t, err)
	requireSameFile(t, got, again)
}

func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := Decode(bytes.NewReader(data), fuzzLimits)
		if err != nil {
			return
		}
		n := 0
		for _, tn := range got.Tensors {
			n += len(tn.Data)
		}
		if !isZstd(data) {
			require.LessOrEqual(t, n, len(data), "more tensor bytes than input")
		}
		checkDecoded(t, got)
	})
}

func FuzzReadZstd(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(encodedZstdBytes(f, s))
		// Without a checksum, mutated content still decompresses, which
		// takes the fuzzer past the frame into the safetensors parser.
		var z bytes.Buffer
		zw, err := zstd.NewWriter(&z, zstd.WithEncoderCRC(false))
		require.NoError(f, err)
		zw.Write(s)
		require.NoError(f, zw.Close())
		f.Add(z.Bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := Decode(bytes.NewReader(data), fuzzLimits)
		if err != nil {
			return
		}
		checkDecoded(t, got)
	})
}

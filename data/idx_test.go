package data

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func idxBytes(t testing.TB, dims []int, data []byte) []byte {
	var b bytes.Buffer
	require.NoError(t, WriteIDX(&b, dims, data))
	return b.Bytes()
}

func gz(t testing.TB, b []byte) []byte {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	_, err := zw.Write(b)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return out.Bytes()
}

func TestIDXRoundTrip(t *testing.T) {
	data := []byte{0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255}
	raw := idxBytes(t, []int{2, 2, 3}, data)
	// The header, written out by hand: magic 0x00000803 then three
	// big-endian uint32 dimensions.
	require.Equal(t, []byte{0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3}, raw[:16])
	for _, tc := range []struct {
		name string
		in   []byte
	}{{"raw", raw}, {"gzip", gz(t, raw)}} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ReadIDX(bytes.NewReader(tc.in), tc.name)
			require.NoError(t, err)
			assert.Equal(t, []int{2, 2, 3}, m.Dims)
			assert.Equal(t, data, m.Data)
			// And from a file, where the raw size is checked against the header.
			p := filepath.Join(t.TempDir(), "x")
			require.NoError(t, os.WriteFile(p, tc.in, 0o644))
			m, err = ReadIDXFile(p)
			require.NoError(t, err)
			assert.Equal(t, data, m.Data)
		})
	}
}

// badCRC flips a bit of a gzip stream's CRC-32 trailer.
func badCRC(b []byte) []byte {
	b = append([]byte{}, b...)
	b[len(b)-8] ^= 1
	return b
}

func TestIDXErrors(t *testing.T) {
	good := idxBytes(t, []int{3, 2}, []byte{1, 2, 3, 4, 5, 6})
	huge := []byte{0, 0, 8, 3, 0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1}
	for _, tc := range []struct {
		name string
		in   []byte
		want string // part of the message
	}{
		{"empty", nil, "empty file"},
		{"short magic", []byte{0, 0}, "truncated"},
		{"bad magic", []byte{0x50, 0x4b, 3, 4, 0, 0, 0, 0}, "bad magic number 0x504B0304"},
		{"float32 type", []byte{0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0}, "element type 0x0D (float32) is not supported"},
		{"unknown type", []byte{0, 0, 0x42, 1, 0, 0, 0, 1, 7}, "element type 0x42 (unknown)"},
		{"zero dims", []byte{0, 0, 8, 0}, "0 dimensions"},
		{"truncated header", []byte{0, 0, 8, 3, 0, 0, 0, 2, 0, 0}, "truncated header: 3 dimensions need 12 bytes, 6 present"},
		{"truncated data", good[:len(good)-2], "declare 6 data bytes"},
		{"trailing data", append(append([]byte{}, good...), 9), "unexpected bytes after the 6 data bytes"},
		{"over the cap", huge, "limit"},
		{"gzip truncated data", gz(t, good[:len(good)-2]), "truncated: dimensions 3×2 declare 6 data bytes, only 4 present"},
		{"gzip trailing data", gz(t, append(append([]byte{}, good...), 9, 9)), "unexpected bytes after"},
		{"gzip cut short", gz(t, good)[:20], "IDX file"},
		{"bad gzip header", []byte{0x1f, 0x8b, 0, 0}, "bad gzip header"},
		{"gzip bad checksum", badCRC(gz(t, good)), "invalid checksum"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadIDX(bytes.NewReader(tc.in), "case.idx")
			require.Error(t, err)
			assert.Contains(t, err.Error(), "case.idx")
			assert.Contains(t, err.Error(), tc.want)
			// Files give the same answers, with the declared size checked
			// against the file size before reading.
			p := filepath.Join(t.TempDir(), "case.idx")
			require.NoError(t, os.WriteFile(p, tc.in, 0o644))
			_, err = ReadIDXFile(p)
			require.Error(t, err)
			assert.Contains(t, err.Error(), p)
		})
	}
}

func TestIDXFileSizeMessages(t *testing.T) {
	good := idxBytes(t, []int{60, 28, 28}, make([]byte, 60*28*28))
	p := filepath.Join(t.TempDir(), "train-images-idx3-ubyte")
	require.NoError(t, os.WriteFile(p, good[:1000], 0o644))
	_, err := ReadIDXFile(p)
	require.Error(t, err)
	var ie *IDXError
	require.True(t, errors.As(err, &ie))
	assert.Equal(t, p, ie.Name)
	assert.Equal(t, "truncated: dimensions 60×28×28 declare 47040 data bytes, the file holds 984", ie.Msg)

	_, err = ReadIDXFile(filepath.Join(t.TempDir(), "missing"))
	require.Error(t, err)
	assert.ErrorIs(t, err, os.ErrNotExist)
}

// A header may declare up to MaxIDXBytes; a stream that then ends early
// must fail without the reader having allocated anything near that size.
func TestIDXNoPreallocationFromHeader(t *testing.T) {
	// 1000×1000×1000 = 1e9 bytes declared (under the 1 GiB cap), 10 present.
	in := gz(t, append([]byte{0, 0, 8, 3, 0, 0, 0x03, 0xe8, 0, 0, 0x03, 0xe8, 0, 0, 0x03, 0xe8}, make([]byte, 10)...))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := ReadIDX(bytes.NewReader(in), "liar.gz")
	runtime.ReadMemStats(&after)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "declare 1000000000 data bytes, only 10 present")
	// Bound: the initial 1 MiB chunk plus gzip and bufio state (well under
	// 8 MiB), versus the 1 GB a preallocating reader would take.
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(8<<20))
}

func TestWriteIDXErrors(t *testing.T) {
	var b bytes.Buffer
	assert.ErrorContains(t, WriteIDX(&b, nil, nil), "0 dimensions")
	assert.ErrorContains(t, WriteIDX(&b, []int{2, 2}, []byte{1, 2, 3}), "need 4 bytes, got 3")
	assert.ErrorContains(t, WriteIDX(&b, []int{-1}, nil), "out of range")
}

// FuzzReadIDX: any input either decodes to an array that re-encodes to the
// same bytes (for raw input) or gives an IDXError; it never panics.
func FuzzReadIDX(f *testing.F) {
	good := idxBytes(f, []int{2, 2, 3}, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})
	f.Add(good)
	f.Add(gz(f, good))
	f.Add(idxBytes(f, []int{4}, []byte{9, 0, 0, 3}))
	f.Add([]byte{0, 0, 8, 1, 0, 0, 0, 0})
	f.Add([]byte{0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0})
	f.Add(good[:7])
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := ReadIDX(bytes.NewReader(in), "fuzz")
		if err != nil {
			var ie *IDXError
			require.True(t, errors.As(err, &ie), "error %v is not an IDXError", err)
			return
		}
		n := 1
		for _, d := range m.Dims {
			n *= d
		}
		require.Len(t, m.Data, n)
		if len(in) >= 2 && in[0] == 0x1f && in[1] == 0x8b {
			return
		}
		require.Equal(t, in, idxBytes(t, m.Dims, m.Data))
	})
}

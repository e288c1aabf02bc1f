package safetensors

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	tA = `"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}`
	tB = `"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}`
)

var buf12 = make([]byte, 12)

// TestDecodeRejects feeds malformed files to Decode and ReadFile and checks
// each is refused with an error of the right kind naming the problem.
func TestDecodeRejects(t *testing.T) {
	valid := mk("{"+tA+","+tB+"}", buf12)
	lenPrefix := func(n uint64, rest []byte) []byte {
		return append(binary.LittleEndian.AppendUint64(nil, n), rest...)
	}
	cases := []struct {
		name   string
		in     []byte
		kind   error
		msg    string
		limits Limits
	}{
		{"empty input", nil, ErrFormat, "truncated while reading the 8-byte header length", Limits{}},
		{"cut in length", valid[:5], ErrFormat, "truncated while reading the 8-byte header length", Limits{}},
		{"cut in header", valid[:30], ErrFormat, "truncated while reading the|is larger than the 22 bytes that follow it", Limits{}},
		{"cut in buffer", valid[:len(valid)-3], ErrFormat, `tensor "b" [8,12) is incomplete`, Limits{}},
		{"header length beyond file", lenPrefix(1000, []byte("{}")), ErrFormat, "header", Limits{}},
		{"header over cap", lenPrefix(1<<40, nil), ErrTooLarge, "header length 1099511627776 exceeds the limit", Limits{}},
		{"header over custom cap", valid, ErrTooLarge, "exceeds the limit of 16 bytes", Limits{MaxHeader: 16}},
		{"total over cap", valid, ErrTooLarge, "exceeds the limit of 64 bytes", Limits{MaxTotal: 64}},
		{"trailing garbage", append(append([]byte{}, valid...), "junk"...), ErrFormat, "trailing bytes", Limits{}},
		{"not an object", mk(`[1]`, nil), ErrFormat, "does not start with '{'", Limits{}},
		{"leading space", mk(` {}`, nil), ErrFormat, "does not start with '{'", Limits{}},
		{"zero-length header", mk(``, nil), ErrFormat, "does not start with '{'", Limits{}},
		{"invalid utf8", mk("{\"\xff\":1}", nil), ErrFormat, "not valid UTF-8", Limits{}},
		{"syntax error", mk(`{"a":{"dtype":"F32",}}`, nil), ErrFormat, "header JSON", Limits{}},
		{"unterminated", mk(`{"a":{"dtype":"F32"`, nil), ErrFormat, "header JSON ends early", Limits{}},
		{"junk after JSON", mk(`{}   x  `, nil), ErrFormat, `byte 'x' after its JSON object`, Limits{}},
		{"second object", mk(`{}{}`, nil), ErrFormat, `after its JSON object`, Limits{}},
		{"NUL padding", mk("{}\x00\x00", nil), ErrFormat, `after its JSON object`, Limits{}},
		{"duplicate tensor", mk("{"+tA+","+tA+"}", buf12[:8]), ErrFormat, `key "a" twice`, Limits{}},
		{"duplicate metadata block", mk(`{"__metadata__":{},"__metadata__":{}}`, nil), ErrFormat, `key "__metadata__" twice`, Limits{}},
		{"duplicate metadata key", mk(`{"__metadata__":{"k":"1","k":"2"}}`, nil), ErrFormat, `__metadata__ has key "k" twice`, Limits{}},
		{"duplicate field", mk(`{"a":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, buf12[:8]), ErrFormat, `tensor "a" has field "dtype" twice`, Limits{}},
		{"metadata number", mk(`{"__metadata__":{"k":1}}`, nil), ErrFormat, `"k": value must be a string, found number 1`, Limits{}},
		{"metadata object", mk(`{"__metadata__":{"k":{"x":"y"}}}`, nil), ErrFormat, `"k": value must be a string`, Limits{}},
		{"metadata null value", mk(`{"__metadata__":{"k":null}}`, nil), ErrFormat, `"k": value must be a string, found null`, Limits{}},
		{"metadata array", mk(`{"__metadata__":["k"]}`, nil), ErrFormat, `must be an object of strings`, Limits{}},
		{"unknown dtype", mk(`{"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}`, buf12[:1]), ErrFormat, `tensor "a": unknown or unsupported dtype "F8_E4M3"`, Limits{}},
		{"dtype not string", mk(`{"a":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}`, buf12[:4]), ErrFormat, `tensor "a" dtype: expected a string`, Limits{}},
		{"unknown field", mk(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}}`, buf12[:4]), ErrFormat, `tensor "a" has unknown field "x"`, Limits{}},
		{"missing shape", mk(`{"a":{"dtype":"F32","data_offsets":[0,4]}}`, buf12[:4]), ErrFormat, `tensor "a" has no shape`, Limits{}},
		{"missing dtype", mk(`{"a":{"shape":[1],"data_offsets":[0,4]}}`, buf12[:4]), ErrFormat, `tensor "a" has no dtype`, Limits{}},
		{"missing offsets", mk(`{"a":{"dtype":"F32","shape":[1]}}`, buf12[:4]), ErrFormat, `tensor "a" has no data_offsets`, Limits{}},
		{"tensor not object", mk(`{"a":[1]}`, nil), ErrFormat, `tensor "a": expected "{"`, Limits{}},
		{"negative dim", mk(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, buf12[:4]), ErrFormat, `-1 is not a non-negative`, Limits{}},
		{"float dim", mk(`{"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}`, buf12[:4]), ErrFormat, `1.0 is not a non-negative`, Limits{}},
		{"exponent dim", mk(`{"a":{"dtype":"F32","shape":[1e0],"data_offsets":[0,4]}}`, buf12[:4]), ErrFormat, `1e0 is not a non-negative`, Limits{}},
		{"string dim", mk(`{"a":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}}`, buf12[:4]), ErrFormat, `expected a non-negative integer, found string`, Limits{}},
		{"huge dim", mk(`{"a":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,4]}}`, buf12[:4]), ErrFormat, `is not a non-negative 64-bit integer`, Limits{}},
		{"shape overflows", mk(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}`, buf12[:4]), ErrFormat, `tensor "a"`, Limits{}},
		{"size disagrees", mk(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, buf12[:8]), ErrFormat, `tensor "a": F32 shape [3] needs 12 bytes but data_offsets [0,8] hold 8`, Limits{}},
		{"three offsets", mk(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}`, buf12[:8]), ErrFormat, `exactly two offsets`, Limits{}},
		{"one offset", mk(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4]}}`, buf12[:4]), ErrFormat, `data_offsets end: expected a non-negative integer, found "]"`, Limits{}},
		{"end before begin", mk(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}`, buf12[:8]), ErrFormat, `tensor "a": data_offsets [8,4] end before they begin`, Limits{}},
		{"not from zero", mk(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, buf12[:8]), ErrFormat, `tensor "a": data_offsets [4,8] leave a gap after byte 0`, Limits{}},
		{"gap", mk(`{`+tA+`,"b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}}`, make([]byte, 16)), ErrFormat, `tensor "b": data_offsets [12,16] leave a gap after byte 8`, Limits{}},
		{"overlap", mk(`{`+tA+`,"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, buf12[:8]), ErrFormat, `tensor "b": data_offsets [4,8] overlap tensor "a" ending at 8`, Limits{}},
		{"same range twice", mk(`{`+tA+`,"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, buf12[:8]), ErrFormat, `tensor "b": data_offsets [0,8] overlap tensor "a"`, Limits{}},
		{"offsets past buffer", mk(`{`+tA+`,"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, buf12[:8]), ErrFormat, `tensor "b" [8,12) is incomplete`, Limits{}},
		{"buffer not covered", mk(`{`+tA+`}`, buf12), ErrFormat, `4 trailing bytes|trailing bytes`, Limits{}},
		{"huge offsets", mk(`{"a":{"dtype":"U8","shape":[18446744073709551615],"data_offsets":[0,18446744073709551615]}}`, nil), ErrFormat, `too large`, Limits{}},
	}
	dir := t.TempDir()
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			check := func(err error) {
				t.Helper()
				require.Error(t, err)
				require.ErrorIs(t, err, c.kind)
				msgs := strings.Split(c.msg, "|")
				assert.Condition(t, func() bool {
					for _, m := range msgs {
						if strings.Contains(err.Error(), m) {
							return true
						}
					}
					return false
				}, "error %q should mention %q", err, c.msg)
			}
			_, err := Decode(bytes.NewReader(c.in), c.limits)
			check(err)
			// ReadFile knows the size and checks before reading; same verdict,
			// and the path is named.
			p := filepath.Join(dir, "bad"+string(rune('a'+i%26))+".safetensors")
			require.NoError(t, os.WriteFile(p, c.in, 0o644))
			_, err = ReadFileLimits(p, c.limits)
			check(err)
			assert.ErrorContains(t, err, p)
			// The zstd path reads through a stream; same verdict.
			var z bytes.Buffer
			zw, _ := zstd.NewWriter(&z)
			zw.Write(c.in)
			zw.Close()
			_, err = Decode(&z, c.limits)
			check(err)
		})
	}
}

// TestDecodeAccepts covers legal variations another writer may produce.
func TestDecodeAccepts(t *testing.T) {
	cases := []struct {
		name, header string
		buf          []byte
		tensors      []string
	}{
		{"tensors listed out of offset order", "{" + tB + "," + tA + "}", buf12, []string{"a", "b"}},
		{"whitespace everywhere", "{ \"a\" :\n{\t\"shape\": [ 2 ] , \"data_offsets\" : [0 ,8], \"dtype\":\"F32\"}\r\n}  \n ", buf12[:8], []string{"a"}},
		{"metadata null", `{"__metadata__":null}`, nil, []string{}},
		{"escaped names", `{"\u0061\ud83d\ude00":{"dtype":"U8","shape":[],"data_offsets":[0,1]}}`, []byte{7}, []string{"a\U0001F600"}},
		{"empty tensors share an offset", `{"e":{"dtype":"F32","shape":[0],"data_offsets":[8,8]},"d":{"dtype":"I64","shape":[3,0],"data_offsets":[8,8]},` + tA + `}`, buf12[:8], []string{"a", "d", "e"}},
		{"empty name", `{"":{"dtype":"BOOL","shape":[1],"data_offsets":[0,1]}}`, []byte{1}, []string{""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := Decode(bytes.NewReader(mk(c.header, c.buf)), Limits{})
			require.NoError(t, err)
			assert.Equal(t, c.tensors, f.Names())
		})
	}
}

// TestLyingHeaderDoesNotAllocate: a header claiming a ~1 TB tensor with no
// bytes behind it must fail as truncated without allocating the claimed size
// (it would panic or be killed otherwise), through a stream and through zstd.
func TestLyingHeaderDoesNotAllocate(t *testing.T) {
	in := mk(`{"a":{"dtype":"U8","shape":[1099511627776],"data_offsets":[0,1099511627776]}}`, []byte{1, 2, 3})
	lim := Limits{MaxTotal: 1 << 50}
	_, err := Decode(io.MultiReader(bytes.NewReader(in)), lim)
	require.ErrorIs(t, err, ErrFormat)
	assert.ErrorContains(t, err, `truncated: byte buffer has 3 of 1099511627776 bytes; tensor "a"`)
	_, err = Decode(bytes.NewReader(encodedZstdBytes(t, in)), lim)
	require.ErrorIs(t, err, ErrFormat)
	assert.ErrorContains(t, err, `truncated`)
}

func encodedZstdBytes(t testing.TB, in []byte) []byte {
	var z bytes.Buffer
	zw, err := zstd.NewWriter(&z)
	require.NoError(t, err)
	_, err = zw.Write(in)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return z.Bytes()
}

func TestZstdCorruption(t *testing.T) {
	f := sampleFile(t)
	plain := encoded(t, f)
	z := encodedZstd(t, f)
	flip := func(b []byte, i int) []byte {
		c := append([]byte{}, b...)
		c[i] ^= 0x5a
		return c
	}
	// A bomb: a few KB of zstd that decodes to 16 MiB, with a valid header
	// claiming all of it.
	big := make([]byte, 16<<20)
	bombFile := &File{}
	require.NoError(t, bombFile.Add("zeros", Tensor{DType: U8, Shape: []int{len(big)}, Data: big}))
	bomb := encodedZstd(t, bombFile)
	require.Less(t, len(bomb), 16<<10, "zeros compress well")

	cases := []struct {
		name   string
		in     []byte
		kind   error
		msg    string
		limits Limits
	}{
		{"flipped byte in the middle", flip(z, len(z)/2), ErrFormat, "zstd", Limits{}},
		{"flipped checksum", flip(z, len(z)-1), ErrFormat, "corrupt zstd stream", Limits{}},
		{"truncated stream", z[:len(z)-10], ErrFormat, "", Limits{}},
		{"only the magic", z[:4], ErrFormat, "", Limits{}},
		{"garbage after the frame", append(append([]byte{}, z...), 1, 2, 3, 4, 5, 6, 7, 8), ErrFormat, "", Limits{}},
		{"second frame appended", append(append([]byte{}, z...), z...), ErrFormat, "trailing bytes", Limits{}},
		{"bomb over the cap", bomb, ErrTooLarge, "exceeds the limit of 1048576 bytes", Limits{MaxTotal: 1 << 20}},
		{"window over the cap", z, ErrTooLarge, "window over Limits.MaxWindow", Limits{MaxWindow: 1 << 10}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(bytes.NewReader(c.in), c.limits)
			require.Error(t, err)
			require.ErrorIs(t, err, c.kind)
			assert.Contains(t, err.Error(), c.msg)
		})
	}
	// Sanity: the unmodified inputs decode.
	got, err := Decode(bytes.NewReader(z), Limits{})
	require.NoError(t, err)
	requireSameFile(t, f, got)
	_, err = Decode(bytes.NewReader(bomb), Limits{})
	require.NoError(t, err)
	_ = plain
}

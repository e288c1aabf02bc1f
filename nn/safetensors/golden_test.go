package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGolden loads testdata/golden.safetensors, written by the independent
// Python writer testdata/make_golden.py, and checks every value it wrote.
func TestGolden(t *testing.T) {
	f, err := ReadFile("testdata/golden.safetensors")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{
		"format":       "pt",
		"ingot.config": `{"hidden": 16, "layers": [1, 2]}`,
		"vocab":        "a\u00e9\u20ac\U0001F600",
	}, f.Metadata)
	assert.Equal(t, []string{"bf.values", "bytes", "dense.weight", "double", "empty", "half.values", "labels", "mask", "steps"}, f.Names())

	floats := func(name string, shape []int, want []float32) {
		t.Helper()
		tn := f.Tensors[name]
		assert.Equal(t, shape, tn.Shape, name)
		got, err := tn.Float32()
		require.NoError(t, err, name)
		assert.Equal(t, want, got, name)
	}
	// struct.pack('<f') and Go's float32 conversion both round to nearest even.
	floats("dense.weight", []int{2, 3}, []float32{0.5, -1.25, 3.0, 1e-3, -65504.0, float32(1.0 / 3)})
	// 0.1 packed as binary16 by Python is 0x2E66 = 0.0999755859375.
	floats("half.values", []int{4}, []float32{1.0, -2.5, 0.0999755859375, 65504})
	floats("bf.values", []int{3}, []float32{1.0, -0.15625, 3.140625})
	floats("empty", []int{0, 3}, []float32{})

	i64, err := f.Tensors["steps"].Int64()
	require.NoError(t, err)
	assert.Equal(t, []int64{1234567890123}, i64)
	assert.Equal(t, []int{}, f.Tensors["steps"].Shape)
	i32, err := f.Tensors["labels"].Int32()
	require.NoError(t, err)
	assert.Equal(t, []int32{-1, 0, 7, 2147483647}, i32)
	assert.Equal(t, Tensor{DType: BOOL, Shape: []int{3}, Data: []byte{1, 0, 1}}, f.Tensors["mask"])
	assert.Equal(t, Tensor{DType: U8, Shape: []int{4}, Data: []byte{0, 1, 128, 255}}, f.Tensors["bytes"])
	d := f.Tensors["double"]
	require.Len(t, d.Data, 16)
	assert.Equal(t, 0.1, math.Float64frombits(binary.LittleEndian.Uint64(d.Data)))
	assert.Equal(t, -2.0, math.Float64frombits(binary.LittleEndian.Uint64(d.Data[8:])))

	// Our writer re-encodes it into a file that reads back the same.
	again, err := Decode(bytes.NewReader(encoded(t, f)), Limits{})
	require.NoError(t, err)
	requireSameFile(t, f, again)
}

func python(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/python3"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found; install it (Debian: apt-get install python3) to run this check")
	}
	return p
}

// TestGoldenScriptReproduces reruns the committed script and checks it still
// produces the committed golden file byte for byte.
func TestGoldenScriptReproduces(t *testing.T) {
	py := python(t)
	script, err := filepath.Abs("testdata/make_golden.py")
	require.NoError(t, err)
	dir := t.TempDir()
	cmd := exec.Command(py, script)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	made, err := os.ReadFile(filepath.Join(dir, "golden.safetensors"))
	require.NoError(t, err)
	committed, err := os.ReadFile("testdata/golden.safetensors")
	require.NoError(t, err)
	assert.Equal(t, committed, made)
}

type pyOutput struct {
	Metadata map[string]string `json:"metadata"`
	Tensors  map[string]struct {
		DType  DType             `json:"dtype"`
		Shape  []int             `json:"shape"`
		Values []json.RawMessage `json:"values"`
	} `json:"tensors"`
}

// checkWithPython runs testdata/read_check.py --aligned on a plain file and
// compares what it decoded with what the Go package decodes.
func checkWithPython(t *testing.T, py, plain string, want *File) {
	t.Helper()
	cmd := exec.Command(py, "testdata/read_check.py", "--aligned", plain)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "python reader: %s", stderr.String())
	var got pyOutput
	require.NoError(t, json.Unmarshal(out, &got))
	assert.Equal(t, want.Metadata, got.Metadata)
	require.Len(t, got.Tensors, len(want.Tensors))
	for name, w := range want.Tensors {
		g, ok := got.Tensors[name]
		require.True(t, ok, "python reader lacks %q", name)
		assert.Equal(t, w.DType, g.DType, name)
		assert.Equal(t, append([]int{}, w.Shape...), append([]int{}, g.Shape...), name)
		require.Len(t, g.Values, w.NumElements(), name)
		switch w.DType {
		case F32, F16, BF16:
			vals, err := w.Float32()
			require.NoError(t, err)
			for i, raw := range g.Values {
				var s string
				require.NoError(t, json.Unmarshal(raw, &s))
				x, err := strconv.ParseFloat(s, 64)
				require.NoError(t, err, s)
				assert.Equal(t, float64(vals[i]), x, "%s[%d]", name, i)
			}
		case I32, I64:
			var vals []int64
			if w.DType == I32 {
				v32, err := w.Int32()
				require.NoError(t, err)
				for _, v := range v32 {
					vals = append(vals, int64(v))
				}
			} else {
				vals, err = w.Int64()
				require.NoError(t, err)
			}
			for i, raw := range g.Values {
				assert.Equal(t, strconv.FormatInt(vals[i], 10), string(raw), "%s[%d]", name, i)
			}
		}
	}
}

// TestPythonReadsOurFiles: the independent Python reader accepts what we
// write, and `zstd -d` of a .safetensors.zst gives exactly the plain bytes.
func TestPythonReadsOurFiles(t *testing.T) {
	py := python(t)
	dir := t.TempDir()
	f := sampleFile(t)
	plain := filepath.Join(dir, "m.safetensors")
	require.NoError(t, WriteFile(plain, f))
	checkWithPython(t, py, plain, f)

	zstdCLI, err := exec.LookPath("zstd")
	if err != nil {
		t.Skip("zstd CLI not found; install it (Debian: apt-get install zstd) to check .safetensors.zst with it")
	}
	zpath := filepath.Join(dir, "m.safetensors.zst")
	require.NoError(t, WriteFile(zpath, f))
	unz := filepath.Join(dir, "unzstd.safetensors")
	out, err := exec.Command(zstdCLI, "-d", "-q", "-f", "-o", unz, zpath).CombinedOutput()
	require.NoError(t, err, "zstd -d: %s", out)
	got, err := os.ReadFile(unz)
	require.NoError(t, err)
	assert.Equal(t, encoded(t, f), got, "zstd -d output equals the plain encoding")
	checkWithPython(t, py, unz, f)

	// And the other way round: a file compressed by the zstd CLI (single
	// frame with content size) loads.
	cz := filepath.Join(dir, "cli.safetensors.zst")
	out, err = exec.Command(zstdCLI, "-q", "-19", "-f", "-o", cz, plain).CombinedOutput()
	require.NoError(t, err, "zstd: %s", out)
	back, err := ReadFile(cz)
	require.NoError(t, err)
	requireSameFile(t, f, back)
}

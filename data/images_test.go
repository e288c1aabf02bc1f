package data

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sumPixels(p []uint8) int64 {
	var s int64
	for _, v := range p {
		s += int64(v)
	}
	return s
}

// Reference values computed independently with numpy from Debian's full
// Fashion-MNIST (gzip.open + np.frombuffer, offsets 16 and 8, the subset
// chosen as "first 600 / 100 of each class in file order").
func TestEmbeddedKnownValues(t *testing.T) {
	for _, tc := range []struct {
		split                Split
		n                    int
		total                int64
		first10              []int32
		lastSum, lastLabel   int64
		row14                []uint8 // row 14 of image 0
		firstSum             int64
		probeIdx, probeR     int
		probeC               int
		probeVal             uint8
		probeLabel, probeSum int64
	}{
		{split: Train, n: 6000, total: 344160204,
			first10: []int32{9, 0, 0, 3, 0, 2, 7, 2, 5, 5}, lastSum: 89530, lastLabel: 0,
			row14:    []uint8{0, 0, 1, 4, 6, 7, 2, 0, 0, 0, 0, 0, 237, 226, 217, 223, 222, 219, 222, 221, 216, 223, 229, 215, 218, 255, 77, 0},
			firstSum: 76247, probeIdx: 123, probeR: 10, probeC: 12, probeVal: 117, probeLabel: 2, probeSum: 42314},
		{split: Test, n: 1000, total: 56973981,
			first10: []int32{9, 2, 1, 1, 6, 1, 4, 6, 5, 7}, lastSum: 22553, lastLabel: 5,
			row14:    []uint8{0, 0, 0, 0, 0, 0, 2, 4, 1, 0, 0, 0, 98, 136, 110, 109, 110, 162, 135, 144, 149, 159, 167, 144, 158, 169, 119, 0},
			firstSum: 33456, probeIdx: -1},
	} {
		t.Run(tc.split.String(), func(t *testing.T) {
			m, err := Default(tc.split)
			require.NoError(t, err)
			require.NoError(t, m.Validate())
			assert.Equal(t, tc.n, m.N)
			assert.Equal(t, 28, m.Rows)
			assert.Equal(t, 28, m.Cols)
			assert.Equal(t, tc.total, sumPixels(m.Pixels))
			assert.Equal(t, tc.first10, m.Labels[:10])
			assert.Equal(t, tc.row14, m.Image(0)[14*28:15*28])
			assert.Equal(t, tc.firstSum, sumPixels(m.Image(0)))
			assert.Equal(t, tc.lastSum, sumPixels(m.Image(m.N-1)))
			assert.Equal(t, tc.lastLabel, int64(m.Labels[m.N-1]))
			if tc.probeIdx >= 0 {
				assert.Equal(t, tc.probeVal, m.Image(tc.probeIdx)[tc.probeR*28+tc.probeC])
				assert.Equal(t, tc.probeLabel, int64(m.Labels[tc.probeIdx]))
				assert.Equal(t, tc.probeSum, sumPixels(m.Image(tc.probeIdx)))
			}
			// Class-balanced.
			count := make([]int, 10)
			for _, l := range m.Labels {
				count[l]++
			}
			for c, k := range count {
				assert.Equal(t, tc.n/10, k, "class %d (%s)", c, FashionMNISTClasses[c])
			}
		})
	}
}

// The shipped subset equals, pixel for pixel, the images it was taken from
// in the full set that Debian's dataset-fashion-mnist installs.
func TestEmbeddedMatchesFullSet(t *testing.T) {
	if _, err := os.Stat(SystemFashionMNISTDir); err != nil {
		t.Skip("full Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")
	}
	for _, tc := range []struct {
		split    Split
		perClass int
		fullN    int
		lastIdx  int // index in the full set of the subset's last image (numpy)
	}{{Train, 600, 60000, 6410}, {Test, 100, 10000, 1092}} {
		t.Run(tc.split.String(), func(t *testing.T) {
			full, err := LoadMNISTDir(SystemFashionMNISTDir, tc.split)
			require.NoError(t, err)
			require.Equal(t, tc.fullN, full.N)
			want, idx, err := BalancedSubset(full, tc.perClass)
			require.NoError(t, err)
			assert.Equal(t, tc.lastIdx, idx[len(idx)-1])
			got, err := Default(tc.split)
			require.NoError(t, err)
			require.Equal(t, want.N, got.N)
			assert.Equal(t, want.Labels, got.Labels)
			assert.True(t, equalBytes(want.Pixels, got.Pixels), "pixels differ")
		})
	}
}

func equalBytes(a, b []uint8) bool { return string(a) == string(b) }

func writeMNIST(t *testing.T, dir string, split Split, n int, suffix string, dotted bool) {
	t.Helper()
	px := make([]byte, n*2*3)
	for i := range px {
		px[i] = byte(i)
	}
	lb := make([]byte, n)
	for i := range lb {
		lb[i] = byte(i % 3)
	}
	p := split.prefix()
	imgName, lblName := p+"-images-idx3-ubyte", p+"-labels-idx1-ubyte"
	if dotted {
		imgName, lblName = p+"-images.idx3-ubyte", p+"-labels.idx1-ubyte"
	}
	enc := func(b []byte) []byte { return b }
	if suffix == ".gz" {
		enc = func(b []byte) []byte { return gz(t, b) }
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, imgName+suffix), enc(idxBytes(t, []int{n, 2, 3}, px)), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, lblName+suffix), enc(idxBytes(t, []int{n}, lb)), 0o644))
}

func TestLoadMNISTDir(t *testing.T) {
	for _, tc := range []struct {
		name   string
		suffix string
		dotted bool
	}{{"raw", "", false}, {"gzip", ".gz", false}, {"dotted raw", "", true}, {"dotted gzip", ".gz", true}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeMNIST(t, dir, Train, 5, tc.suffix, tc.dotted)
			writeMNIST(t, dir, Test, 2, tc.suffix, tc.dotted)
			m, err := LoadMNISTDir(dir, Train)
			require.NoError(t, err)
			assert.Equal(t, 5, m.N)
			assert.Equal(t, []int32{0, 1, 2, 0, 1}, m.Labels)
			assert.Equal(t, []uint8{6, 7, 8, 9, 10, 11}, m.Image(1))
			assert.Equal(t, 3, m.NumClasses())
			m, err = LoadMNISTDir(dir, Test)
			require.NoError(t, err)
			assert.Equal(t, 2, m.N)
			ds, err := Find(dir)
			require.NoError(t, err)
			assert.Equal(t, "using MNIST-format data from "+dir+" (5 train / 2 test)", ds.Describe())
		})
	}
}

func TestLoadMNISTDirErrors(t *testing.T) {
	t.Run("missing dir", func(t *testing.T) {
		_, err := LoadMNISTDir(filepath.Join(t.TempDir(), "nope"), Train)
		assert.ErrorContains(t, err, "data directory")
	})
	t.Run("missing labels", func(t *testing.T) {
		dir := t.TempDir()
		writeMNIST(t, dir, Train, 3, "", false)
		require.NoError(t, os.Remove(filepath.Join(dir, "train-labels-idx1-ubyte")))
		_, err := LoadMNISTDir(dir, Train)
		assert.ErrorContains(t, err, "has no train labels file (looked for train-labels-idx1-ubyte.gz or train-labels-idx1-ubyte)")
	})
	t.Run("count mismatch", func(t *testing.T) {
		dir := t.TempDir()
		writeMNIST(t, dir, Train, 3, "", false)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "train-labels-idx1-ubyte"), idxBytes(t, []int{2}, []byte{1, 2}), 0o644))
		_, err := LoadMNISTDir(dir, Train)
		assert.ErrorContains(t, err, "holds 3 images but")
		assert.ErrorContains(t, err, "holds 2 labels")
	})
	t.Run("labels file given as images", func(t *testing.T) {
		dir := t.TempDir()
		writeMNIST(t, dir, Train, 3, "", false)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "train-images-idx3-ubyte"), idxBytes(t, []int{3}, []byte{1, 2, 3}), 0o644))
		_, err := LoadMNISTDir(dir, Train)
		assert.ErrorContains(t, err, "images need 3 dimensions (count, rows, cols), the header declares 1 (3)")
	})
	t.Run("truncated gzip", func(t *testing.T) {
		dir := t.TempDir()
		writeMNIST(t, dir, Train, 3, ".gz", false)
		p := filepath.Join(dir, "train-images-idx3-ubyte.gz")
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(p, b[:len(b)-10], 0o644))
		_, err = LoadMNISTDir(dir, Train)
		assert.ErrorContains(t, err, p)
	})
}

func TestResolveOrder(t *testing.T) {
	old := systemDir
	defer func() { systemDir = old }()

	user := t.TempDir()
	writeMNIST(t, user, Train, 4, "", false)
	writeMNIST(t, user, Test, 2, "", false)
	sys := t.TempDir()
	writeMNIST(t, sys, Train, 3, ".gz", false)
	writeMNIST(t, sys, Test, 1, ".gz", false)

	systemDir = sys
	src, err := Resolve(user)
	require.NoError(t, err)
	assert.Equal(t, Source{Kind: SourceDir, Dir: user}, src)

	src, err = Resolve("")
	require.NoError(t, err)
	assert.Equal(t, Source{Kind: SourceSystem, Dir: sys}, src)
	ds, err := Find("")
	require.NoError(t, err)
	assert.Equal(t, "using Fashion-MNIST from "+sys+" (3 train / 1 test)", ds.Describe())

	systemDir = filepath.Join(sys, "absent")
	src, err = Resolve("")
	require.NoError(t, err)
	assert.Equal(t, Source{Kind: SourceEmbedded}, src)
	ds, err = Find("")
	require.NoError(t, err)
	assert.Equal(t, "using embedded Fashion-MNIST subset (6000 train / 1000 test)", ds.Describe())

	// An explicit directory that is not a data set is an error, not a
	// silent fallback.
	_, err = Resolve(t.TempDir())
	assert.ErrorContains(t, err, "has no train images file")
	_, err = Resolve(filepath.Join(user, "nope"))
	assert.ErrorContains(t, err, "data directory")
}

func TestBalancedSubset(t *testing.T) {
	m := &Images{N: 6, Rows: 1, Cols: 1, Pixels: []uint8{10, 11, 12, 13, 14, 15}, Labels: []int32{1, 0, 1, 1, 0, 2}}
	s, idx, err := BalancedSubset(m, 1)
	require.NoError(t, err)
	assert.Equal(t, []int{0, 1, 5}, idx)
	assert.Equal(t, []uint8{10, 11, 15}, s.Pixels)
	assert.Equal(t, []int32{1, 0, 2}, s.Labels)
	_, _, err = BalancedSubset(m, 2)
	assert.ErrorContains(t, err, "class 2 has 1 images, fewer than 2")
}

func BenchmarkDefaultTrain(b *testing.B) {
	for b.Loop() {
		if _, err := Default(Train); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoadFullTrain(b *testing.B) {
	if _, err := os.Stat(SystemFashionMNISTDir); err != nil {
		b.Skip("full Fashion-MNIST not installed")
	}
	for b.Loop() {
		if _, err := LoadMNISTDir(SystemFashionMNISTDir, Train); err != nil {
			b.Fatal(err)
		}
	}
}

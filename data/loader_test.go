package data

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAugmentTinyImage(t *testing.T) {
	src := []uint8{
		1, 2, 3, 4,
		5, 6, 7, 8,
		9, 10, 11, 12,
	}
	for _, tc := range []struct {
		name   string
		dx, dy int
		flip   bool
		want   []uint8
	}{
		{"identity", 0, 0, false, src},
		{"right 1", 1, 0, false, []uint8{0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11}},
		{"left 1", -1, 0, false, []uint8{2, 3, 4, 0, 6, 7, 8, 0, 10, 11, 12, 0}},
		{"down 1", 0, 1, false, []uint8{0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8}},
		{"up 2", 0, -2, false, []uint8{9, 10, 11, 12, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"right 2 up 1", 2, -1, false, []uint8{0, 0, 5, 6, 0, 0, 9, 10, 0, 0, 0, 0}},
		{"flip", 0, 0, true, []uint8{4, 3, 2, 1, 8, 7, 6, 5, 12, 11, 10, 9}},
		{"flip then right 1", 1, 0, true, []uint8{0, 4, 3, 2, 0, 8, 7, 6, 0, 12, 11, 10}},
		{"flip then down 1 left 1", -1, 1, true, []uint8{0, 0, 0, 0, 3, 2, 1, 0, 7, 6, 5, 0}},
		{"out of frame", 4, 0, false, make([]uint8, 12)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := slices.Repeat([]uint8{99}, 12) // stale values must all be overwritten
			Augment(dst, src, 3, 4, tc.dx, tc.dy, tc.flip)
			assert.Equal(t, tc.want, dst)
		})
	}
}

// tiny returns n images of 2×2 whose pixels encode the image index.
func tiny(n int) *Images {
	m := &Images{N: n, Rows: 2, Cols: 2, Pixels: make([]uint8, 4*n), Labels: make([]int32, n)}
	for i := range n {
		for j := range 4 {
			m.Pixels[4*i+j] = uint8(i*4 + j)
		}
		m.Labels[i] = int32(i % 10)
	}
	return m
}

func epochOrder(t *testing.T, l *Loader) []int {
	var b Batch
	var out []int
	for l.Next(&b) {
		out = append(out, b.Index...)
	}
	return out
}

func TestLoaderShuffleDeterminism(t *testing.T) {
	img := tiny(50)
	mk := func(seed uint64) *Loader {
		l, err := NewLoader(img, 7, LoaderOptions{Seed: seed, Shuffle: true})
		require.NoError(t, err)
		return l
	}
	a, b, c := mk(1), mk(1), mk(2)
	identity := make([]int, 50)
	for i := range identity {
		identity[i] = i
	}
	var epochsA [][]int
	for e := range 3 {
		oa, ob, oc := epochOrder(t, a), epochOrder(t, b), epochOrder(t, c)
		assert.Equal(t, oa, ob, "epoch %d: same seed, same order", e)
		assert.NotEqual(t, oa, oc, "epoch %d: other seed, other order", e)
		assert.NotEqual(t, identity, oa)
		sorted := slices.Clone(oa)
		slices.Sort(sorted)
		assert.Equal(t, identity, sorted, "epoch %d is a permutation", e)
		epochsA = append(epochsA, oa)
	}
	assert.NotEqual(t, epochsA[0], epochsA[1])
	assert.NotEqual(t, epochsA[1], epochsA[2])

	// The order depends only on (seed, epoch) through PCG-DXSM and this
	// package's own Fisher–Yates, never on the Go version's shuffling. The
	// values come from an independent Python implementation
	// (testdata/pcgref.py).
	assert.Equal(t, []int{15, 20, 29, 3, 33, 16, 4, 42}, epochsA[0][:8])

	l, err := NewLoader(img, 7, LoaderOptions{})
	require.NoError(t, err)
	assert.Equal(t, identity, epochOrder(t, l), "no shuffle: file order")
}

func TestLoaderBatchesAndLabels(t *testing.T) {
	img := tiny(10)
	for _, tc := range []struct {
		name     string
		dropLast bool
		steps    int
		sizes    []int
	}{{"keep last", false, 3, []int{4, 4, 2}}, {"drop last", true, 2, []int{4, 4}}} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := NewLoader(img, 4, LoaderOptions{DropLast: tc.dropLast, Seed: 3, Shuffle: true})
			require.NoError(t, err)
			assert.Equal(t, tc.steps, l.StepsPerEpoch())
			var b Batch
			var sizes []int
			for l.Next(&b) {
				sizes = append(sizes, b.N)
				require.Len(t, b.X, b.N*4)
				for k, i := range b.Index {
					assert.Equal(t, img.Labels[i], b.Labels[k])
					for j := range 4 {
						assert.Equal(t, float32(float64(img.Pixels[4*i+j])/255), b.X[4*k+j])
					}
				}
			}
			assert.Equal(t, tc.sizes, sizes)
			e, s := l.Position()
			assert.Equal(t, [2]int{1, 0}, [2]int{e, s}, "Next returning false moves to the next epoch")
		})
	}
}

func TestLoaderScale(t *testing.T) {
	img := &Images{N: 1, Rows: 1, Cols: 4, Pixels: []uint8{0, 51, 128, 255}, Labels: []int32{0}}
	// Float32 rounding of exact values: the error is at most half an ulp at
	// 1.0 (6e-8), so 1e-7 is a safe bound.
	const tol = 1e-7
	for _, tc := range []struct {
		scale Scale
		want  []float64
	}{
		{ScaleUnit, []float64{0, 0.2, 128.0 / 255, 1}},
		{ScaleSigned, []float64{-1, -0.6, 1.0 / 255, 1}},
	} {
		l, err := NewLoader(img, 1, LoaderOptions{Scale: tc.scale})
		require.NoError(t, err)
		var b Batch
		require.True(t, l.Next(&b))
		for i, w := range tc.want {
			assert.InDelta(t, w, float64(b.X[i]), tol, "scale %d pixel %d", tc.scale, i)
		}
	}
}

// Seek(e, s) reproduces exactly what an uninterrupted run yields from
// (e, s) on, augmentation included, across epoch boundaries.
func TestLoaderResume(t *testing.T) {
	img, err := Default(Test)
	require.NoError(t, err)
	opts := LoaderOptions{Seed: 9, Shuffle: true, MaxShift: 2, HFlip: true, Scale: ScaleSigned}
	full, err := NewLoader(img, 64, opts)
	require.NoError(t, err)
	type rec struct {
		epoch, step int
		x           []float32
		idx         []int
	}
	var all []rec
	var b Batch
	for range 3 {
		for full.Next(&b) {
			all = append(all, rec{b.Epoch, b.Step, slices.Clone(b.X), slices.Clone(b.Index)})
		}
	}
	require.Len(t, all, 3*16)
	for _, at := range [][2]int{{0, 0}, {1, 3}, {1, 15}, {2, 16}} {
		r, err := NewLoader(img, 64, opts)
		require.NoError(t, err)
		require.NoError(t, r.Seek(at[0], at[1]))
		k := at[0]*16 + at[1]
		for k < len(all) {
			if !r.Next(&b) {
				continue
			}
			require.Equal(t, all[k].epoch, b.Epoch)
			require.Equal(t, all[k].step, b.Step)
			require.Equal(t, all[k].idx, b.Index, "resume at %v: batch %d", at, k)
			require.Equal(t, all[k].x, b.X, "resume at %v: batch %d", at, k)
			k++
		}
	}
	r, err := NewLoader(img, 64, opts)
	require.NoError(t, err)
	assert.ErrorContains(t, r.Seek(0, 17), "steps per epoch is 16")
	assert.Error(t, r.Seek(-1, 0))
}

// Every augmented image is its source moved by some (dx, dy) within the
// bound, optionally flipped; all 25 shifts and both flip states occur, in
// plausible proportions.
func TestLoaderAugmentation(t *testing.T) {
	img, err := Default(Test)
	require.NoError(t, err)
	l, err := NewLoader(img, 100, LoaderOptions{Seed: 5, MaxShift: 2, HFlip: true})
	require.NoError(t, err)
	var b Batch
	seen := map[[3]int]int{}
	cand := make([]uint8, 28*28)
	got := make([]uint8, 28*28)
	for l.Next(&b) {
		for k, i := range b.Index {
			for j := range got {
				got[j] = uint8(b.X[k*784+j]*255 + 0.5)
			}
			var matches [][3]int
			for dx := -2; dx <= 2; dx++ {
				for dy := -2; dy <= 2; dy++ {
					for f := range 2 {
						Augment(cand, img.Image(i), 28, 28, dx, dy, f == 1)
						if string(cand) == string(got) {
							matches = append(matches, [3]int{dx, dy, f})
						}
					}
				}
			}
			require.NotEmpty(t, matches, "image %d is no shift/flip of its source", i)
			if len(matches) == 1 {
				seen[matches[0]]++
			}
		}
	}
	flips := 0
	for k, n := range seen {
		flips += k[2] * n
	}
	total := 0
	for _, n := range seen {
		total += n
	}
	assert.Len(t, seen, 50, "every shift with and without flip occurs")
	// Binomial(total≈1000, 1/2): sd ≈ 0.016; 0.08 is five sd.
	assert.InDelta(t, 0.5, float64(flips)/float64(total), 0.08)
}

func TestLoaderSteadyStateAllocations(t *testing.T) {
	img, err := Default(Test)
	require.NoError(t, err)
	l, err := NewLoader(img, 32, LoaderOptions{Seed: 1, Shuffle: true, MaxShift: 1, HFlip: true})
	require.NoError(t, err)
	var b Batch
	l.Next(&b) // the first call sizes the buffers
	// 200 calls cross several epoch ends (32 steps per epoch).
	allocs := testing.AllocsPerRun(200, func() { l.Next(&b) })
	assert.Zero(t, allocs)
}

func TestNewLoaderErrors(t *testing.T) {
	img := tiny(3)
	for _, tc := range []struct {
		name string
		bs   int
		opts LoaderOptions
		want string
	}{
		{"zero batch", 0, LoaderOptions{}, "batch size 0"},
		{"shift too big", 1, LoaderOptions{MaxShift: 2}, "shift 2 pixels"},
		{"negative shift", 1, LoaderOptions{MaxShift: -1}, "shift -1"},
		{"bad scale", 1, LoaderOptions{Scale: 7}, "unknown scale"},
	} {
		_, err := NewLoader(img, tc.bs, tc.opts)
		assert.ErrorContains(t, err, tc.want, tc.name)
	}
	_, err := NewLoader(&Images{N: 2, Rows: 2, Cols: 2, Pixels: make([]uint8, 7), Labels: make([]int32, 2)}, 1, LoaderOptions{})
	assert.ErrorContains(t, err, "7 pixels for 2 images")
}

func BenchmarkLoaderNext(b *testing.B) {
	img, err := Default(Train)
	require.NoError(b, err)
	for _, aug := range []bool{false, true} {
		name := "plain"
		opts := LoaderOptions{Seed: 1, Shuffle: true}
		if aug {
			name = "augment"
			opts.MaxShift, opts.HFlip = 2, true
		}
		b.Run(name, func(b *testing.B) {
			l, err := NewLoader(img, 128, opts)
			require.NoError(b, err)
			var bt Batch
			b.SetBytes(128 * 784)
			for b.Loop() {
				l.Next(&bt)
			}
		})
	}
}

package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ingotml/ingot/internal/cpufeat"
	"github.com/stretchr/testify/require"
)

// forEachRowsPath runs f with gatherRows and scatterRows forced to each
// kernel path this CPU has (the Go loops under Generic).
func forEachRowsPath(t *testing.T, f func(t *testing.T)) {
	saved := rowsPath
	defer setRowsPath(saved)
	for _, p := range cpufeat.Available() {
		setRowsPath(p)
		t.Run(string(p), f)
	}
}

// rowsValue draws a float32 that is now and then a special value: ±0,
// ±Inf, and NaNs with payloads (quiet and signalling, both signs), so that
// the vector sums must return the very NaN the Go loop returns.
func rowsValue(r *rand.Rand) float32 {
	switch r.IntN(12) {
	case 0:
		return 0
	case 1:
		return float32(math.Copysign(0, -1))
	case 2:
		return float32(math.Inf(1 - 2*r.IntN(2)))
	case 3:
		return math.Float32frombits(0x7fc00000 | r.Uint32()&0x803fffff) // quiet NaN
	case 4:
		return math.Float32frombits(0x7f800001 | r.Uint32()&0x803fffff) // signalling NaN
	case 5:
		return math.Float32frombits(r.Uint32() & 0x807fffff) // subnormal
	}
	return float32(r.NormFloat64())
}

func rowsFill(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = rowsValue(r)
	}
	return x
}

func requireSameBits(t *testing.T, want, got []float32, what string) {
	t.Helper()
	for i := range want {
		if math.Float32bits(want[i]) != math.Float32bits(got[i]) {
			require.Failf(t, "bits differ", "%s: element %d: want %#08x (%v), got %#08x (%v)",
				what, i, math.Float32bits(want[i]), want[i], math.Float32bits(got[i]), got[i])
		}
	}
}

// gatherRows and scatterRows on every path give the Go loops' bits (their
// sums are single float32 additions, so exactly equal, NaN payloads
// included), and leave every element outside the touched ones (guards on both sides, the
// gaps between strided elements and rows) bit-for-bit unchanged.
func TestRowsMatchGoLoops(t *testing.T) {
	forEachRowsPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 11))
		const guard = 37
		// Steps 1 and 2 are the convolutions' usual strides; up to 17 takes
		// every chunk width of the permuting kernels and the first step past
		// them.
		for step := 1; step <= 17; step++ {
			for oh := 1; oh <= 5; oh++ {
				if step > 4 && oh > 3 {
					continue
				}
				for ow := 1; ow <= 40; ow++ {
					span := (ow-1)*step + 1
					for _, rowStep := range []int{span, span + 1 + r.IntN(9), 2*span + 3} {
						name := fmt.Sprintf("step %d oh %d ow %d rowStep %d", step, oh, ow, rowStep)
						n := (oh-1)*rowStep + span // the strided side's extent
						strided := rowsFill(r, n+2*guard)
						contig := rowsFill(r, oh*ow+2*guard)

						// Gather: the slices start after a guard and end
						// exactly at the last element touched.
						want := append([]float32(nil), contig...)
						gatherRowsGo(want[guard:guard+oh*ow], strided[guard:guard+n], oh, ow, rowStep, step)
						got := append([]float32(nil), contig...)
						gatherRows(got[guard:guard+oh*ow], strided[guard:guard+n], oh, ow, rowStep, step)
						requireSameBits(t, want, got, "gather "+name)

						// Scatter into the strided side.
						want = append([]float32(nil), strided...)
						scatterRowsGo(want[guard:guard+n], contig[guard:guard+oh*ow], oh, ow, rowStep, step)
						got = append([]float32(nil), strided...)
						scatterRows(got[guard:guard+n], contig[guard:guard+oh*ow], oh, ow, rowStep, step)
						requireSameBits(t, want, got, "scatter "+name)
					}
				}
			}
		}
	})
}

// Long rows (several 16-lane chunks and a tail) and large steps.
func TestRowsLongAndWide(t *testing.T) {
	forEachRowsPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 5))
		for _, c := range []struct{ oh, ow, step int }{
			{3, 300, 1}, {2, 257, 2}, {2, 129, 3}, {3, 64, 7}, {2, 33, 100}, {1, 17, 5000},
		} {
			span := (c.ow-1)*c.step + 1
			rowStep := span + r.IntN(5)
			n := (c.oh-1)*rowStep + span
			strided, contig := rowsFill(r, n), rowsFill(r, c.oh*c.ow)
			name := fmt.Sprintf("%+v", c)

			want, got := make([]float32, len(contig)), make([]float32, len(contig))
			gatherRowsGo(want, strided, c.oh, c.ow, rowStep, c.step)
			gatherRows(got, strided, c.oh, c.ow, rowStep, c.step)
			requireSameBits(t, want, got, "gather "+name)

			want, got = append([]float32(nil), strided...), append([]float32(nil), strided...)
			scatterRowsGo(want, contig, c.oh, c.ow, rowStep, c.step)
			scatterRows(got, contig, c.oh, c.ow, rowStep, c.step)
			requireSameBits(t, want, got, "scatter "+name)
		}
	})
}

// Slices too short for the rows panic on every path, as the Go loops do,
// instead of the assembly reading or writing past them. (The Go loops
// check against capacity, hence the full slice expressions.)
func TestRowsBoundsPanic(t *testing.T) {
	forEachRowsPath(t, func(t *testing.T) {
		strided, contig := make([]float32, 4*16), make([]float32, 4*8)
		require.Panics(t, func() { gatherRows(contig[:31:31], strided, 4, 8, 16, 2) })
		require.Panics(t, func() { gatherRows(contig, strided[:3*16+14:3*16+14], 4, 8, 16, 2) })
		require.Panics(t, func() { scatterRows(strided, contig[:31:31], 4, 8, 16, 2) })
		require.Panics(t, func() { scatterRows(strided[:3*16+14:3*16+14], contig, 4, 8, 16, 2) })
		require.NotPanics(t, func() { gatherRows(contig, strided[:3*16+15], 4, 8, 16, 2) })
		require.NotPanics(t, func() { scatterRows(strided[:3*16+15], contig, 4, 8, 16, 2) })
	})
}

// BenchmarkRows times one im2col/col2im plane of the DCGAN's two
// convolutions (4×4 windows, stride 2, padding 1): 16 window offsets of
// 7×7 outputs on a 16×16 padded plane, and of 14×14 on a 30×30 one, on
// each path.
func BenchmarkRows(b *testing.B) {
	saved := rowsPath
	defer setRowsPath(saved)
	for _, s := range []struct{ o, wp int }{{7, 16}, {14, 30}} {
		plane := make([]float32, s.wp*s.wp)
		cols := make([]float32, 16*s.o*s.o)
		for i := range plane {
			plane[i] = float32(i % 7)
		}
		for _, p := range cpufeat.Available() {
			setRowsPath(p)
			b.Run(fmt.Sprintf("gather_%dx%d/%s", s.o, s.o, p), func(b *testing.B) {
				b.SetBytes(int64(4 * len(cols)))
				for b.Loop() {
					for k := range 16 {
						gatherRows(cols[k*s.o*s.o:], plane[(k/4)*s.wp+k%4:], s.o, s.o, 2*s.wp, 2)
					}
				}
			})
			b.Run(fmt.Sprintf("scatter_%dx%d/%s", s.o, s.o, p), func(b *testing.B) {
				b.SetBytes(int64(4 * len(cols)))
				for b.Loop() {
					for k := range 16 {
						scatterRows(plane[(k/4)*s.wp+k%4:], cols[k*s.o*s.o:], s.o, s.o, 2*s.wp, 2)
					}
				}
			})
		}
	}
}

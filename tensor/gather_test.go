package tensor

import (
	"math/rand/v2"
	"testing"
	"unsafe"
)

// TestGatherLayout checks the run-at-a-time strided gather against
// Layout.Index, element by element, over random layouts (permuted, sliced,
// broadcast and size-1 dimensions) and random [lo, hi) windows.
func TestGatherLayout(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	mem := make([]float32, 1<<14)
	for i := range mem {
		mem[i] = float32(i)
	}
	buf := &Buffer{Mem: unsafe.Slice((*byte)(unsafe.Pointer(&mem[0])), 4*len(mem))}
	for trial := range 2000 {
		l := Layout{Buf: buf, Off: r.IntN(50), Rank: 1 + r.IntN(5)}
		n := 1
		for d := range l.Rank {
			l.Shape[d] = 1 + r.IntN(5)
			n *= l.Shape[d]
		}
		// Dense strides in a random dimension order, some broadcast or widened.
		perm := r.Perm(l.Rank)
		st := 1
		for _, d := range perm {
			switch r.IntN(6) {
			case 0:
				l.Strides[d] = 0
			case 1:
				l.Strides[d] = st * 2
				st *= 2 * l.Shape[d]
			default:
				l.Strides[d] = st
				st *= l.Shape[d]
			}
		}
		lo := r.IntN(n)
		hi := lo + r.IntN(n-lo+1)
		got := make([]float32, hi-lo)
		gatherLayout(got, &l, lo, hi)
		for i := lo; i < hi; i++ {
			if want := mem[l.Index(i)]; got[i-lo] != want {
				t.Fatalf("trial %d: layout %v/%v off %d, element %d of [%d, %d): got %v, want %v",
					trial, l.Shape[:l.Rank], l.Strides[:l.Rank], l.Off, i, lo, hi, got[i-lo], want)
			}
		}
	}
}

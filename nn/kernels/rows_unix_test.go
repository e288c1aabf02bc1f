//go:build linux || darwin

package kernels

import (
	"fmt"
	"os"
	"syscall"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// The kernels read and write nothing past the slices: with both sides
// ending at a page followed by an inaccessible one, any access beyond them
// faults (and crashes the test). Masked-off lanes that run into the guard
// page must not fault.
func TestRowsStayInsideSlices(t *testing.T) {
	ps := os.Getpagesize()
	mem, err := syscall.Mmap(-1, 0, 4*ps, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	require.NoError(t, err)
	defer syscall.Munmap(mem)
	// Pages: [strided][guard][contig][guard].
	require.NoError(t, syscall.Mprotect(mem[ps:2*ps], syscall.PROT_NONE))
	require.NoError(t, syscall.Mprotect(mem[3*ps:], syscall.PROT_NONE))
	page := func(i int) []float32 { return unsafe.Slice((*float32)(unsafe.Pointer(&mem[i*ps])), ps/4) }
	stridedPage, contigPage := page(0), page(2)
	for i := range stridedPage {
		stridedPage[i], contigPage[i] = float32(i%13)-6, float32(i%7)-3
	}

	forEachRowsPath(t, func(t *testing.T) {
		for step := 1; step <= 17; step++ {
			for oh := 1; oh <= 3; oh++ {
				for ow := 1; ow <= 40; ow++ {
					span := (ow-1)*step + 1
					rowStep := span + step%3
					n := (oh-1)*rowStep + span
					if n > len(stridedPage) {
						continue
					}
					strided := stridedPage[len(stridedPage)-n:]
					contig := contigPage[len(contigPage)-oh*ow:]
					want := make([]float32, oh*ow)
					gatherRowsGo(want, strided, oh, ow, rowStep, step)
					gatherRows(contig, strided, oh, ow, rowStep, step)
					require.Equal(t, want, contig, "gather step %d oh %d ow %d", step, oh, ow)

					wantS := append([]float32(nil), strided...)
					scatterRowsGo(wantS, contig, oh, ow, rowStep, step)
					scatterRows(strided, contig, oh, ow, rowStep, step)
					require.Equal(t, wantS, strided, fmt.Sprintf("scatter step %d oh %d ow %d", step, oh, ow))
				}
			}
		}
	})
}

package kernels

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// rows_amd64.s reads the plans and masks at fixed offsets.
func TestRowsPlanLayout(t *testing.T) {
	var p rowsPlan
	require.Equal(t, uintptr(0), unsafe.Offsetof(p.idx))
	require.Equal(t, uintptr(64), unsafe.Offsetof(p.dupLo))
	require.Equal(t, uintptr(128), unsafe.Offsetof(p.dupHi))
	require.Equal(t, uintptr(192), unsafe.Offsetof(p.stridedBytes))
	require.Equal(t, uintptr(200), unsafe.Offsetof(p.contigBytes))
	var p2 rowsPlan2
	require.Equal(t, uintptr(0), unsafe.Offsetof(p2.idx))
	require.Equal(t, uintptr(32), unsafe.Offsetof(p2.sel))
	require.Equal(t, uintptr(64), unsafe.Offsetof(p2.dupLo))
	require.Equal(t, uintptr(96), unsafe.Offsetof(p2.dupHi))
	require.Equal(t, uintptr(128), unsafe.Offsetof(p2.stridedBytes))
	require.Equal(t, uintptr(136), unsafe.Offsetof(p2.contigBytes))
	var m rowsMasks2
	require.Equal(t, uintptr(0), unsafe.Offsetof(m.gLo))
	require.Equal(t, uintptr(32), unsafe.Offsetof(m.gHi))
	require.Equal(t, uintptr(64), unsafe.Offsetof(m.sLo))
	require.Equal(t, uintptr(96), unsafe.Offsetof(m.sHi))
	require.Equal(t, uintptr(128), unsafe.Offsetof(m.out))
}

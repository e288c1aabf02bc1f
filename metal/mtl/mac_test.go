//go:build darwin

package mtl

import (
	"math"
	"runtime"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ingotml/ingot/metal/driver"
)

// Self-checks on a real Mac GPU. On an Apple-silicon Mac (darwin/arm64)
// every Mac has an Apple7-or-later GPU, so a failing Open fails the test; on
// darwin/amd64 (an Intel Mac, or Rosetta) the tests skip with the reason.
// mac_other_test.go skips the same tests on other systems.

const macSkipReason = "needs macOS with an Apple-silicon GPU"

// openMac opens the real driver on this test's goroutine, locked to its OS
// thread until the test ends.
func openMac(t *testing.T) driver.Driver {
	t.Helper()
	runtime.LockOSThread()
	t.Cleanup(runtime.UnlockOSThread)
	d, err := Open()
	if err != nil {
		if runtime.GOARCH == "arm64" {
			t.Fatalf("Open on an Apple-silicon Mac: %v", err)
		}
		t.Skipf("%s: %v", macSkipReason, err)
	}
	t.Cleanup(func() { require.NoError(t, d.Close()) })
	return d
}

func compileMac(t *testing.T, d driver.Driver, name, src string) {
	t.Helper()
	require.NoError(t, d.Compile([]driver.Source{{Name: name, Text: src}}))
}

func u32s(b driver.Buffer) []uint32 {
	return unsafe.Slice((*uint32)(b.Contents()), b.Len()/4)
}

func f32s(b driver.Buffer) []float32 {
	return unsafe.Slice((*float32)(b.Contents()), b.Len()/4)
}

func submit(t *testing.T, d driver.Driver, dsp *driver.Dispatch) driver.CommandBuffer {
	t.Helper()
	pool := d.PushPool()
	defer d.PopPool(pool)
	cb, err := d.NewCommandBuffer()
	require.NoError(t, err)
	cb.Encode(dsp)
	cb.Commit()
	require.NoError(t, cb.Wait())
	return cb
}

func TestMacInfo(t *testing.T) {
	d := openMac(t)
	info := d.Info()
	t.Logf("%+v", info)
	assert.NotEmpty(t, info.Name)
	assert.Regexp(t, `^Apple([7-9]|[1-9][0-9])$`, info.Family)
	assert.True(t, info.UnifiedMemory)
	assert.GreaterOrEqual(t, info.MaxThreadgroupMemory, 32768)
	assert.Equal(t, 1024, info.MaxThreadsPerThreadgroup, "maxThreadsPerThreadgroup (an MTLSize result) on Apple GPUs")
	assert.Equal(t, "3.0", info.LanguageVersion)
	assert.False(t, info.Emulated)
}

const idsSrc = `#include <metal_stdlib>
using namespace metal;
kernel void ids(device uint *out [[buffer(0)]],
                constant uint &tag [[buffer(1)]],
                uint3 gid [[thread_position_in_grid]],
                uint3 tg [[threadgroup_position_in_grid]],
                uint3 lid [[thread_position_in_threadgroup]],
                uint3 tpt [[threads_per_threadgroup]],
                uint3 gsz [[threads_per_grid]]) {
  uint i = (gid.z * gsz.y + gid.y) * gsz.x + gid.x;
  device uint *o = out + i * 16;
  o[0] = gid.x; o[1] = gid.y; o[2] = gid.z;
  o[3] = tg.x;  o[4] = tg.y;  o[5] = tg.z;
  o[6] = lid.x; o[7] = lid.y; o[8] = lid.z;
  o[9] = tpt.x; o[10] = tpt.y; o[11] = tpt.z;
  o[12] = gsz.x; o[13] = gsz.y; o[14] = gsz.z;
  o[15] = tag;
}
`

// TestMacGridAndThreadIDs proves that both MTLSize arguments of
// dispatchThreadgroups:threadsPerThreadgroup: arrive by value: every thread
// writes the ids it sees, and each must match the grid asked for.
func TestMacGridAndThreadIDs(t *testing.T) {
	d := openMac(t)
	compileMac(t, d, "ids.metal", idsSrc)
	p, err := d.Pipeline("ids")
	require.NoError(t, err)
	assert.Equal(t, 32, p.ThreadExecutionWidth(), "ingot's kernels assume a SIMD width of 32")
	groups := driver.Size{X: 3, Y: 2, Z: 2}
	threads := driver.Size{X: 4, Y: 2, Z: 3}
	gx, gy, gz := groups.X*threads.X, groups.Y*threads.Y, groups.Z*threads.Z
	out, err := d.NewBuffer(gx * gy * gz * 16 * 4)
	require.NoError(t, err)
	defer out.Release()
	const tag = 0xC0FFEE
	tagBytes := unsafe.Slice((*byte)(unsafe.Pointer(&[1]uint32{tag})), 4)
	submit(t, d, &driver.Dispatch{Pipeline: p, Args: []driver.Arg{{Buffer: out}, {Bytes: append([]byte(nil), tagBytes...)}},
		Threadgroups: groups, Threads: threads})

	v := u32s(out)
	for z := range gz {
		for y := range gy {
			for x := range gx {
				i := (z*gy+y)*gx + x
				want := []uint32{
					uint32(x), uint32(y), uint32(z),
					uint32(x / threads.X), uint32(y / threads.Y), uint32(z / threads.Z),
					uint32(x % threads.X), uint32(y % threads.Y), uint32(z % threads.Z),
					uint32(threads.X), uint32(threads.Y), uint32(threads.Z),
					uint32(gx), uint32(gy), uint32(gz),
					tag,
				}
				require.Equal(t, want, v[i*16:i*16+16], "thread (%d,%d,%d)", x, y, z)
			}
		}
	}
}

const roundTripSrc = `#include <metal_stdlib>
using namespace metal;
struct params { float a; uint n; };
kernel void axpy(device const float *x [[buffer(0)]],
                 device float *y [[buffer(1)]],
                 constant params &p [[buffer(2)]],
                 uint i [[thread_position_in_grid]]) {
  if (i < p.n) y[i] = p.a * x[i] + y[i];
}
kernel void reverse_groups(device float *v [[buffer(0)]],
                           threadgroup float *tmp [[threadgroup(0)]],
                           uint i [[thread_position_in_grid]],
                           uint l [[thread_position_in_threadgroup]],
                           uint n [[threads_per_threadgroup]]) {
  tmp[l] = v[i];
  threadgroup_barrier(mem_flags::mem_threadgroup);
  v[i] = tmp[n - 1 - l];
}
`

// TestMacBufferRoundTrip writes buffers on the host, runs kernels with a
// buffer offset, inline bytes and threadgroup memory, and reads the results
// back. All values are small integers plus halves, exact in float32, so the
// comparison is exact.
func TestMacBufferRoundTrip(t *testing.T) {
	d := openMac(t)
	compileMac(t, d, "roundtrip.metal", roundTripSrc)
	axpy, err := d.Pipeline("axpy")
	require.NoError(t, err)
	const n = 1000
	const skip = 4 // x is bound 4 floats into its buffer
	x, err := d.NewBuffer((n + skip) * 4)
	require.NoError(t, err)
	defer x.Release()
	y, err := d.NewBuffer(n * 4)
	require.NoError(t, err)
	defer y.Release()
	for i, v := range f32s(y) {
		require.Zero(t, v, "new buffers are zero-filled (index %d)", i)
	}
	for i := range f32s(x) {
		f32s(x)[i] = float32(i - skip)
	}
	for i := range f32s(y) {
		f32s(y)[i] = 0.5
	}
	params := struct {
		a float32
		n uint32
	}{2, n - 1} // the last element stays 0.5
	pb := unsafe.Slice((*byte)(unsafe.Pointer(&params)), unsafe.Sizeof(params))
	cb := submit(t, d, &driver.Dispatch{
		Pipeline:     axpy,
		Args:         []driver.Arg{{Buffer: x, Offset: skip * 4}, {Buffer: y}, {Bytes: append([]byte(nil), pb...)}},
		Threadgroups: driver.Size{X: (n + 255) / 256, Y: 1, Z: 1},
		Threads:      driver.Size{X: 256, Y: 1, Z: 1},
	})
	assert.GreaterOrEqual(t, cb.GPUTime(), 0.0)
	assert.False(t, math.IsNaN(cb.GPUTime()))
	for i, v := range f32s(y) {
		want := float32(2*i) + 0.5
		if i == n-1 {
			want = 0.5
		}
		require.Equal(t, want, v, "y[%d]", i)
	}

	rev, err := d.Pipeline("reverse_groups")
	require.NoError(t, err)
	const group = 64
	v, err := d.NewBuffer(4 * group * 4)
	require.NoError(t, err)
	defer v.Release()
	for i := range f32s(v) {
		f32s(v)[i] = float32(i)
	}
	submit(t, d, &driver.Dispatch{Pipeline: rev, Args: []driver.Arg{{Buffer: v}},
		ThreadgroupMemory: []int{group * 4},
		Threadgroups:      driver.Size{X: 4, Y: 1, Z: 1}, Threads: driver.Size{X: group, Y: 1, Z: 1}})
	for i, got := range f32s(v) {
		g, l := i/group, i%group
		require.Equal(t, float32(g*group+group-1-l), got, "v[%d]", i)
	}
}

func TestMacCompileError(t *testing.T) {
	d := openMac(t)
	err := d.Compile([]driver.Source{
		{Name: "fine.metal", Text: roundTripSrc},
		{Name: "broken.metal", Text: "#include <metal_stdlib>\nusing namespace metal;\nkernel void k(device float *a [[buffer(0)]]) { a[0] = oops; }\n"},
	})
	require.Error(t, err)
	t.Log(err)
	assert.Contains(t, err.Error(), "broken.metal")
	assert.Contains(t, err.Error(), "oops")
	_, err = d.Pipeline("axpy")
	assert.Error(t, err, "nothing was compiled")
}

func TestMacWrongThread(t *testing.T) {
	d := openMac(t)
	done := make(chan error)
	go func() {
		runtime.LockOSThread() // a different OS thread from the test's
		defer runtime.UnlockOSThread()
		_, err := d.NewBuffer(16)
		done <- err
	}()
	assert.ErrorContains(t, <-done, "OS thread")
}

package emu

import (
	"encoding/binary"
	"math"
	"os"
	"runtime"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ingotml/ingot/metal/driver"
)

// openLocked opens the emulator on the test goroutine, locked to its OS
// thread for the test's duration (the driver's threading contract).
func openLocked(t *testing.T) *Driver {
	t.Helper()
	runtime.LockOSThread()
	t.Cleanup(runtime.UnlockOSThread)
	d, err := Open()
	require.NoError(t, err)
	t.Cleanup(func() {
		if !d.(*Driver).closed {
			assert.NoError(t, d.Close())
		}
	})
	return d.(*Driver)
}

func readSource(t *testing.T, name string) driver.Source {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	return driver.Source{Name: name, Text: string(b)}
}

// openWith opens the emulator and compiles testdata files.
func openWith(t *testing.T, files ...string) *Driver {
	t.Helper()
	d := openLocked(t)
	var srcs []driver.Source
	for _, f := range files {
		srcs = append(srcs, readSource(t, f))
	}
	require.NoError(t, d.Compile(srcs))
	return d
}

func floats(b driver.Buffer) []float32 {
	return unsafe.Slice((*float32)(b.Contents()), b.Len()/4)
}

func uints(b driver.Buffer) []uint32 {
	return unsafe.Slice((*uint32)(b.Contents()), b.Len()/4)
}

func newBuf(t *testing.T, d *Driver, n int) driver.Buffer {
	t.Helper()
	b, err := d.NewBuffer(n)
	require.NoError(t, err)
	t.Cleanup(b.Release)
	return b
}

func words(vals ...uint32) []byte {
	b := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(b[4*i:], v)
	}
	return b
}

// dispatch runs one dispatch in its own command buffer and waits.
func dispatch(t *testing.T, d *Driver, name string, groups, threads driver.Size, tg []int, args ...driver.Arg) error {
	t.Helper()
	p, err := d.Pipeline(name)
	require.NoError(t, err)
	cb, err := d.NewCommandBuffer()
	require.NoError(t, err)
	cb.Encode(&driver.Dispatch{Pipeline: p, Args: args, ThreadgroupMemory: tg, Threadgroups: groups, Threads: threads})
	cb.Commit()
	return cb.Wait()
}

func sz(x, y, z int) driver.Size { return driver.Size{X: x, Y: y, Z: z} }

func TestInfo(t *testing.T) {
	d := openLocked(t)
	assert.Equal(t, driver.Info{Name: "MSL emulator", Family: "Apple7", UnifiedMemory: true, MaxThreadgroupMemory: 32768,
		MaxThreadsPerThreadgroup: 1024, LanguageVersion: "3.0", Emulated: true}, d.Info())
}

func TestVecAddWithOffsetsAndBytes(t *testing.T) {
	d := openWith(t, "kernels.metal")
	const n, off = 100, 3 // out is bound at an offset of 3 floats
	a, b, o := newBuf(t, d, 4*(n+off)), newBuf(t, d, 4*n), newBuf(t, d, 4*(n+off))
	for i := 0; i < n+off; i++ {
		floats(a)[i] = float32(i)
	}
	for i := 0; i < n; i++ {
		floats(b)[i] = 0.5
	}
	params := words(n, math.Float32bits(2))
	// 4 groups of 32 = 128 threads cover n = 100; the rest return early
	require.NoError(t, dispatch(t, d, "vec_add", sz(4, 1, 1), sz(32, 1, 1), nil,
		driver.Arg{Buffer: a, Offset: 4 * off}, driver.Arg{Buffer: b}, driver.Arg{Buffer: o, Offset: 4 * off}, driver.Arg{Bytes: params}))
	out := floats(o)
	for i := 0; i < off; i++ {
		assert.Zero(t, out[i], "before the offset")
	}
	for i := 0; i < n; i++ {
		// exact: (i+3 + 0.5) * 2 is representable
		require.Equal(t, 2*(float32(i+off)+0.5), out[off+i], "i=%d", i)
	}
}

func TestIDs(t *testing.T) {
	d := openWith(t, "kernels.metal")
	g, th := sz(3, 2, 2), sz(8, 5, 2) // 80 threads: simdgroups of 32, 32, 16
	groups, n := g.X*g.Y*g.Z, th.X*th.Y*th.Z
	o := newBuf(t, d, 4*24*groups*n)
	require.NoError(t, dispatch(t, d, "ids", g, th, nil, driver.Arg{Buffer: o}))
	out := uints(o)
	for gz := 0; gz < g.Z; gz++ {
		for gy := 0; gy < g.Y; gy++ {
			for gx := 0; gx < g.X; gx++ {
				gl := (gz*g.Y+gy)*g.X + gx
				for i := 0; i < n; i++ {
					lx, ly, lz := i%th.X, (i/th.X)%th.Y, i/(th.X*th.Y)
					want := []uint32{
						uint32(gx*th.X + lx), uint32(gy*th.Y + ly), uint32(gz*th.Z + lz),
						uint32(lx), uint32(ly), uint32(lz),
						uint32(gx), uint32(gy), uint32(gz),
						uint32(th.X), uint32(th.Y), uint32(th.Z),
						uint32(g.X), uint32(g.Y), uint32(g.Z),
						uint32(i), uint32(i % 32), uint32(i / 32), 32,
						uint32(gx*th.X + lx), uint32(gy*th.Y + ly), uint32((n + 31) / 32),
						0xabcd, 0,
					}
					base := (gl*n + i) * 24
					require.Equal(t, want, out[base:base+24], "group %d thread %d", gl, i)
				}
			}
		}
	}
}

func TestThreadgroupReduction(t *testing.T) {
	d := openWith(t, "kernels.metal")
	const groups, n = 5, 256
	in, o := newBuf(t, d, 4*groups*n), newBuf(t, d, 4*groups)
	want := make([]float64, groups)
	for i := range floats(in) {
		v := float32(i%17) - 8 // small integers: float32 sums are exact
		floats(in)[i] = v
		want[i/n] += float64(v)
	}
	require.NoError(t, dispatch(t, d, "reduce_sum", sz(groups, 1, 1), sz(n, 1, 1), []int{4 * n},
		driver.Arg{Buffer: in}, driver.Arg{Buffer: o}))
	for g := 0; g < groups; g++ {
		assert.Equal(t, float32(want[g]), floats(o)[g], "group %d", g)
	}
	p, err := d.Pipeline("reduce_sum")
	require.NoError(t, err)
	assert.Equal(t, 16, p.StaticThreadgroupMemoryLength(), "threadgroup float quarter[4], measured after a run")
	assert.Equal(t, 32, p.ThreadExecutionWidth())
	assert.Equal(t, 1024, p.MaxTotalThreadsPerThreadgroup())
}

func TestSIMDFunctions(t *testing.T) {
	d := openWith(t, "kernels.metal")
	const n = 64 + 16 // a threadgroup of 80: the last SIMD group has 16 lanes
	in, o := newBuf(t, d, 4*n), newBuf(t, d, 4*8*n)
	x := floats(in)
	for i := range x {
		x[i] = float32((i*37)%23) - 11 // small integers: sums are exact
	}
	require.NoError(t, dispatch(t, d, "simd_ops", sz(1, 1, 1), sz(n, 1, 1), nil, driver.Arg{Buffer: in}, driver.Arg{Buffer: o}))
	out := floats(o)
	for sg := 0; sg*32 < n; sg++ {
		lo, hi := sg*32, min(n, sg*32+32)
		var sum, mx, mn float32 = 0, -1e30, 1e30
		for i := lo; i < hi; i++ {
			sum += x[i]
			mx = max(mx, x[i])
			mn = min(mn, x[i])
		}
		var lowSum, highSum float32
		for i := lo; i < hi; i++ {
			if i-lo < 10 {
				lowSum += x[i]
			} else {
				highSum += x[i]
			}
		}
		prefix := float32(0)
		for i := lo; i < hi; i++ {
			l := i - lo
			o := out[i*8 : i*8+8]
			assert.Equal(t, sum, o[0], "sum lane %d", i)
			assert.Equal(t, mx, o[1], "max lane %d", i)
			assert.Equal(t, mn, o[2], "min lane %d", i)
			if l+3 < 32 {
				if i+3 < hi {
					assert.Equal(t, x[i+3], o[3], "shuffle_down lane %d", i)
				} else {
					assert.True(t, math.IsNaN(float64(o[3])), "shuffle_down from a missing lane gives NaN, lane %d: %v", i, o[3])
				}
			} else {
				assert.Equal(t, x[i], o[3], "shuffle_down past the SIMD group keeps the lane's value, lane %d", i)
			}
			if src := lo + (l ^ 5); src < hi {
				assert.Equal(t, x[src], o[4], "shuffle_xor lane %d", i)
			}
			assert.Equal(t, x[lo+7], o[5], "broadcast lane %d", i)
			assert.Equal(t, prefix, o[6], "prefix_exclusive_sum lane %d", i)
			prefix += x[i]
			if l < 10 {
				assert.Equal(t, lowSum, o[7], "divergent sum lane %d", i)
			} else {
				assert.Equal(t, highSum, o[7], "divergent sum lane %d", i)
			}
		}
	}
}

func TestSimdgroupMatmul(t *testing.T) {
	d := openWith(t, "kernels.metal")
	const M, N, K = 16, 24, 32
	for _, bt := range []uint32{0, 1} {
		A, B, C := newBuf(t, d, 4*M*K), newBuf(t, d, 4*K*N), newBuf(t, d, 4*M*N)
		a, b := floats(A), floats(B)
		for i := range a {
			a[i] = float32(math.Sin(float64(i)))
		}
		for i := range b {
			b[i] = float32(math.Cos(float64(3 * i)))
		}
		require.NoError(t, dispatch(t, d, "matmul8", sz(N/8, M/8, 1), sz(32, 1, 1), nil,
			driver.Arg{Buffer: A}, driver.Arg{Buffer: B}, driver.Arg{Buffer: C}, driver.Arg{Bytes: words(M, N, K, bt)}))
		for i := 0; i < M; i++ {
			for j := 0; j < N; j++ {
				var ref float64
				for k := 0; k < K; k++ {
					bv := b[k*N+j]
					if bt == 1 {
						bv = b[j*K+k]
					}
					ref += float64(a[i*K+k]) * float64(bv)
				}
				// K = 32 fp32 products of |x| <= 1: error well under 32 * 2^-24 * 32
				assert.InDelta(t, ref, floats(C)[i*N+j], 1e-4, "bt=%d C[%d,%d]", bt, i, j)
			}
		}
	}
}

func TestTemplateInstantiations(t *testing.T) {
	d := openWith(t, "kernels.metal")
	f, i := newBuf(t, d, 4*32), newBuf(t, d, 4*32)
	for k := 0; k < 32; k++ {
		floats(f)[k] = float32(k) + 0.25
		uints(i)[k] = uint32(int32(k - 5))
	}
	require.NoError(t, dispatch(t, d, "scale_f2", sz(1, 1, 1), sz(32, 1, 1), nil, driver.Arg{Buffer: f}))
	require.NoError(t, dispatch(t, d, "scale_i3", sz(2, 1, 1), sz(16, 1, 1), nil, driver.Arg{Buffer: i}))
	for k := 0; k < 32; k++ {
		assert.Equal(t, (float32(k)+0.25)*2+1, floats(f)[k])
		assert.Equal(t, int32(k-5)*3+1, int32(uints(i)[k]))
	}
	_, err := d.Pipeline("scale_k")
	assert.ErrorContains(t, err, `no kernel function "scale_k"`, "a template itself is not a kernel function")
}

func TestVectorsAndSwizzles(t *testing.T) {
	d := openWith(t, "kernels.metal")
	const n = 8
	in, o := newBuf(t, d, 16*n), newBuf(t, d, 32*n)
	v := floats(in)
	for i := range v {
		v[i] = float32(i%7)*0.5 - 1
	}
	require.NoError(t, dispatch(t, d, "swizzle", sz(1, 1, 1), sz(n, 1, 1), nil, driver.Arg{Buffer: in}, driver.Arg{Buffer: o}))
	out := floats(o)
	for i := 0; i < n; i++ {
		x, y, z, w := v[4*i], v[4*i+1], v[4*i+2], v[4*i+3]
		r := []float32{w*2 + x, z*2 + x, y*2 + y, x*2 + y}
		r[0] += x*z + y*w
		r[1] += x*x + y*y + z*z
		assert.Equal(t, r, out[8*i:8*i+4], "r %d", i)
		sx, sy := max(x, 0.5), max(y, 0.5)
		if x > z {
			sx = -1
		}
		if y > w {
			sy = -1
		}
		want := []float32{sx, sy, float32(math.Exp(float64(z))), float32(math.FMA(float64(x), float64(y), float64(w)))}
		got := out[8*i+4 : 8*i+8]
		assert.Equal(t, want[:2], got[:2], "select %d", i)
		assert.InEpsilon(t, want[2], got[2], 1e-6, "exp %d (libm expf is within 1 ulp)", i)
		assert.Equal(t, want[3], got[3], "fma %d (exact in float64, one rounding)", i)
	}
}

func TestAtomics(t *testing.T) {
	d := openWith(t, "kernels.metal")
	const n = 4096
	in, bins := newBuf(t, d, n), newBuf(t, d, 4*16)
	data := unsafe.Slice((*byte)(in.Contents()), n)
	want := make([]uint32, 16)
	for i := range data {
		data[i] = byte(i * 7 / 3)
		want[data[i]%16]++
	}
	require.NoError(t, dispatch(t, d, "histogram", sz(n/64, 1, 1), sz(64, 1, 1), nil, driver.Arg{Buffer: in}, driver.Arg{Buffer: bins}))
	assert.Equal(t, want, uints(bins))
}

// TestCommandBufferOrder checks that dispatches of one command buffer run in
// order, each seeing the writes of the previous ones.
func TestCommandBufferOrder(t *testing.T) {
	d := openWith(t, "kernels.metal")
	f := newBuf(t, d, 4*64)
	p, err := d.Pipeline("scale_f2")
	require.NoError(t, err)
	cb, err := d.NewCommandBuffer()
	require.NoError(t, err)
	for k := 0; k < 5; k++ {
		cb.Encode(&driver.Dispatch{Pipeline: p, Args: []driver.Arg{{Buffer: f}}, Threadgroups: sz(2, 1, 1), Threads: sz(32, 1, 1)})
	}
	cb.Commit()
	require.NoError(t, cb.Wait())
	assert.GreaterOrEqual(t, cb.GPUTime(), 0.0)
	for _, v := range floats(f) {
		assert.Equal(t, float32(31), v, "x -> 2x+1 five times from 0")
	}
}

func TestMaxTotalThreadsAttribute(t *testing.T) {
	d := openWith(t, "kernels.metal")
	p, err := d.Pipeline("limited")
	require.NoError(t, err)
	assert.Equal(t, 64, p.MaxTotalThreadsPerThreadgroup())
	o := newBuf(t, d, 4*128)
	v := driver.Arg{Bytes: words(math.Float32bits(2))}
	require.NoError(t, dispatch(t, d, "limited", sz(2, 1, 1), sz(64, 1, 1), nil, driver.Arg{Buffer: o}, v))
	for i, x := range floats(o) {
		require.Equal(t, float32(3.5), x, "i=%d", i)
	}
	err = dispatch(t, d, "limited", sz(1, 1, 1), sz(128, 1, 1), nil, driver.Arg{Buffer: o}, v)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "128 threads per threadgroup")
}

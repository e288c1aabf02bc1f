package emu

import (
	"math"
	"os"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ingotml/ingot/metal/driver"
)

// benchDispatch runs one dispatch per iteration and reports thread
// throughput (emulated GPU threads per second).
func benchDispatch(b *testing.B, d *Driver, name string, groups, threads driver.Size, tg []int, args ...driver.Arg) {
	p, err := d.Pipeline(name)
	require.NoError(b, err)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cb, err := d.NewCommandBuffer()
		require.NoError(b, err)
		cb.Encode(&driver.Dispatch{Pipeline: p, Args: args, ThreadgroupMemory: tg, Threadgroups: groups, Threads: threads})
		cb.Commit()
		require.NoError(b, cb.Wait())
	}
	n := groups.X * groups.Y * groups.Z * threads.X * threads.Y * threads.Z
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mthreads/s")
}

func openBench(b *testing.B) *Driver {
	d, err := Open()
	require.NoError(b, err)
	src, err := os.ReadFile("testdata/kernels.metal")
	require.NoError(b, err)
	require.NoError(b, d.Compile([]driver.Source{{Name: "kernels.metal", Text: string(src)}}))
	return d.(*Driver)
}

func lockThread(b *testing.B) {
	runtime.LockOSThread()
	b.Cleanup(runtime.UnlockOSThread)
}

// BenchmarkVecAdd: no synchronisation, one fiber switch per thread.
func BenchmarkVecAdd(b *testing.B) {
	lockThread(b)
	d := openBench(b)
	const n = 1 << 20
	x, _ := d.NewBuffer(4 * n)
	o, _ := d.NewBuffer(4 * n)
	benchDispatch(b, d, "vec_add", sz(n/256, 1, 1), sz(256, 1, 1), nil,
		driver.Arg{Buffer: x}, driver.Arg{Buffer: x}, driver.Arg{Buffer: o}, driver.Arg{Bytes: words(n, math.Float32bits(1))})
}

// BenchmarkReduce: 10 threadgroup barriers per thread.
func BenchmarkReduce(b *testing.B) {
	lockThread(b)
	d := openBench(b)
	const groups, n = 256, 256
	in, _ := d.NewBuffer(4 * groups * n)
	o, _ := d.NewBuffer(4 * groups)
	benchDispatch(b, d, "reduce_sum", sz(groups, 1, 1), sz(n, 1, 1), []int{4 * n}, driver.Arg{Buffer: in}, driver.Arg{Buffer: o})
}

// BenchmarkSIMD: 8 SIMD collectives per thread.
func BenchmarkSIMD(b *testing.B) {
	lockThread(b)
	d := openBench(b)
	const n = 1 << 16
	in, _ := d.NewBuffer(4 * n)
	o, _ := d.NewBuffer(4 * 8 * n)
	benchDispatch(b, d, "simd_ops", sz(n/256, 1, 1), sz(256, 1, 1), nil, driver.Arg{Buffer: in}, driver.Arg{Buffer: o})
}

// BenchmarkGemm128: the tiled simdgroup-matrix GEMM of testdata/gemm.metal
// on 128 x 128 x 128 (each lane computes its SIMD group's fragments
// redundantly, as the emulator allows).
func BenchmarkGemm128(b *testing.B) {
	lockThread(b)
	d, err := Open()
	require.NoError(b, err)
	src, err := os.ReadFile("testdata/gemm.metal")
	require.NoError(b, err)
	require.NoError(b, d.Compile([]driver.Source{{Name: "gemm.metal", Text: string(src)}}))
	const n = 128
	x, _ := d.NewBuffer(4 * n * n)
	o, _ := d.NewBuffer(4 * n * n)
	benchDispatch(b, d.(*Driver), "gemm_64x64", sz(n/64, n/64, 1), sz(128, 1, 1), nil,
		driver.Arg{Buffer: x}, driver.Arg{Buffer: x}, driver.Arg{Buffer: o}, driver.Arg{Bytes: words(n, n, n)})
	b.ReportMetric(2*n*n*n*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

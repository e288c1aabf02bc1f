package emu

import (
	"math"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ingotml/ingot/metal/driver"
)

// Each test here runs a deliberately broken kernel or misuses the driver,
// and checks that the emulator catches it.

func TestMissingBarrierReadsPoison(t *testing.T) {
	d := openWith(t, "broken.metal")
	o := newBuf(t, d, 4*128)
	require.NoError(t, dispatch(t, d, "missing_barrier", sz(2, 1, 1), sz(64, 1, 1), nil, driver.Arg{Buffer: o}))
	nan := [2]int{}
	for i, v := range floats(o) {
		if math.IsNaN(float64(v)) {
			nan[i/64]++
		}
	}
	// Group 0 runs its threads in order: thread i finishes before thread i+1
	// writes its slot, so all but the last thread (which reads slot 0) read
	// poison. Group 1 runs them in reverse: only thread 63, the first to run,
	// reads an unwritten slot (0).
	assert.Equal(t, [2]int{63, 1}, nan, "threads reading unwritten threadgroup memory see NaN poison")
}

func TestPartialBarrierIsAnError(t *testing.T) {
	d := openWith(t, "broken.metal")
	o := newBuf(t, d, 4*64)
	err := dispatch(t, d, "partial_barrier", sz(2, 1, 1), sz(64, 1, 1), nil, driver.Arg{Buffer: o})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "threadgroup_barrier at broken.metal:20 reached by 16 of 64 threads")
	assert.Contains(t, err.Error(), "kernel partial_barrier")
}

func TestDivergentBarrierIsAnError(t *testing.T) {
	d := openWith(t, "broken.metal")
	o := newBuf(t, d, 4*64)
	err := dispatch(t, d, "divergent_barrier", sz(1, 1, 1), sz(64, 1, 1), nil, driver.Arg{Buffer: o})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "threadgroup_barrier reached at different call sites")
	assert.Contains(t, err.Error(), "broken.metal:29")
	assert.Contains(t, err.Error(), "broken.metal:31")
}

func TestInactiveLaneReadsNaN(t *testing.T) {
	d := openWith(t, "broken.metal")
	o := newBuf(t, d, 4*32)
	require.NoError(t, dispatch(t, d, "inactive_lane", sz(1, 1, 1), sz(32, 1, 1), nil, driver.Arg{Buffer: o}))
	for l, v := range floats(o) {
		if l%2 == 0 && l < 31 {
			assert.True(t, math.IsNaN(float64(v)), "lane %d read inactive lane %d: %v", l, l+1, v)
		} else {
			assert.Zero(t, v, "lane %d returned early and wrote nothing", l)
		}
	}
}

func TestThreadgroupMemoryLimit(t *testing.T) {
	d := openWith(t, "broken.metal", "kernels.metal")
	o := newBuf(t, d, 4*64)
	err := dispatch(t, d, "tg_too_big", sz(1, 1, 1), sz(64, 1, 1), nil, driver.Arg{Buffer: o})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "threadgroup variable 'big' (36000 bytes)")
	assert.Contains(t, err.Error(), "32768-byte limit")

	in := newBuf(t, d, 4*64)
	err = dispatch(t, d, "reduce_sum", sz(1, 1, 1), sz(64, 1, 1), []int{32768},
		driver.Arg{Buffer: in}, driver.Arg{Buffer: o})
	require.Error(t, err, "32768 dynamic bytes plus the static quarter[4]")
	assert.Contains(t, err.Error(), "limit")
}

func TestInvalidDispatches(t *testing.T) {
	d := openWith(t, "kernels.metal")
	a := newBuf(t, d, 4*64)
	args := []driver.Arg{{Buffer: a}, {Buffer: a}, {Buffer: a}, {Bytes: words(64, 0)}}
	cases := []struct {
		name            string
		groups, threads driver.Size
		tg              []int
		args            []driver.Arg
		want            string
	}{
		{"zero groups", sz(0, 1, 1), sz(32, 1, 1), nil, args, "zero-size dispatch"},
		{"zero threads", sz(1, 1, 1), sz(32, 0, 1), nil, args, "zero-size dispatch"},
		{"1025 threads", sz(1, 1, 1), sz(1025, 1, 1), nil, args, "1025 threads per threadgroup"},
		{"unbound buffer", sz(1, 1, 1), sz(32, 1, 1), nil, args[:2], "[[buffer(2)]] is not bound"},
		{"short constant", sz(1, 1, 1), sz(32, 1, 1), nil, []driver.Arg{args[0], args[1], args[2], {Bytes: words(64)}}, "reference to 8 bytes, but only 4 are bound"},
		{"bad offset", sz(1, 1, 1), sz(32, 1, 1), nil, []driver.Arg{{Buffer: a, Offset: 300}, args[1], args[2], args[3]}, "offset 300 outside"},
		{"too many bytes", sz(1, 1, 1), sz(32, 1, 1), nil, []driver.Arg{args[0], args[1], args[2], {Bytes: make([]byte, 4097)}}, "4096-byte setBytes limit"},
	}
	// no t.Run: subtests run on other goroutines, the driver belongs to this thread
	for _, c := range cases {
		err := dispatch(t, d, "vec_add", c.groups, c.threads, c.tg, c.args...)
		if assert.Error(t, err, c.name) {
			assert.Contains(t, err.Error(), c.want, c.name)
		}
	}
}

func TestUseAfterFree(t *testing.T) {
	d := openWith(t, "kernels.metal")
	b, err := d.NewBuffer(4 * 32)
	require.NoError(t, err)
	f := floats(b)
	for i := range f {
		f[i] = 1
	}
	b.Release()
	for i, v := range f {
		require.True(t, math.IsNaN(float64(v)), "freed buffer element %d reads %v, want NaN poison", i, v)
	}
	// a kernel using the released buffer is an error, too
	err = dispatch(t, d, "scale_f2", sz(1, 1, 1), sz(32, 1, 1), nil, driver.Arg{Buffer: b})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "released (use after free)")
}

// TestCommitIsAsynchronous shows that committed work runs on another thread:
// the kernel spins until the host, after Commit, sets a flag. A synchronous
// Commit would spin out and write 2 instead of 1.
func TestCommitIsAsynchronous(t *testing.T) {
	d := openWith(t, "kernels.metal")
	flag, out := newBuf(t, d, 4), newBuf(t, d, 4)
	p, err := d.Pipeline("wait_flag")
	require.NoError(t, err)
	cb, err := d.NewCommandBuffer()
	require.NoError(t, err)
	cb.Encode(&driver.Dispatch{Pipeline: p, Args: []driver.Arg{{Buffer: flag}, {Buffer: out}}, Threadgroups: sz(1, 1, 1), Threads: sz(1, 1, 1)})
	cb.Commit()
	assert.Zero(t, uints(out)[0], "the kernel cannot have finished: it waits for the host")
	storeUint32(&uints(flag)[0], 1)
	require.NoError(t, cb.Wait())
	assert.Equal(t, uint32(1), uints(out)[0], "after Wait the kernel's write is visible")
}

func TestWrongThread(t *testing.T) {
	d := openWith(t, "kernels.metal")
	errc := make(chan error)
	go func() {
		runtime.LockOSThread() // a different OS thread from the test's
		defer runtime.UnlockOSThread()
		_, err := d.NewBuffer(16)
		errc <- err
	}()
	err := <-errc
	require.Error(t, err)
	assert.Contains(t, err.Error(), "called from OS thread")
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		d.PushPool() // no error result: reported by the next call
		errc <- nil
	}()
	<-errc
	_, err = d.NewCommandBuffer()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "PushPool called from OS thread")
	_, err = d.NewCommandBuffer()
	require.NoError(t, err, "the misuse is reported once")
}

func TestCompileErrorNamesFileAndLine(t *testing.T) {
	d := openLocked(t)
	src := "#include <metal_stdlib>\nusing namespace metal;\n\nkernel void k(device float* x [[buffer(0)]]) {\n    x[0] = undefined_name;\n}\n"
	err := d.Compile([]driver.Source{{Name: "bad.metal", Text: src}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "bad.metal:5:")
	assert.Contains(t, err.Error(), "undefined_name")
}

func TestRejectsWhatMetalRejects(t *testing.T) {
	d := openLocked(t)
	head := "#include <metal_stdlib>\nusing namespace metal;\n"
	cases := []struct{ name, body, want string }{
		{"double", "kernel void k(device float* x [[buffer(0)]]) {\n  double y = 1;\n  x[0] = y;\n}\n", "a.metal:4: double is not supported"},
		{"no address space", "kernel void k(float* x [[buffer(0)]]) {\n  x[0] = 1;\n}\n", "a.metal:3: kernel k: pointer or reference parameter x needs the device, constant or threadgroup address space"},
		{"thread pointer", "kernel void k(thread float* x [[buffer(0)]]) {\n}\n", "needs the device, constant or threadgroup address space"},
		{"recursion", "float f(float x) { return x > 1 ? g(x - 1) : x; }\nfloat g(float x) { return f(x / 2); }\nkernel void k(device float* x [[buffer(0)]]) { x[0] = f(x[0]); }\n", "recursion is not supported by Metal"},
		{"non-void kernel", "kernel float k(device float* x [[buffer(0)]]) {\n  return x[0];\n}\n", "kernel k must return void"},
		{"no attribute", "kernel void k(device float* x) {\n}\n", "parameter x has no attribute"},
	}
	for _, c := range cases { // no t.Run: the driver belongs to this thread
		err := d.Compile([]driver.Source{{Name: "a.metal", Text: head + c.body}})
		if assert.Error(t, err, c.name) {
			assert.Contains(t, err.Error(), c.want, c.name)
		}
	}
}

// TestASanFindsOutOfBoundsRead runs the oob_read kernel in a child process
// built with INGOT_EMU_ASAN=1 and libasan preloaded, and expects
// AddressSanitizer's report.
func TestASanFindsOutOfBoundsRead(t *testing.T) {
	if k := os.Getenv("INGOT_EMU_ASAN_CHILD"); k != "" {
		asanChild(t, k)
		return
	}
	lib := ASanPreload()
	if lib == "" {
		t.Skip("libasan.so not found by the C++ compiler (" + compilerName() + " -print-file-name=libasan.so); on Debian it comes with g++ (libasan8)")
	}
	for _, c := range []struct{ kernel, want string }{
		{"oob_read", "heap-buffer-overflow"},
		{"tg_oob", "use-after-poison"}, // past a threadgroup array
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestASanFindsOutOfBoundsRead$", "-test.count=1")
		cmd.Env = append(os.Environ(), "INGOT_EMU_ASAN_CHILD="+c.kernel, "INGOT_EMU_ASAN=1", "LD_PRELOAD="+lib,
			"ASAN_OPTIONS=detect_leaks=0")
		out, err := cmd.CombinedOutput()
		require.Error(t, err, "the child must die with an ASan report:\n%s", out)
		s := string(out)
		assert.True(t, strings.Contains(s, c.want), "%s: ASan report missing:\n%s", c.kernel, s)
		assert.Contains(t, s, c.kernel+"(", "the report names the kernel")
		assert.Contains(t, s, "broken.metal:", "the report names the source line")
	}
}

func compilerName() string {
	if tc, err := findToolchain(); err == nil {
		return tc.cxx
	}
	return "c++"
}

func asanChild(t *testing.T, kernel string) {
	d := openWith(t, "broken.metal")
	in, out := newBuf(t, d, 4*32), newBuf(t, d, 4*32)
	var err error
	switch kernel {
	case "oob_read": // n = 1: thread 31 reads in[32], one float past the end
		err = dispatch(t, d, "oob_read", sz(1, 1, 1), sz(32, 1, 1), nil, driver.Arg{Buffer: in}, driver.Arg{Buffer: out}, driver.Arg{Bytes: words(1)})
	case "tg_oob": // thread 31 reads s[32]
		err = dispatch(t, d, "tg_oob", sz(1, 1, 1), sz(32, 1, 1), nil, driver.Arg{Buffer: out})
	}
	t.Fatalf("ASan did not stop the out-of-bounds read of %s (err=%v)", kernel, err)
}

// TestUninitialisedVariableIsGarbage: thread-private variables start as a
// fixed garbage pattern (0xfe bytes, about -1.7e38 as float), not as
// whatever a previous thread left on the stack.
func TestUninitialisedVariableIsGarbage(t *testing.T) {
	d := openWith(t, "broken.metal")
	in, o := newBuf(t, d, 4*4*32), newBuf(t, d, 4*32)
	for i := range floats(in) {
		floats(in)[i] = 1
	}
	require.NoError(t, dispatch(t, d, "uninit_acc", sz(1, 1, 1), sz(32, 1, 1), nil, driver.Arg{Buffer: in}, driver.Arg{Buffer: o}))
	for i, v := range floats(o) {
		assert.Less(t, v, float32(-1e37), "thread %d: uninitialised acc + 4 should stay garbage", i)
	}
}

// TestReleaseOrCloseWhileRunning: releasing a buffer or closing the driver
// while committed work still runs is an error.
func TestReleaseOrCloseWhileRunning(t *testing.T) {
	d := openWith(t, "kernels.metal")
	flag := newBuf(t, d, 4)
	out, err := d.NewBuffer(4)
	require.NoError(t, err)
	p, err := d.Pipeline("wait_flag")
	require.NoError(t, err)
	cb, err := d.NewCommandBuffer()
	require.NoError(t, err)
	cb.Encode(&driver.Dispatch{Pipeline: p, Args: []driver.Arg{{Buffer: flag}, {Buffer: out}}, Threadgroups: sz(1, 1, 1), Threads: sz(1, 1, 1)})
	cb.Commit()
	err = d.Close()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Close while 1 committed command buffers are still running")
	out.Release() // the kernel cannot have finished: it waits for the flag
	storeUint32(&uints(flag)[0], 1)
	err = cb.Wait() // waits, then reports the misuse
	require.Error(t, err)
	assert.Contains(t, err.Error(), "buffer released while committed work still uses it")
	require.NoError(t, d.Close(), "nothing runs any more")
}

// TestHungKernelTimesOut: a kernel that does not finish makes Wait fail
// after INGOT_EMU_TIMEOUT seconds instead of hanging the test.
func TestHungKernelTimesOut(t *testing.T) {
	t.Setenv("INGOT_EMU_TIMEOUT", "0.2")
	d := openWith(t, "kernels.metal")
	flag, out := newBuf(t, d, 4), newBuf(t, d, 4)
	p, err := d.Pipeline("wait_flag")
	require.NoError(t, err)
	cb, err := d.NewCommandBuffer()
	require.NoError(t, err)
	cb.Encode(&driver.Dispatch{Pipeline: p, Args: []driver.Arg{{Buffer: flag}, {Buffer: out}}, Threadgroups: sz(1, 1, 1), Threads: sz(1, 1, 1)})
	cb.Commit()
	err = cb.Wait()
	require.Error(t, err)
	// (under heavy load the GPU thread may not even have started it)
	assert.Contains(t, err.Error(), "command buffer still running after 0.2 s")
	storeUint32(&uints(flag)[0], 1) // let it finish
	for d.Close() != nil {
		time.Sleep(10 * time.Millisecond)
	}
	assert.Equal(t, uint32(1), uints(out)[0])
}

// TestSimdgroupBarrierDoesNotSyncTheGroup: SIMD groups run one after the
// other up to a threadgroup barrier, so reading another SIMD group's data
// after only a simdgroup_barrier sees poison.
func TestSimdgroupBarrierDoesNotSyncTheGroup(t *testing.T) {
	d := openWith(t, "broken.metal")
	o := newBuf(t, d, 4*64)
	require.NoError(t, dispatch(t, d, "simd_barrier_only", sz(1, 1, 1), sz(64, 1, 1), nil, driver.Arg{Buffer: o}))
	for i, v := range floats(o) {
		if i < 32 {
			assert.True(t, math.IsNaN(float64(v)), "thread %d of the first SIMD group read the second's slot before it was written: %v", i, v)
		} else {
			assert.Equal(t, float32(i-32), v, "thread %d: the first SIMD group had written its slot", i)
		}
	}
}

// TestOutOfBoundsFaultIsAnError: buffers end at an inaccessible page, so a
// kernel reading past the end faults; the fault ends the dispatch with an
// error naming the kernel instead of killing the process.
func TestOutOfBoundsFaultIsAnError(t *testing.T) {
	if os.Getenv("INGOT_EMU_ASAN") == "1" {
		t.Skip("under ASan the allocator's redzones report it (TestASanFindsOutOfBoundsRead)")
	}
	d := openWith(t, "broken.metal")
	in, out := newBuf(t, d, 4*32), newBuf(t, d, 4*32)
	err := dispatch(t, d, "oob_read", sz(1, 1, 1), sz(32, 1, 1), nil, driver.Arg{Buffer: in}, driver.Arg{Buffer: out}, driver.Arg{Bytes: words(1)})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "kernel oob_read")
	assert.Contains(t, err.Error(), "thread 31: memory fault (SIGSEGV)")
	// the emulator still works afterwards
	require.NoError(t, dispatch(t, d, "oob_read", sz(1, 1, 1), sz(32, 1, 1), nil, driver.Arg{Buffer: in}, driver.Arg{Buffer: out}, driver.Arg{Bytes: words(0)}))
	// integer division by zero (SIGFPE on x86-64) is an error too
	err = dispatch(t, d, "div_zero", sz(1, 1, 1), sz(4, 1, 1), nil, driver.Arg{Buffer: out}, driver.Arg{Bytes: words(0)})
	if runtime.GOARCH == "amd64" {
		require.Error(t, err)
		assert.Contains(t, err.Error(), "kernel div_zero")
		assert.Contains(t, err.Error(), "integer division by zero")
	}
	// and Go's own faults are still Go panics
	var p *int
	assert.Panics(t, func() { _ = *p }, "a nil dereference in Go still panics")
	zero := 0
	assert.Panics(t, func() { _ = 7 / zero }, "an integer division by zero in Go still panics")
}

// TestAPIMisuse: the driver reports misuse of its API as errors.
func TestAPIMisuse(t *testing.T) {
	d := openLocked(t)
	_, err := d.Pipeline("vec_add")
	assert.ErrorContains(t, err, "Pipeline before Compile")
	_, err = d.NewBuffer(0)
	assert.ErrorContains(t, err, "size must be positive")
	require.NoError(t, d.Compile([]driver.Source{readSource(t, "kernels.metal")}))
	_, err = d.Pipeline("no_such_kernel")
	assert.ErrorContains(t, err, `no kernel function "no_such_kernel"`)
	p, err := d.Pipeline("scale_f2")
	require.NoError(t, err)
	b := newBuf(t, d, 4*32)
	disp := &driver.Dispatch{Pipeline: p, Args: []driver.Arg{{Buffer: b}}, Threadgroups: sz(1, 1, 1), Threads: sz(32, 1, 1)}

	cb, err := d.NewCommandBuffer()
	require.NoError(t, err)
	assert.ErrorContains(t, cb.Wait(), "Wait before Commit")
	cb.Encode(disp)
	cb.Commit()
	cb.Encode(disp)
	assert.ErrorContains(t, cb.Wait(), "Encode after Commit")

	cb, err = d.NewCommandBuffer()
	require.NoError(t, err)
	cb.Encode(nil)
	cb.Commit()
	assert.ErrorContains(t, cb.Wait(), "Encode(nil)")

	cb, err = d.NewCommandBuffer()
	require.NoError(t, err)
	cb.Encode(disp)
	cb.Commit()
	require.NoError(t, cb.Wait())
	cb.Commit()
	assert.ErrorContains(t, cb.Wait(), "committed twice")

	other, err := d.NewBuffer(16)
	require.NoError(t, err)
	other.Release()
	other.Release()
	_, err = d.NewCommandBuffer()
	assert.ErrorContains(t, err, "buffer released twice")

	d.PopPool(d.PushPool() + 1)
	_, err = d.NewCommandBuffer()
	assert.ErrorContains(t, err, "PopPool")

	d2 := openLocked(t)
	cb, err = d2.NewCommandBuffer()
	require.NoError(t, err)
	cb.Encode(disp) // d's pipeline and buffer on d2
	cb.Commit()
	assert.ErrorContains(t, cb.Wait(), "buffer(0) is not a buffer of this driver")
}

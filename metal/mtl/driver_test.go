package mtl

import (
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ingotml/ingot/metal/driver"
)

const kernelsSrc = `#include <metal_stdlib>
using namespace metal;
kernel void add(device float *a [[buffer(0)]], device const float *b [[buffer(1)]],
                uint i [[thread_position_in_grid]]) { a[i] += b[i]; }
kernel void scale(device float *a [[buffer(0)]], constant float &s [[buffer(1)]],
                  uint i [[thread_position_in_grid]]) { a[i] *= s; }
`

const otherSrc = `#include <metal_stdlib>
using namespace metal;
kernel void fill(device float *a [[buffer(0)]], uint i [[thread_position_in_grid]]) { a[i] = 1; }
kernel void bad_pipeline(device float *a [[buffer(0)]]) {}
`

func open(t *testing.T, f *fake) *device {
	t.Helper()
	d, err := openWith(f.sends())
	require.NoError(t, err)
	require.NotNil(t, d)
	return d
}

// clean checks that the fake saw no problem, that nothing is left alive and
// that every pool was popped.
func clean(t *testing.T, f *fake) {
	t.Helper()
	require.Empty(t, f.problems, "problems the Objective-C runtime or Metal would hit")
	require.Empty(t, f.leaks(), "objects never released")
	require.Empty(t, f.pools, "pools never popped")
	require.Equal(t, len(f.pushes), len(f.pops), "pool pushes and pops")
}

func compiled(t *testing.T, f *fake) *device {
	t.Helper()
	d := open(t, f)
	require.NoError(t, d.Compile([]driver.Source{{Name: "kernels.metal", Text: kernelsSrc}, {Name: "other.metal", Text: otherSrc}}))
	return d
}

func TestOpenReadsInfo(t *testing.T) {
	f := newFake(t)
	d := open(t, f)
	assert.Equal(t, driver.Info{
		Name:                     "Apple M2 (fake)",
		Family:                   "Apple8",
		UnifiedMemory:            true,
		MaxThreadgroupMemory:     32768,
		MaxThreadsPerThreadgroup: 1024,
		LanguageVersion:          "3.0",
	}, d.Info())
	require.NoError(t, d.Close())
	require.NoError(t, d.Close(), "a second Close is a no-op")
	clean(t, f)
	assert.Equal(t, 1, f.count("MTLCommandQueue"), "one command queue per driver")
}

func TestOpenFallsBackToAllDevices(t *testing.T) {
	f := newFake(t)
	f.noDefaultDevice = true
	f.allDevices = 2
	d := open(t, f)
	assert.Equal(t, "Apple8", d.Info().Family)
	assert.Equal(t, 2, f.count("MTLDevice"))
	require.NoError(t, d.Close())
	clean(t, f)
}

func TestOpenFailsWithReason(t *testing.T) {
	cases := []struct {
		name  string
		setup func(*fake)
		want  []string
	}{
		{"Apple6 GPU", func(f *fake) { f.family = 6 }, []string{"Apple6", "Apple7", "CPU device"}},
		{"Intel Mac", func(f *fake) { f.family = 0 }, []string{"Mac2", "Apple7"}},
		{"no device", func(f *fake) { f.noDefaultDevice, f.allDevices = true, 0 }, []string{"no Metal device"}},
		{"frameworks missing", func(f *fake) { f.loadErr = fmt.Errorf("loading Metal.framework: not found") }, []string{"unavailable", "Metal.framework"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t)
			c.setup(f)
			d, err := openWith(f.sends())
			require.Error(t, err)
			require.Nil(t, d)
			for _, w := range c.want {
				assert.Contains(t, err.Error(), w)
			}
			clean(t, f)
		})
	}
}

func TestCompileSetsLanguageVersionAndSafeMath(t *testing.T) {
	cases := []struct {
		name          string
		hasMathMode   bool
		wantMathMode  uint64
		wantFastMath  uint64
		mathModeTrace bool
	}{
		{"macOS 15 setMathMode:", true, mathModeSafe, 1, true},
		{"older setFastMathEnabled:", false, 2, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t)
			f.respondsMathMode = c.hasMathMode
			d := compiled(t, f)
			require.Len(t, d.libs, 1)
			lib := f.objs[d.libs[0]]
			assert.Equal(t, uint64(languageVersion3_0), lib.nums["languageVersion"])
			assert.Equal(t, c.wantMathMode, lib.nums["mathMode"])
			assert.Equal(t, c.wantFastMath, lib.nums["fastMathEnabled"])
			assert.Equal(t, c.mathModeTrace, contains(f.trace, "MTLCompileOptions.setMathMode:"))
			assert.True(t, contains(f.trace, "MTLCompileOptions.languageVersion"), "language version read back")
			require.NoError(t, d.Close())
			clean(t, f)
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestCompileErrorNamesFileAndCompilerMessage(t *testing.T) {
	f := newFake(t)
	d := open(t, f)
	broken := "#include <metal_stdlib>\nusing namespace metal;\nkernel void k(device float *a [[buffer(0)]]) { a[0] = COMPILE_ERROR; }\n"
	err := d.Compile([]driver.Source{{Name: "kernels.metal", Text: kernelsSrc}, {Name: "broken.metal", Text: broken}})
	require.Error(t, err)
	// Line 3 of broken.metal, column of the identifier: the #line directive
	// maps the concatenated source back to the file.
	assert.Contains(t, err.Error(), "broken.metal:3:")
	assert.Contains(t, err.Error(), "use of undeclared identifier 'COMPILE_ERROR'")
	assert.True(t, strings.HasPrefix(err.Error(), "mtl: compiling broken.metal: "), err.Error())
	assert.Empty(t, d.libs)

	// A message naming no file blames every source.
	msg := "Compilation failed: internal error"
	f.compileMessage = &msg
	err = d.Compile([]driver.Source{{Name: "a.metal", Text: "COMPILE_ERROR"}, {Name: "b.metal", Text: "x"}})
	require.Error(t, err)
	assert.Equal(t, "mtl: compiling a.metal, b.metal: Compilation failed: internal error", err.Error())

	require.NoError(t, d.Close())
	clean(t, f)
}

func TestCompileRejects(t *testing.T) {
	cases := []struct {
		name    string
		setup   func(*fake)
		sources []driver.Source
		want    string
	}{
		{"no sources", nil, nil, "no sources"},
		{"NUL byte", nil, []driver.Source{{Name: "nul.metal", Text: "kernel\x00"}}, "nul.metal: the source contains a NUL byte at offset 6"},
		{"bad UTF-8", nil, []driver.Source{{Name: "utf.metal", Text: "\xff"}}, "utf.metal: the source is not valid UTF-8"},
		{"macOS 12", func(f *fake) { f.langVersionCap = languageVersion3_0 - 1 }, []driver.Source{{Name: "k.metal", Text: kernelsSrc}}, "Metal Shading Language 3.0 is not available (the compiler reports version 2.4): macOS 13 or later"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t)
			if c.setup != nil {
				c.setup(f)
			}
			d := open(t, f)
			err := d.Compile(c.sources)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			require.NoError(t, d.Close())
			clean(t, f)
		})
	}
}

func TestPipelines(t *testing.T) {
	f := newFake(t)
	f.staticTG = 2048
	d := open(t, f)
	_, err := d.Pipeline("add")
	require.ErrorContains(t, err, `Pipeline "add": nothing compiled yet`)
	require.NoError(t, d.Compile([]driver.Source{{Name: "kernels.metal", Text: kernelsSrc}, {Name: "other.metal", Text: otherSrc}}))

	p, err := d.Pipeline("add")
	require.NoError(t, err)
	assert.Equal(t, "add", p.Name())
	assert.Equal(t, 1024, p.MaxTotalThreadsPerThreadgroup())
	assert.Equal(t, 32, p.ThreadExecutionWidth())
	assert.Equal(t, 2048, p.StaticThreadgroupMemoryLength())
	again, err := d.Pipeline("add")
	require.NoError(t, err)
	assert.Same(t, p, again, "pipelines are cached")
	assert.Equal(t, 1, f.count("MTLComputePipelineState"))
	assert.Equal(t, 1, f.count("MTLFunction"), "the function is made once and released after the pipeline")

	// A second Compile adds a library; kernels of both are found.
	require.NoError(t, d.Compile([]driver.Source{{Name: "late.metal", Text: "kernel void late(device float *a [[buffer(0)]]) {}"}}))
	_, err = d.Pipeline("late")
	require.NoError(t, err)
	_, err = d.Pipeline("fill")
	require.NoError(t, err)

	_, err = d.Pipeline("missing")
	require.ErrorContains(t, err, `no kernel function "missing" in the compiled sources (kernels.metal, other.metal, late.metal)`)
	f.pipelineFails = "bad_pipeline"
	_, err = d.Pipeline("bad_pipeline")
	require.ErrorContains(t, err, `Pipeline "bad_pipeline": creating the compute pipeline failed: Compiler encountered an internal error`)

	require.NoError(t, d.Close())
	clean(t, f)
}

func TestBuffers(t *testing.T) {
	f := newFake(t)
	f.maxBufferLength = 1 << 20
	f.oomAbove = 1 << 19
	d := open(t, f)

	b, err := d.NewBuffer(1000)
	require.NoError(t, err)
	assert.Equal(t, 1000, b.Len())
	mem := f.objs[b.(*buffer).id].mem
	assert.Equal(t, &mem[0], (*byte)(b.Contents()), "Contents is the MTLBuffer's contents")
	b.Release()
	b.Release() // released once: the fake reports an over-release otherwise

	empty, err := d.NewBuffer(0)
	require.NoError(t, err)
	assert.Equal(t, 0, empty.Len())
	assert.NotNil(t, empty.Contents())
	empty.Release()

	_, err = d.NewBuffer(-1)
	require.ErrorContains(t, err, "negative size -1")
	_, err = d.NewBuffer(1<<20 + 1)
	require.ErrorContains(t, err, "more than the GPU's largest buffer (1048576 bytes)")
	_, err = d.NewBuffer(1<<19 + 1)
	require.ErrorContains(t, err, "could not allocate 524289 bytes (out of memory)")

	require.NoError(t, d.Close())
	clean(t, f)
}

// run encodes dispatches into one command buffer, commits and waits.
func run(t *testing.T, d *device, dsps ...*driver.Dispatch) (driver.CommandBuffer, error) {
	t.Helper()
	cb, err := d.NewCommandBuffer()
	require.NoError(t, err)
	for _, x := range dsps {
		cb.Encode(x)
	}
	cb.Commit()
	return cb, cb.Wait()
}

func TestDispatchArgumentsPassThrough(t *testing.T) {
	f := newFake(t)
	d := compiled(t, f)
	add, err := d.Pipeline("add")
	require.NoError(t, err)
	scale, err := d.Pipeline("scale")
	require.NoError(t, err)
	a, err := d.NewBuffer(256)
	require.NoError(t, err)
	b, err := d.NewBuffer(64)
	require.NoError(t, err)
	ida, idb := a.(*buffer).id, b.(*buffer).id

	pool := d.PushPool()
	cb, err := run(t, d,
		&driver.Dispatch{
			Pipeline:          add,
			Args:              []driver.Arg{{Buffer: a, Offset: 16}, {Bytes: []byte{1, 2, 3, 4, 5, 6, 7, 8}}, {Buffer: b}},
			ThreadgroupMemory: []int{32, 0, 64},
			Threadgroups:      driver.Size{X: 5, Y: 3, Z: 2},
			Threads:           driver.Size{X: 32, Y: 2, Z: 1},
		},
		&driver.Dispatch{
			Pipeline:     scale,
			Args:         []driver.Arg{{Buffer: b, Offset: 60}, {Bytes: make([]byte, 4096)}},
			Threadgroups: driver.Size{X: 1 << 20, Y: 1, Z: 1},
			Threads:      driver.Size{X: 1024, Y: 1, Z: 1},
		})
	require.NoError(t, err)
	d.PopPool(pool)
	assert.InDelta(t, 0.25, cb.GPUTime(), 1e-12, "GPUEndTime - GPUStartTime")

	require.Len(t, f.encoders, 1)
	assert.Equal(t, []string{
		"pipeline add",
		fmt.Sprintf("buffer %#x offset 16 index 0", ida),
		"bytes 0102030405060708 index 1",
		fmt.Sprintf("buffer %#x offset 0 index 2", idb),
		"threadgroup 32 index 0",
		"threadgroup 64 index 2",
		"dispatch {5 3 2} {32 2 1}",
		"pipeline scale",
		fmt.Sprintf("buffer %#x offset 60 index 0", idb),
		"bytes " + strings.Repeat("00", 4096) + " index 1",
		"dispatch {1048576 1 1} {1024 1 1}",
	}, f.encoders[0].cmds)

	// The command buffer's own calls, in order, after the dispatches.
	var cbCalls []string
	for _, c := range f.trace {
		if strings.HasPrefix(c, "MTLCommandBuffer.") || c == "MTLComputeCommandEncoder.endEncoding" {
			cbCalls = append(cbCalls, c)
		}
	}
	assert.Equal(t, []string{
		"MTLCommandBuffer.retain", "MTLCommandBuffer.computeCommandEncoder",
		"MTLComputeCommandEncoder.endEncoding", "MTLCommandBuffer.commit",
		"MTLCommandBuffer.waitUntilCompleted", "MTLCommandBuffer.status", "MTLCommandBuffer.error",
		"MTLCommandBuffer.GPUStartTime", "MTLCommandBuffer.GPUEndTime", "MTLCommandBuffer.release",
	}, cbCalls)

	a.Release()
	b.Release()
	require.NoError(t, d.Close())
	clean(t, f)
}

func TestGPUErrorBecomesGoError(t *testing.T) {
	const msg = "Execution of the command buffer was aborted due to an error during execution. Caused GPU Address Fault Error (0000000b:kIOGPUCommandBufferCallbackErrorPageFault)"
	cases := []struct {
		name       string
		gpuError   string
		statusOnly bool
		want       string
	}{
		{"status error with NSError", msg, false, "mtl: the GPU failed running 1 dispatch(es) (command buffer status error): " + msg},
		{"status error without NSError", "", true, "(command buffer status error): Metal gave no message"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t)
			f.gpuError, f.gpuStatusOnly = c.gpuError, c.statusOnly
			d := compiled(t, f)
			p, err := d.Pipeline("fill")
			require.NoError(t, err)
			buf, err := d.NewBuffer(64)
			require.NoError(t, err)
			cb, err := run(t, d, &driver.Dispatch{Pipeline: p, Args: []driver.Arg{{Buffer: buf}},
				Threadgroups: driver.Size{X: 1, Y: 1, Z: 1}, Threads: driver.Size{X: 16, Y: 1, Z: 1}})
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.Equal(t, err, cb.Wait(), "a second Wait returns the same error")
			buf.Release()
			require.NoError(t, d.Close())
			clean(t, f)
		})
	}
}

func TestEncodeValidation(t *testing.T) {
	f := newFake(t)
	f.staticTG = 1024
	d := compiled(t, f)
	p, err := d.Pipeline("fill")
	require.NoError(t, err)
	buf, err := d.NewBuffer(64)
	require.NoError(t, err)
	gone, err := d.NewBuffer(64)
	require.NoError(t, err)
	gone.Release()
	other := open(t, f)
	require.NoError(t, other.Compile([]driver.Source{{Name: "other.metal", Text: otherSrc}}))
	foreign, err := other.Pipeline("fill")
	require.NoError(t, err)

	one := driver.Size{X: 1, Y: 1, Z: 1}
	ok := func(mod func(*driver.Dispatch)) *driver.Dispatch {
		x := &driver.Dispatch{Pipeline: p, Args: []driver.Arg{{Buffer: buf}}, Threadgroups: one, Threads: driver.Size{X: 32, Y: 1, Z: 1}}
		mod(x)
		return x
	}
	cases := []struct {
		name string
		dsp  *driver.Dispatch
		want string
	}{
		{"setBytes over 4 KB", ok(func(x *driver.Dispatch) { x.Args = append(x.Args, driver.Arg{Bytes: make([]byte, 4097)}) }), "argument 1: 4097 inline bytes; Metal's setBytes allows at most 4096"},
		{"zero threadgroups", ok(func(x *driver.Dispatch) { x.Threadgroups.Y = 0 }), "threadgroups {1 0 1}: every dimension must be at least 1"},
		{"zero threads", ok(func(x *driver.Dispatch) { x.Threads.Z = 0 }), "threads per threadgroup {32 1 0}"},
		{"too many threads", ok(func(x *driver.Dispatch) { x.Threads = driver.Size{X: 64, Y: 32, Z: 1} }), "= 2048 exceeds the pipeline's limit of 1024"},
		{"threadgroup memory not multiple of 16", ok(func(x *driver.Dispatch) { x.ThreadgroupMemory = []int{16, 24} }), "threadgroup memory 1: length 24 must be a non-negative multiple of 16"},
		{"threadgroup memory too large", ok(func(x *driver.Dispatch) { x.ThreadgroupMemory = []int{32768} }), "threadgroup memory 33792 bytes (1024 static) exceeds the GPU's 32768"},
		{"released buffer", ok(func(x *driver.Dispatch) { x.Args[0].Buffer = gone }), "argument 0: the buffer was released"},
		{"offset outside", ok(func(x *driver.Dispatch) { x.Args[0].Offset = 65 }), "argument 0: offset 65 outside the 64-byte buffer"},
		{"negative offset", ok(func(x *driver.Dispatch) { x.Args[0].Offset = -4 }), "offset -4 outside"},
		{"buffer and bytes", ok(func(x *driver.Dispatch) { x.Args[0].Bytes = []byte{1} }), "argument 0 has both a buffer and bytes"},
		{"empty argument", ok(func(x *driver.Dispatch) { x.Args = append(x.Args, driver.Arg{}) }), "argument 1 has neither a buffer nor bytes"},
		{"too many arguments", ok(func(x *driver.Dispatch) { x.Args = make([]driver.Arg, 32) }), "32 arguments: Metal binds at most 31 buffers"},
		{"foreign pipeline", ok(func(x *driver.Dispatch) { x.Pipeline = foreign }), "is not from this driver"},
		{"nil dispatch", nil, "nil dispatch"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			commits := countOf(f.trace, "MTLCommandBuffer.commit")
			valid := ok(func(*driver.Dispatch) {})
			_, err := run(t, d, valid, c.dsp, valid)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "dispatch 1 (")
			assert.Contains(t, err.Error(), c.want)
			assert.Equal(t, commits, countOf(f.trace, "MTLCommandBuffer.commit"), "nothing committed after an invalid dispatch")
			enc := f.encoders[len(f.encoders)-1]
			assert.Len(t, enc.cmds, 3, "only the valid first dispatch was encoded")
		})
	}
	buf.Release()
	require.NoError(t, other.Close())
	require.NoError(t, d.Close())
	clean(t, f)
}

func countOf(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

func TestCommandBufferMisuse(t *testing.T) {
	f := newFake(t)
	d := compiled(t, f)
	p, err := d.Pipeline("fill")
	require.NoError(t, err)
	buf, err := d.NewBuffer(64)
	require.NoError(t, err)
	dsp := &driver.Dispatch{Pipeline: p, Args: []driver.Arg{{Buffer: buf}}, Threadgroups: driver.Size{X: 1, Y: 1, Z: 1}, Threads: driver.Size{X: 1, Y: 1, Z: 1}}

	cb, err := d.NewCommandBuffer()
	require.NoError(t, err)
	cb.Encode(dsp)
	require.ErrorContains(t, cb.Wait(), "Wait before Commit")

	cb, err = d.NewCommandBuffer()
	require.NoError(t, err)
	cb.Encode(dsp)
	cb.Commit()
	cb.Encode(dsp)
	cb.Commit()
	require.ErrorContains(t, cb.Wait(), "Encode after Commit")
	assert.Zero(t, 0, cb.GPUTime())

	buf.Release()
	require.NoError(t, d.Close())
	clean(t, f)
}

func TestWrongThread(t *testing.T) {
	f := newFake(t)
	d := compiled(t, f)
	p, err := d.Pipeline("fill")
	require.NoError(t, err)
	buf, err := d.NewBuffer(64)
	require.NoError(t, err)
	cb, err := d.NewCommandBuffer()
	require.NoError(t, err)

	home := f.thread
	f.thread = 0x7002
	_, err = d.Pipeline("add")
	require.ErrorContains(t, err, "mtl: Pipeline called on OS thread 0x7002, but the driver was opened on 0x7001")
	require.ErrorContains(t, d.Compile([]driver.Source{{Name: "x.metal", Text: "x"}}), "Compile called on OS thread")
	_, err = d.NewBuffer(4)
	require.ErrorContains(t, err, "NewBuffer called on OS thread")
	_, err = d.NewCommandBuffer()
	require.ErrorContains(t, err, "NewCommandBuffer called on OS thread")
	require.ErrorContains(t, d.Close(), "Close called on OS thread")
	assert.Panics(t, func() { d.PushPool() })
	assert.Equal(t, "Apple8", d.Info().Family, "Info is safe from any thread")

	cb.Encode(&driver.Dispatch{Pipeline: p, Args: []driver.Arg{{Buffer: buf}}, Threadgroups: driver.Size{X: 1, Y: 1, Z: 1}, Threads: driver.Size{X: 1, Y: 1, Z: 1}})
	cb.Commit()
	require.ErrorContains(t, cb.Wait(), "Wait called on OS thread")
	buf.Release() // allowed from any thread
	f.thread = home
	require.ErrorContains(t, cb.Wait(), "Encode called on OS thread 0x7002", "the first error is reported on the right thread")
	require.NoError(t, d.Close())
	clean(t, f)
}

func TestPoolsPairOnOneThread(t *testing.T) {
	f := newFake(t)
	d := compiled(t, f)
	p, err := d.Pipeline("fill")
	require.NoError(t, err)
	buf, err := d.NewBuffer(64)
	require.NoError(t, err)
	for range 3 {
		outer := d.PushPool()
		inner := d.PushPool()
		_, err := run(t, d, &driver.Dispatch{Pipeline: p, Args: []driver.Arg{{Buffer: buf}}, Threadgroups: driver.Size{X: 2, Y: 1, Z: 1}, Threads: driver.Size{X: 8, Y: 1, Z: 1}})
		require.NoError(t, err)
		d.PopPool(inner)
		d.PopPool(outer)
	}
	outer := d.PushPool()
	inner := d.PushPool()
	assert.PanicsWithValue(t, fmt.Sprintf("mtl: PopPool(%#x) out of order: the innermost pushed pool is %#x", uintptr(outer), uintptr(inner)),
		func() { d.PopPool(outer) })
	d.PopPool(inner)
	d.PopPool(outer)
	buf.Release()
	require.NoError(t, d.Close())
	clean(t, f)
	for i := range f.pushes {
		assert.Equal(t, uintptr(0x7001), f.pushes[i])
		assert.Equal(t, uintptr(0x7001), f.pops[i])
	}

	// Close with a pool still pushed is reported.
	f = newFake(t)
	d = open(t, f)
	pool := d.PushPool()
	require.ErrorContains(t, d.Close(), "Close with 1 autorelease pool(s) still pushed")
	f.sends().poolPop(uintptr(pool))
}

// TestStatusReadAfterEveryWait runs several command buffers, some failing,
// and checks in the trace that each waitUntilCompleted is followed by status
// and error before the command buffer is released.
func TestStatusReadAfterEveryWait(t *testing.T) {
	f := newFake(t)
	d := compiled(t, f)
	p, err := d.Pipeline("fill")
	require.NoError(t, err)
	buf, err := d.NewBuffer(64)
	require.NoError(t, err)
	dsp := &driver.Dispatch{Pipeline: p, Args: []driver.Arg{{Buffer: buf}}, Threadgroups: driver.Size{X: 1, Y: 1, Z: 1}, Threads: driver.Size{X: 1, Y: 1, Z: 1}}
	for i := range 4 {
		f.gpuError = ""
		if i%2 == 1 {
			f.gpuError = "fault"
		}
		_, err := run(t, d, dsp)
		assert.Equal(t, i%2 == 1, err != nil)
	}
	waits := 0
	for i, c := range f.trace {
		if c == "MTLCommandBuffer.waitUntilCompleted" {
			waits++
			require.Equal(t, []string{"MTLCommandBuffer.status", "MTLCommandBuffer.error"}, f.trace[i+1:i+3])
		}
	}
	assert.Equal(t, 4, waits)
	buf.Release()
	require.NoError(t, d.Close())
	clean(t, f)
}

// TestFakeCatchesMistakes shows that the checks above can fail: the fake
// reports an over-release, a leak, an autorelease without a pool, a pool
// popped on another thread, a wrong-arity send and a command buffer freed
// without its status read.
func TestFakeCatchesMistakes(t *testing.T) {
	f := newFake(t)
	s := f.sends()
	var sel selectors
	sel.register(s.sel)
	dev := s.createSystemDefaultDevice()
	s.v(dev, sel.release)
	s.v(dev, sel.release)
	assert.Contains(t, f.problems, fmt.Sprintf("over-release of MTLDevice %#x", dev))

	f = newFake(t)
	s = f.sends()
	sel.register(s.sel)
	dev = s.createSystemDefaultDevice()
	q := s.id(dev, sel.newCommandQueue)
	_ = s.id(q, sel.commandBuffer)
	assert.Contains(t, f.problems, "MTLCommandBuffer autoreleased with no autorelease pool in place (leaks)")
	assert.NotEmpty(t, f.leaks())

	f = newFake(t)
	s = f.sends()
	sel.register(s.sel)
	pool := s.poolPush()
	f.thread++
	s.poolPop(pool)
	assert.Contains(t, f.problems, fmt.Sprintf("pool %#x pushed on thread 0x7001 popped on 0x7002", pool))
	dev = s.createSystemDefaultDevice()
	s.idU64(dev, sel.maxBufferLength, 1)
	assert.Contains(t, f.problems, `selector "maxBufferLength" has 0 colons but was sent with idU64 (1 arguments)`)

	f = newFake(t)
	s = f.sends()
	sel.register(s.sel)
	dev = s.createSystemDefaultDevice()
	q = s.id(dev, sel.newCommandQueue)
	pool = s.poolPush()
	cb := s.id(s.id(q, sel.commandBuffer), sel.retain)
	enc := s.id(cb, sel.computeCommandEncoder)
	s.v(enc, sel.endEncoding)
	s.v(cb, sel.commit)
	s.v(cb, sel.waitUntilCompleted)
	s.poolPop(pool)
	s.v(cb, sel.release)
	assert.Contains(t, f.problems, fmt.Sprintf("command buffer %#x freed without status and error read after waitUntilCompleted (waited true, status false, error false)", cb))
}

// appleMethod is a method as Apple's documentation declares it: the
// selector, the result type and the argument types.
type appleMethod struct {
	class, result string
	args          []string
}

// appleMethods lists, from Apple's developer documentation (Objective-C
// declarations), every method the driver sends.
var appleMethods = map[string]appleMethod{
	"new":                   {"NSObject", "instancetype", nil},
	"retain":                {"NSObject", "instancetype", nil},
	"release":               {"NSObject", "void", nil},
	"respondsToSelector:":   {"NSObject", "BOOL", []string{"SEL"}},
	"stringWithUTF8String:": {"NSString", "instancetype", []string{"const char *"}},
	"UTF8String":            {"NSString", "const char *", nil},
	"localizedDescription":  {"NSError", "NSString *", nil},
	"count":                 {"NSArray", "NSUInteger", nil},
	"objectAtIndex:":        {"NSArray", "ObjectType", []string{"NSUInteger"}},

	"name":                       {"MTLDevice", "NSString *", nil},
	"supportsFamily:":            {"MTLDevice", "BOOL", []string{"MTLGPUFamily"}},
	"hasUnifiedMemory":           {"MTLDevice", "BOOL", nil},
	"maxThreadgroupMemoryLength": {"MTLDevice", "NSUInteger", nil},
	"maxThreadsPerThreadgroup":   {"MTLDevice", "MTLSize", nil},
	"maxBufferLength":            {"MTLDevice", "NSUInteger", nil},
	"newCommandQueue":            {"MTLDevice", "id<MTLCommandQueue>", nil},
	"newLibraryWithSource:options:error:": {"MTLDevice", "id<MTLLibrary>",
		[]string{"NSString *", "MTLCompileOptions *", "NSError **"}},
	"newComputePipelineStateWithFunction:error:": {"MTLDevice", "id<MTLComputePipelineState>",
		[]string{"id<MTLFunction>", "NSError **"}},
	"newBufferWithLength:options:": {"MTLDevice", "id<MTLBuffer>", []string{"NSUInteger", "MTLResourceOptions"}},

	"setLanguageVersion:": {"MTLCompileOptions", "void", []string{"MTLLanguageVersion"}},
	"languageVersion":     {"MTLCompileOptions", "MTLLanguageVersion", nil},
	"setMathMode:":        {"MTLCompileOptions", "void", []string{"MTLMathMode"}},
	"setFastMathEnabled:": {"MTLCompileOptions", "void", []string{"BOOL"}},

	"newFunctionWithName:":          {"MTLLibrary", "id<MTLFunction>", []string{"NSString *"}},
	"maxTotalThreadsPerThreadgroup": {"MTLComputePipelineState", "NSUInteger", nil},
	"threadExecutionWidth":          {"MTLComputePipelineState", "NSUInteger", nil},
	"staticThreadgroupMemoryLength": {"MTLComputePipelineState", "NSUInteger", nil},
	"contents":                      {"MTLBuffer", "void *", nil},

	"commandBuffer":         {"MTLCommandQueue", "id<MTLCommandBuffer>", nil},
	"computeCommandEncoder": {"MTLCommandBuffer", "id<MTLComputeCommandEncoder>", nil},
	"commit":                {"MTLCommandBuffer", "void", nil},
	"waitUntilCompleted":    {"MTLCommandBuffer", "void", nil},
	"status":                {"MTLCommandBuffer", "MTLCommandBufferStatus", nil},
	"error":                 {"MTLCommandBuffer", "NSError *", nil},
	"GPUStartTime":          {"MTLCommandBuffer", "CFTimeInterval", nil},
	"GPUEndTime":            {"MTLCommandBuffer", "CFTimeInterval", nil},

	"setComputePipelineState:": {"MTLComputeCommandEncoder", "void", []string{"id<MTLComputePipelineState>"}},
	"setBuffer:offset:atIndex:": {"MTLComputeCommandEncoder", "void",
		[]string{"id<MTLBuffer>", "NSUInteger", "NSUInteger"}},
	"setBytes:length:atIndex:": {"MTLComputeCommandEncoder", "void",
		[]string{"const void *", "NSUInteger", "NSUInteger"}},
	"setThreadgroupMemoryLength:atIndex:": {"MTLComputeCommandEncoder", "void", []string{"NSUInteger", "NSUInteger"}},
	"dispatchThreadgroups:threadsPerThreadgroup:": {"MTLComputeCommandEncoder", "void",
		[]string{"MTLSize", "MTLSize"}},
	"endEncoding": {"MTLCommandEncoder", "void", nil},
}

// goKind maps Apple's declared types to the send kind that must carry them:
// objects and selectors as ID, NSUInteger-sized integers and enums as U64,
// BOOL as bool, MTLSize by value, pointers as Ptr, C strings as Str, NSError**
// as Err, CFTimeInterval (double) as f64.
func goKind(m appleMethod) sendKind {
	typ := func(t string, result bool) string {
		switch {
		case t == "void":
			return "v"
		case t == "BOOL":
			if result {
				return "bool"
			}
			return "Bool"
		case t == "MTLSize":
			if result {
				return "size"
			}
			return "Size"
		case t == "CFTimeInterval":
			return "f64"
		case t == "const char *":
			if result {
				return "str"
			}
			return "Str"
		case t == "NSError **":
			return "Err"
		case t == "void *" || t == "const void *":
			if result {
				return "ptr"
			}
			return "Ptr"
		case t == "NSUInteger" || strings.HasPrefix(t, "MTL") && !strings.HasSuffix(t, "*"):
			if result {
				return "u64"
			}
			return "U64"
		default: // objects, id<…>, instancetype, SEL
			if result {
				return "id"
			}
			return "ID"
		}
	}
	k := typ(m.result, true)
	for _, a := range m.args {
		k += typ(a, false)
	}
	if k == "bool" {
		k = "boolean"
	}
	return sendKind(k)
}

var selectorName = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9]*)(:|([A-Za-z][A-Za-z0-9]*:)+)?$`)

func TestSelectorsMatchAppleDeclarations(t *testing.T) {
	var sel selectors
	seen := map[string]bool{}
	kinds := map[sendKind]bool{}
	for _, e := range sel.table() {
		require.False(t, seen[e.name], "selector %q listed twice", e.name)
		seen[e.name] = true
		kinds[e.kind] = true
		assert.Regexp(t, selectorName, e.name)
		assert.Equal(t, strings.Count(e.name, ":"), e.kind.arity(), "%q: colons vs arguments of %s", e.name, e.kind)
		m, ok := appleMethods[e.name]
		if !assert.True(t, ok, "%q is not a documented method", e.name) {
			continue
		}
		assert.Equal(t, len(m.args), strings.Count(e.name, ":"), "%q: Apple's argument count", e.name)
		assert.Equal(t, goKind(m), e.kind, "-[%s %s] is declared %s(%v)", m.class, e.name, m.result, m.args)
	}
	assert.Len(t, seen, len(appleMethods), "every documented method is used")
	var table sends
	for _, ts := range table.typed() {
		assert.True(t, kinds[ts.kind], "send kind %s is never used", ts.kind)
		assert.GreaterOrEqual(t, ts.kind.arity(), 0)
	}
	assert.Len(t, table.typed(), len(kinds), "every kind used has a typed send")
}

// TestEverySelectorExercised runs the driver through the fake along every
// path and checks that each selector of the table was sent, always with the
// kind of send the table gives it (the fake also checks colons per call).
func TestEverySelectorExercised(t *testing.T) {
	used := map[string]sendKind{}
	collect := func(f *fake) {
		for k, v := range f.used {
			used[k] = v
		}
	}
	for _, mathMode := range []bool{true, false} {
		f := newFake(t)
		f.respondsMathMode = mathMode
		f.noDefaultDevice = !mathMode // also the MTLCopyAllDevices path
		f.gpuError = "fault"
		d := compiled(t, f)
		p, err := d.Pipeline("fill")
		require.NoError(t, err)
		buf, err := d.NewBuffer(64)
		require.NoError(t, err)
		_, err = run(t, d, &driver.Dispatch{Pipeline: p, Args: []driver.Arg{{Buffer: buf}, {Bytes: []byte{1, 0, 0, 0}}},
			ThreadgroupMemory: []int{16}, Threadgroups: driver.Size{X: 1, Y: 1, Z: 1}, Threads: driver.Size{X: 1, Y: 1, Z: 1}})
		require.Error(t, err)
		buf.Release()
		require.NoError(t, d.Close())
		clean(t, f)
		collect(f)
	}
	var sel selectors
	for _, e := range sel.table() {
		k, ok := used[e.name]
		if assert.True(t, ok, "selector %q never sent", e.name) {
			assert.Equal(t, e.kind, k, "selector %q", e.name)
		}
	}
}

func TestOpenOnThisPlatform(t *testing.T) {
	if runtime.GOOS == "darwin" {
		t.Skip("on darwin Open reaches the real Metal; see mac_test.go")
	}
	d, err := Open()
	require.Nil(t, d)
	require.EqualError(t, err, "mtl: Metal is only available on macOS")
}

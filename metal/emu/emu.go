// Package emu is the MSL emulator: a driver.Driver that compiles ingot's
// Metal Shading Language sources unchanged as C++17 against a shim header,
// builds them into a shared library with the system C++ compiler (cached by
// content), loads it with purego (CGO_ENABLED=0 works on Linux) and runs
// kernels asynchronously on CPU threads.
//
// It is a test instrument, imported only by tests and benchmarks. Threads of
// a threadgroup run as fibers on one worker thread, so barriers and SIMD
// collectives are real; threadgroup memory is poisoned (0xff bytes, NaN as
// float) before each group and limited to 32 KiB; a barrier reached by part
// of a group or at different call sites, an invalid dispatch, or a call from
// the wrong OS thread is an error; SIMD reads from inactive lanes give NaN;
// freed buffers are poisoned; buffers end at a guard page, and a kernel's
// memory fault is an error of its dispatch; committed work runs on another
// thread. See README.md for the supported MSL subset.
//
// StaticThreadgroupMemoryLength of a pipeline is what the emulator has
// measured so far: threadgroup variables declared in kernel bodies are
// allocated when first executed, so it is 0 until the pipeline has run.
//
// INGOT_EMU_ASAN=1 builds everything with AddressSanitizer, which then
// reports out-of-bounds and use-after-free accesses of kernels (and stops the
// process). An ASan-instrumented library can only be loaded into a process
// that starts with the ASan runtime, so the test binary must run with
// LD_PRELOAD set to the compiler's libasan.so (ASanPreload; the emulator
// keeps it out of the compiler's environment), e.g.
//
//	go test -c -o m.test ./metal && INGOT_EMU_ASAN=1 ASAN_OPTIONS=detect_leaks=0 \
//	    LD_PRELOAD=$(g++ -print-file-name=libasan.so) ./m.test
//
// Open fails with an explanation when INGOT_EMU_ASAN=1 is set without it. INGOT_EMU_THREADS sets the number of worker threads,
// INGOT_EMU_TIMEOUT the seconds Wait waits before reporting a hung kernel,
// INGOT_EMU_CACHE the library cache directory.
package emu

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"

	"github.com/ingotml/ingot/metal/driver"
)

const (
	maxThreadgroupMemory = 32768
	maxThreads           = 1024
	simdWidth            = 32
	maxSetBytes          = 4096
	maxBufferArgs        = 31
)

// rt holds the runtime library's functions.
var rt struct {
	once sync.Once
	err  error

	init             func(int32) int32
	alloc            func(uintptr) unsafe.Pointer
	free             func(unsafe.Pointer, uintptr)
	load             func(string, []byte, int32) int32
	find             func(int32, string) int32
	kernelNParams    func(int32) int32
	kernelStatic     func(int32) uint32
	kernelMaxThreads func(int32) int32
	kernelParam      func(int32, int32, []int32)
	cbNew            func() unsafe.Pointer
	cbBytes          func(unsafe.Pointer, []byte, uintptr) unsafe.Pointer
	cbEncode         func(cb unsafe.Pointer, kernel int32, bufs []uint64, nbufs int32, tg []uint32, ntg int32, grid []uint32)
	cbCommit         func(unsafe.Pointer)
	cbWait           func(unsafe.Pointer, []byte, int32, *float64, float64) int32
	cbDone           func(unsafe.Pointer) int32
	cbFree           func(unsafe.Pointer)
}

func loadRuntime() error {
	rt.once.Do(func() {
		t, err := findToolchain()
		if err != nil {
			rt.err = err
			return
		}
		if t.asan && !asanLoaded() {
			rt.err = fmt.Errorf("MSL emulator: INGOT_EMU_ASAN=1 needs the process started with LD_PRELOAD=%s", ASanPreload())
			return
		}
		path, err := t.buildRuntime()
		if err != nil {
			rt.err = err
			return
		}
		h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err != nil {
			rt.err = fmt.Errorf("MSL emulator: loading %s: %w", path, err)
			return
		}
		purego.RegisterLibFunc(&rt.init, h, "emu_init")
		purego.RegisterLibFunc(&rt.alloc, h, "emu_alloc")
		purego.RegisterLibFunc(&rt.free, h, "emu_free")
		purego.RegisterLibFunc(&rt.load, h, "emu_load")
		purego.RegisterLibFunc(&rt.find, h, "emu_find")
		purego.RegisterLibFunc(&rt.kernelNParams, h, "emu_kernel_nparams")
		purego.RegisterLibFunc(&rt.kernelStatic, h, "emu_kernel_static_tg")
		purego.RegisterLibFunc(&rt.kernelMaxThreads, h, "emu_kernel_max_threads")
		purego.RegisterLibFunc(&rt.kernelParam, h, "emu_kernel_param")
		purego.RegisterLibFunc(&rt.cbNew, h, "emu_cb_new")
		purego.RegisterLibFunc(&rt.cbBytes, h, "emu_cb_bytes")
		purego.RegisterLibFunc(&rt.cbEncode, h, "emu_cb_encode")
		purego.RegisterLibFunc(&rt.cbCommit, h, "emu_cb_commit")
		purego.RegisterLibFunc(&rt.cbWait, h, "emu_cb_wait")
		purego.RegisterLibFunc(&rt.cbFree, h, "emu_cb_free")
		purego.RegisterLibFunc(&rt.cbDone, h, "emu_cb_done")
		n, _ := strconv.Atoi(os.Getenv("INGOT_EMU_THREADS"))
		rt.init(int32(n))
	})
	return rt.err
}

// ASanPreload is the path of the compiler's AddressSanitizer runtime, to be
// put in LD_PRELOAD of a process that sets INGOT_EMU_ASAN=1 ("" if none).
func ASanPreload() string {
	t, err := findToolchain()
	if err != nil {
		return ""
	}
	out, err := command(t.cxx, "-print-file-name=libasan.so").Output()
	if err != nil {
		return ""
	}
	p := strings.TrimSpace(string(out))
	if p == "libasan.so" { // the compiler did not find it
		return ""
	}
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

func asanLoaded() bool {
	b, err := os.ReadFile("/proc/self/maps")
	return err == nil && bytes.Contains(b, []byte("libasan"))
}

// Driver is the emulator's driver.Driver.
type Driver struct {
	tid       int
	lib       int32
	compiled  bool
	pipelines map[string]*pipeline
	closed    bool
	// queued holds the command buffers committed and not yet waited for.
	queued map[*cmdBuf]bool
	// sticky records a misuse reported by a method that cannot return an
	// error (e.g. a call from the wrong thread); the next error-returning
	// call returns it.
	sticky error
}

// Open opens the emulator. The calling goroutine should be locked to its
// OS thread (runtime.LockOSThread): every later call must come from it.
func Open() (driver.Driver, error) {
	if err := loadRuntime(); err != nil {
		return nil, err
	}
	return &Driver{tid: gettid(), lib: -1, pipelines: map[string]*pipeline{}, queued: map[*cmdBuf]bool{}}, nil
}

func (d *Driver) check(what string) error {
	if d.sticky != nil {
		err := d.sticky
		d.sticky = nil
		return err
	}
	if tid := gettid(); tid != d.tid {
		return fmt.Errorf("MSL emulator: %s called from OS thread %d, but the driver belongs to thread %d (lock the device goroutine with runtime.LockOSThread)", what, tid, d.tid)
	}
	if d.closed {
		return fmt.Errorf("MSL emulator: %s after Close", what)
	}
	return nil
}

// note records a misuse found by a method without an error result.
func (d *Driver) note(what string) {
	if err := d.check(what); err != nil && d.sticky == nil {
		d.sticky = err
	}
}

// Info implements driver.Driver.
func (d *Driver) Info() driver.Info {
	d.note("Info")
	return driver.Info{
		Name:                     "MSL emulator",
		Family:                   "Apple7",
		UnifiedMemory:            true,
		MaxThreadgroupMemory:     maxThreadgroupMemory,
		MaxThreadsPerThreadgroup: maxThreads,
		LanguageVersion:          "3.0",
		Emulated:                 true,
	}
}

// Compile implements driver.Driver: .metal sources are translation units,
// other sources (e.g. common.h) are headers they may #include.
func (d *Driver) Compile(sources []driver.Source) error {
	if err := d.check("Compile"); err != nil {
		return err
	}
	t, err := findToolchain()
	if err != nil {
		return err
	}
	path, err := t.buildLibrary(sources)
	if err != nil {
		return fmt.Errorf("MSL emulator: %w", err)
	}
	msg := make([]byte, 1024)
	lib := rt.load(path, msg, int32(len(msg)))
	if lib < 0 {
		return fmt.Errorf("MSL emulator: loading kernels: %s", cstr(msg))
	}
	d.lib = lib
	d.compiled = true
	d.pipelines = map[string]*pipeline{}
	return nil
}

func cstr(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// Pipeline implements driver.Driver.
func (d *Driver) Pipeline(name string) (driver.Pipeline, error) {
	if err := d.check("Pipeline"); err != nil {
		return nil, err
	}
	if p, ok := d.pipelines[name]; ok {
		return p, nil
	}
	if !d.compiled {
		return nil, errors.New("MSL emulator: Pipeline before Compile")
	}
	k := rt.find(d.lib, name)
	if k < 0 {
		return nil, fmt.Errorf("MSL emulator: no kernel function %q in the compiled library", name)
	}
	p := &pipeline{name: name, kernel: k, maxThreads: maxThreads}
	if m := rt.kernelMaxThreads(k); m > 0 { // [[max_total_threads_per_threadgroup]]
		p.maxThreads = int(m)
	}
	n := rt.kernelNParams(k)
	out := make([]int32, 4)
	for i := int32(0); i < n; i++ {
		rt.kernelParam(k, i, out)
		p.params = append(p.params, kparam{kind: int(out[0]), index: int(out[1]), size: int(out[2]), ref: out[3] != 0})
	}
	d.pipelines[name] = p
	return p, nil
}

type kparam struct {
	kind, index, size int
	ref               bool
}

type pipeline struct {
	name       string
	kernel     int32
	params     []kparam
	maxThreads int
}

func (p *pipeline) Name() string                       { return p.name }
func (p *pipeline) MaxTotalThreadsPerThreadgroup() int { return p.maxThreads }
func (p *pipeline) ThreadExecutionWidth() int          { return simdWidth }
func (p *pipeline) StaticThreadgroupMemoryLength() int { return int(rt.kernelStatic(p.kernel)) }

// NewBuffer implements driver.Driver. The memory is C memory owned by the
// runtime, zero-filled.
func (d *Driver) NewBuffer(size int) (driver.Buffer, error) {
	if err := d.check("NewBuffer"); err != nil {
		return nil, err
	}
	if size <= 0 {
		return nil, fmt.Errorf("MSL emulator: NewBuffer(%d): size must be positive", size)
	}
	p := rt.alloc(uintptr(size))
	if p == nil {
		return nil, fmt.Errorf("MSL emulator: NewBuffer(%d): out of memory", size)
	}
	return &buffer{d: d, p: p, n: size}, nil
}

type buffer struct {
	d        *Driver
	p        unsafe.Pointer
	n        int
	released bool
	users    []*cmdBuf // committed command buffers that use the buffer
}

func (b *buffer) Contents() unsafe.Pointer { return b.p }
func (b *buffer) Len() int                 { return b.n }

// Release poisons the buffer (0xff bytes) and frees it after a quarantine.
func (b *buffer) Release() {
	b.d.note("Buffer.Release")
	if b.released {
		if b.d.sticky == nil {
			b.d.sticky = errors.New("MSL emulator: buffer released twice")
		}
		return
	}
	b.released = true
	for _, c := range b.users {
		if !c.done() && b.d.sticky == nil {
			b.d.sticky = errors.New("MSL emulator: buffer released while committed work still uses it (Wait first)")
		}
	}
	b.users = nil
	rt.free(b.p, uintptr(b.n))
}

// PushPool and PopPool implement driver.Driver (no autorelease pools here,
// but the pairing is checked).
func (d *Driver) PushPool() driver.Pool {
	d.note("PushPool")
	return driver.Pool(1)
}

func (d *Driver) PopPool(p driver.Pool) {
	d.note("PopPool")
	if p != 1 && d.sticky == nil {
		d.sticky = fmt.Errorf("MSL emulator: PopPool(%d) of a pool PushPool did not return", p)
	}
}

// Close implements driver.Driver. Work still running is an error.
func (d *Driver) Close() error {
	if err := d.check("Close"); err != nil {
		return err
	}
	running := 0
	for c := range d.queued {
		if !c.done() {
			running++
		}
	}
	if running > 0 {
		return fmt.Errorf("MSL emulator: Close while %d committed command buffers are still running (Wait for them first)", running)
	}
	d.closed = true
	return nil
}

// NewCommandBuffer implements driver.Driver.
func (d *Driver) NewCommandBuffer() (driver.CommandBuffer, error) {
	if err := d.check("NewCommandBuffer"); err != nil {
		return nil, err
	}
	return &cmdBuf{d: d, cb: rt.cbNew()}, nil
}

type cmdBuf struct {
	d         *Driver
	cb        unsafe.Pointer
	err       error // first invalid dispatch or misuse
	committed bool
	waited    bool
	started   bool // the GPU thread has the work: wait for it before freeing
	secs      float64
	buffers   []*buffer // buffers used, checked for release before commit
}

func (c *cmdBuf) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}

// Encode implements driver.CommandBuffer; invalid dispatches are reported
// by Wait.
func (c *cmdBuf) Encode(dp *driver.Dispatch) {
	if err := c.d.check("CommandBuffer.Encode"); err != nil {
		c.fail(err)
		return
	}
	if dp == nil {
		c.fail(errors.New("MSL emulator: Encode(nil)"))
		return
	}
	if c.committed {
		c.fail(errors.New("MSL emulator: Encode after Commit"))
		return
	}
	if err := c.encode(dp); err != nil {
		c.fail(fmt.Errorf("MSL emulator: invalid dispatch: %w", err))
	}
}

func (c *cmdBuf) encode(dp *driver.Dispatch) error {
	p, ok := dp.Pipeline.(*pipeline)
	if !ok || p == nil {
		return errors.New("no pipeline of this driver")
	}
	g, t := dp.Threadgroups, dp.Threads
	if g.X <= 0 || g.Y <= 0 || g.Z <= 0 || t.X <= 0 || t.Y <= 0 || t.Z <= 0 {
		return fmt.Errorf("kernel %s: zero-size dispatch: %v threadgroups of %v threads", p.name, g, t)
	}
	if n := t.X * t.Y * t.Z; n > p.maxThreads {
		return fmt.Errorf("kernel %s: %d threads per threadgroup (%v), more than the %d allowed", p.name, n, t, p.maxThreads)
	}
	if int64(g.X)*int64(g.Y)*int64(g.Z) >= 1<<40 || g.X >= 1<<32 || g.Y >= 1<<32 || g.Z >= 1<<32 {
		return fmt.Errorf("kernel %s: grid %v too large", p.name, g)
	}
	tgTotal := 0
	for i, n := range dp.ThreadgroupMemory {
		if n < 0 || n%16 != 0 {
			return fmt.Errorf("kernel %s: threadgroup(%d) length %d is not a non-negative multiple of 16", p.name, i, n)
		}
		tgTotal += n
	}
	if st := p.StaticThreadgroupMemoryLength(); tgTotal+st > maxThreadgroupMemory {
		return fmt.Errorf("kernel %s: %d bytes of threadgroup memory (%d dynamic + %d static), over the %d-byte limit", p.name, tgTotal+st, tgTotal, st, maxThreadgroupMemory)
	}
	if len(dp.Args) > maxBufferArgs {
		return fmt.Errorf("kernel %s: %d buffer arguments, Metal has %d slots", p.name, len(dp.Args), maxBufferArgs)
	}
	bufs := make([]uint64, len(dp.Args))
	lens := make([]int, len(dp.Args))
	for i, a := range dp.Args {
		switch {
		case a.Buffer != nil && a.Bytes != nil:
			return fmt.Errorf("kernel %s: buffer(%d) has both a buffer and bytes", p.name, i)
		case a.Buffer != nil:
			b, ok := a.Buffer.(*buffer)
			if !ok || b.d != c.d {
				return fmt.Errorf("kernel %s: buffer(%d) is not a buffer of this driver", p.name, i)
			}
			if b.released {
				return fmt.Errorf("kernel %s: buffer(%d) was released (use after free)", p.name, i)
			}
			if a.Offset < 0 || a.Offset > b.n {
				return fmt.Errorf("kernel %s: buffer(%d) offset %d outside its %d bytes", p.name, i, a.Offset, b.n)
			}
			bufs[i] = uint64(uintptr(b.p)) + uint64(a.Offset)
			lens[i] = b.n - a.Offset
			c.buffers = append(c.buffers, b)
		case a.Bytes != nil:
			if len(a.Bytes) > maxSetBytes {
				return fmt.Errorf("kernel %s: buffer(%d): %d inline bytes, over Metal's %d-byte setBytes limit", p.name, i, len(a.Bytes), maxSetBytes)
			}
			if len(a.Bytes) == 0 {
				return fmt.Errorf("kernel %s: buffer(%d): empty inline bytes", p.name, i)
			}
			q := rt.cbBytes(c.cb, a.Bytes, uintptr(len(a.Bytes)))
			bufs[i] = uint64(uintptr(q))
			lens[i] = len(a.Bytes)
		default:
			lens[i] = -1
		}
	}
	for _, prm := range p.params {
		switch prm.kind {
		case 0: // buffer
			if prm.index >= len(dp.Args) || lens[prm.index] < 0 {
				return fmt.Errorf("kernel %s: [[buffer(%d)]] is not bound", p.name, prm.index)
			}
			if prm.ref && lens[prm.index] < prm.size {
				return fmt.Errorf("kernel %s: [[buffer(%d)]] is a reference to %d bytes, but only %d are bound", p.name, prm.index, prm.size, lens[prm.index])
			}
		case 1: // threadgroup
			if prm.index >= len(dp.ThreadgroupMemory) || dp.ThreadgroupMemory[prm.index] <= 0 {
				return fmt.Errorf("kernel %s: [[threadgroup(%d)]] has no threadgroup memory length", p.name, prm.index)
			}
		}
	}
	tg := make([]uint32, len(dp.ThreadgroupMemory)+1)
	for i, n := range dp.ThreadgroupMemory {
		tg[i] = uint32(n)
	}
	grid := []uint32{uint32(g.X), uint32(g.Y), uint32(g.Z), uint32(t.X), uint32(t.Y), uint32(t.Z)}
	if len(bufs) == 0 {
		bufs = []uint64{0}
	}
	rt.cbEncode(c.cb, p.kernel, bufs, int32(len(dp.Args)), tg, int32(len(dp.ThreadgroupMemory)), grid)
	return nil
}

// Commit implements driver.CommandBuffer: the work runs asynchronously on
// the emulator's GPU thread.
func (c *cmdBuf) Commit() {
	if err := c.d.check("CommandBuffer.Commit"); err != nil {
		c.fail(err)
	}
	if c.committed {
		c.fail(errors.New("MSL emulator: command buffer committed twice"))
		return
	}
	c.committed = true
	for _, b := range c.buffers {
		if b.released {
			c.fail(errors.New("MSL emulator: a buffer used by the command buffer was released before Commit (use after free)"))
		}
	}
	if c.err != nil {
		return // nothing runs; Wait reports the error
	}
	rt.cbCommit(c.cb)
	c.started = true
	c.d.queued[c] = true
	for _, b := range c.buffers {
		b.users = append(b.users, c)
	}
}

// done reports whether committed work has finished.
func (c *cmdBuf) done() bool {
	return c.cb == nil || rt.cbDone(c.cb) != 0
}

// waitTimeout is how long Wait waits before reporting a hung kernel
// (INGOT_EMU_TIMEOUT seconds, default 300).
func waitTimeout() float64 {
	if s, err := strconv.ParseFloat(os.Getenv("INGOT_EMU_TIMEOUT"), 64); err == nil && s > 0 {
		return s
	}
	return 300
}

// Wait implements driver.CommandBuffer.
func (c *cmdBuf) Wait() error {
	err := c.wait()
	if err == nil && c.d.sticky != nil && gettid() == c.d.tid {
		err = c.d.sticky
		c.d.sticky = nil
	}
	return err
}

func (c *cmdBuf) wait() error {
	if tid := gettid(); tid != c.d.tid {
		return fmt.Errorf("MSL emulator: CommandBuffer.Wait called from OS thread %d, but the driver belongs to thread %d", tid, c.d.tid)
	}

	if !c.committed {
		return errors.New("MSL emulator: Wait before Commit")
	}
	if c.waited {
		return c.err
	}
	c.waited = true
	delete(c.d.queued, c)
	if c.started {
		// Even when an error was recorded after Commit (e.g. Encode after
		// Commit), the GPU thread may still be running the work: wait for it
		// before the command buffer is freed.
		msg := make([]byte, 2048)
		switch rt.cbWait(c.cb, msg, int32(len(msg)), &c.secs, waitTimeout()) {
		case 0:
		case 2: // timed out: the GPU thread still uses the command buffer
			c.fail(fmt.Errorf("MSL emulator: %s", cstr(msg)))
			c.d.queued[c] = true
			return c.err
		default:
			c.fail(fmt.Errorf("MSL emulator: %s", cstr(msg)))
		}
	}
	rt.cbFree(c.cb)
	c.cb = nil
	for _, b := range c.buffers {
		b.forget(c)
	}
	return c.err
}

func (b *buffer) forget(c *cmdBuf) {
	for i, u := range b.users {
		if u == c {
			b.users = append(b.users[:i], b.users[i+1:]...)
			return
		}
	}
}

// GPUTime implements driver.CommandBuffer.
func (c *cmdBuf) GPUTime() float64 { return c.secs }

// Package mtl is ingot's real Metal driver: it implements the interface of
// package metal/driver over Metal.framework on macOS through purego and the
// Objective-C runtime, without cgo.
//
// # Layout
//
// The driver's logic (this file) is built on every platform and reaches
// Objective-C only through a table of typed message-send functions (sends,
// msg.go). On darwin the table is filled with purego (sends_darwin.go); on
// other systems Open reports that Metal is unavailable (open_other.go) and the
// tests fill the table with a recording fake that simulates a small Metal
// object world, so the call sequences, ownership and error checks run on Linux.
//
// # Requirements
//
// An Apple-silicon GPU (MTLGPUFamilyApple7, M1, or later) and macOS 13 or
// later (Metal Shading Language 3.0). On anything else Open returns an error
// saying why, and never panics.
//
// # Ownership
//
// Objects the driver gets from new…/alloc/copy/Create functions are owned
// (+1) and released exactly once: the device and command queue at Close,
// libraries and pipelines at Close, buffers at Buffer.Release, compile options
// and functions right after use. Autoreleased results (command buffers,
// encoders, strings, errors) are retained when they must outlive the call,
// and every method that produces them runs inside its own autorelease pool,
// so the driver does not leak even if the caller never pushes one.
//
// # Threading
//
// Open records the OS thread it runs on (pthread_self); every method except
// Info, Buffer.Contents, Buffer.Len, Buffer.Release and the Pipeline getters
// returns an error (Wait reports it for Encode and Commit) when called from
// another thread. Call Open and everything else from one goroutine that has
// called runtime.LockOSThread. PushPool and PopPool have no error result:
// a call from another thread, or a pop out of order, would corrupt the
// Objective-C runtime's pool stack, so they panic with a message instead.
// Buffer.Release may run on any thread: Objective-C reference counting is
// thread-safe, and the interface requires that the GPU is done with the buffer.
package mtl

import (
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"
	"unsafe"

	"github.com/ingotml/ingot/metal/driver"
)

// languageVersion is the MSL version every library is compiled with.
const languageVersion = "3.0"

// device is one opened Metal GPU. It implements driver.Driver.
type device struct {
	s      *sends
	sel    selectors
	thread uintptr // OS thread that opened the driver

	dev, queue   uintptr // +1
	info         driver.Info
	maxBufferLen uint64

	libs      []uintptr // +1 each, newest last
	sources   []string  // names of every compiled source, for messages
	pipelines map[string]*pipeline
	pools     []driver.Pool // pushed by PushPool, innermost last
	closed    bool
}

var _ driver.Driver = (*device)(nil)

// openWith opens the system's Metal device through the send table s.
func openWith(s *sends) (_ *device, err error) {
	if err := s.load(); err != nil {
		return nil, fmt.Errorf("mtl: Metal is unavailable: %w", err)
	}
	d := &device{s: s, pipelines: map[string]*pipeline{}}
	d.sel.register(s.sel)

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	d.thread = s.threadID()
	pool := s.poolPush()
	defer s.poolPop(pool)

	d.dev = s.createSystemDefaultDevice()
	if d.dev == 0 {
		// Apple documents that command-line tools get a default device
		// only when CoreGraphics is loaded (sends_darwin.go loads it); if
		// it is still nil, take the first device of the list.
		d.dev = d.firstDevice()
	}
	if d.dev == 0 {
		return nil, errors.New("mtl: Metal is unavailable: this Mac reports no Metal device (MTLCreateSystemDefaultDevice and MTLCopyAllDevices found none)")
	}
	defer func() {
		if err != nil {
			d.releaseAll()
		}
	}()

	d.info.Name = d.nsString(s.id(d.dev, d.sel.name))
	family := 0
	for f := gpuFamilyAppleMax; f >= gpuFamilyApple1; f-- {
		if s.boolU64(d.dev, d.sel.supportsFamily, uint64(f)) {
			family = f
			break
		}
	}
	switch {
	case family != 0:
		d.info.Family = "Apple" + strconv.Itoa(family-gpuFamilyApple1+1)
	case s.boolU64(d.dev, d.sel.supportsFamily, gpuFamilyMac2):
		d.info.Family = "Mac2"
	default:
		d.info.Family = "unknown"
	}
	if family < gpuFamilyApple7 {
		return nil, fmt.Errorf("mtl: Metal is unavailable: the GPU %q supports GPU family %s, but ingot's kernels need Apple7 (Apple M1) or later (this is an Intel Mac or an older GPU): use the CPU device",
			d.info.Name, d.info.Family)
	}
	d.info.UnifiedMemory = s.boolean(d.dev, d.sel.hasUnifiedMemory)
	d.info.MaxThreadgroupMemory = int(s.u64(d.dev, d.sel.maxThreadgroupMemoryLength))
	// maxThreadsPerThreadgroup is the per-dimension limit; on Apple GPUs
	// width, height and depth are all 1024, the same as the total limit.
	d.info.MaxThreadsPerThreadgroup = int(s.size(d.dev, d.sel.maxThreadsPerThreadgroup).Width)
	d.info.LanguageVersion = languageVersion
	d.maxBufferLen = s.u64(d.dev, d.sel.maxBufferLength)

	d.queue = s.id(d.dev, d.sel.newCommandQueue)
	if d.queue == 0 {
		return nil, fmt.Errorf("mtl: the GPU %q could not create a command queue", d.info.Name)
	}
	return d, nil
}

// firstDevice returns the first device of MTLCopyAllDevices, retained, or 0.
func (d *device) firstDevice() uintptr {
	s := d.s
	all := s.copyAllDevices()
	if all == 0 {
		return 0
	}
	defer s.v(all, d.sel.release)
	if s.u64(all, d.sel.count) == 0 {
		return 0
	}
	dev := s.idU64(all, d.sel.objectAtIndex, 0) // +0, owned by the array
	if dev != 0 {
		s.id(dev, d.sel.retain)
	}
	return dev
}

// releaseAll releases everything the device owns.
func (d *device) releaseAll() {
	s := d.s
	for _, p := range d.pipelines {
		s.v(p.id, d.sel.release)
	}
	d.pipelines = nil
	for _, l := range d.libs {
		s.v(l, d.sel.release)
	}
	d.libs = nil
	if d.queue != 0 {
		s.v(d.queue, d.sel.release)
		d.queue = 0
	}
	if d.dev != 0 {
		s.v(d.dev, d.sel.release)
		d.dev = 0
	}
}

// check reports a closed driver or a call from the wrong OS thread.
func (d *device) check(op string) error {
	if d.closed {
		return fmt.Errorf("mtl: %s after Close", op)
	}
	if t := d.s.threadID(); t != d.thread {
		return fmt.Errorf("mtl: %s called on OS thread %#x, but the driver was opened on %#x: call every driver method from the goroutine that opened it, locked with runtime.LockOSThread", op, t, d.thread)
	}
	return nil
}

// inPool runs f inside an autorelease pool on a locked thread, so that
// autoreleased results are freed when f returns.
func (d *device) inPool(f func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	p := d.s.poolPush()
	defer d.s.poolPop(p)
	return f()
}

// nsString copies an NSString into Go ("" for nil).
func (d *device) nsString(obj uintptr) string {
	if obj == 0 {
		return ""
	}
	return d.s.str(obj, d.sel.utf8String)
}

// describe returns an NSError's localizedDescription ("" for nil).
func (d *device) describe(nserr uintptr) string {
	if nserr == 0 {
		return ""
	}
	if msg := d.nsString(d.s.id(nserr, d.sel.localizedDescription)); msg != "" {
		return msg
	}
	return "(the NSError has no description)"
}

// newString returns an autoreleased NSString holding s.
func (d *device) newString(s string) uintptr {
	return d.s.idStr(d.s.class("NSString"), d.sel.stringWithUTF8String, s)
}

// Info describes the GPU. It reads values cached at Open, so any goroutine
// may call it.
func (d *device) Info() driver.Info { return d.info }

// Compile compiles the sources as one Metal translation unit, in order, with
// MSL 3.0 and safe math. Each source is preceded by a #line directive naming
// it, so the compiler's diagnostics carry the file name and the line within
// that file. Later calls add libraries; Pipeline searches the newest first.
func (d *device) Compile(sources []driver.Source) error {
	if err := d.check("Compile"); err != nil {
		return err
	}
	if len(sources) == 0 {
		return errors.New("mtl: Compile: no sources")
	}
	names := make([]string, len(sources))
	var text strings.Builder
	for i, src := range sources {
		names[i] = src.Name
		if !utf8.ValidString(src.Text) {
			return fmt.Errorf("mtl: compiling %s: the source is not valid UTF-8", src.Name)
		}
		if j := strings.IndexByte(src.Text, 0); j >= 0 {
			return fmt.Errorf("mtl: compiling %s: the source contains a NUL byte at offset %d", src.Name, j)
		}
		fmt.Fprintf(&text, "#line 1 %s\n%s\n", strconv.Quote(src.Name), src.Text)
	}
	return d.inPool(func() error {
		s := d.s
		opts := s.id(s.class("MTLCompileOptions"), d.sel.new) // +1
		if opts == 0 {
			return errors.New("mtl: Compile: could not create MTLCompileOptions")
		}
		defer s.v(opts, d.sel.release)
		// Set explicitly: Go's linker stamps a macOS 12 minimum into the
		// binary, which otherwise lowers the default language version.
		s.vU64(opts, d.sel.setLanguageVersion, languageVersion3_0)
		if got := s.u64(opts, d.sel.languageVersion); got != languageVersion3_0 {
			return fmt.Errorf("mtl: Compile: Metal Shading Language %s is not available (the compiler reports version %d.%d): macOS 13 or later is required",
				languageVersion, got>>16, got&0xffff)
		}
		// IEEE-conformant math: setMathMode: (macOS 15+), else fast math off.
		if s.boolID(opts, d.sel.respondsToSelector, d.sel.setMathMode) {
			s.vU64(opts, d.sel.setMathMode, mathModeSafe)
		} else {
			s.vBool(opts, d.sel.setFastMathEnabled, false)
		}
		src := d.newString(text.String())
		if src == 0 {
			return fmt.Errorf("mtl: compiling %s: could not create the source string", strings.Join(names, ", "))
		}
		var nserr uintptr
		lib := s.idIDIDErr(d.dev, d.sel.newLibraryWithSourceOptionsError, src, opts, &nserr)
		if lib == 0 {
			return compileError(names, d.describe(nserr))
		}
		// A non-nil error beside a library holds warnings only.
		d.libs = append(d.libs, lib)
		d.sources = append(d.sources, names...)
		return nil
	})
}

// compileError names the sources a compiler message points at (through the
// #line directives), or all of them when it names none.
func compileError(names []string, msg string) error {
	if msg == "" {
		msg = "the compiler gave no message"
	}
	var blamed []string
	for _, n := range names {
		if n != "" && strings.Contains(msg, n+":") {
			blamed = append(blamed, n)
		}
	}
	if len(blamed) == 0 {
		blamed = names
	}
	return fmt.Errorf("mtl: compiling %s: %s", strings.Join(blamed, ", "), msg)
}

// Pipeline returns the cached compute pipeline of a kernel function.
func (d *device) Pipeline(name string) (driver.Pipeline, error) {
	if err := d.check("Pipeline"); err != nil {
		return nil, err
	}
	if p, ok := d.pipelines[name]; ok {
		return p, nil
	}
	if len(d.libs) == 0 {
		return nil, fmt.Errorf("mtl: Pipeline %q: nothing compiled yet (call Compile first)", name)
	}
	var p *pipeline
	err := d.inPool(func() error {
		s := d.s
		nsName := d.newString(name)
		var fn uintptr
		for i := len(d.libs) - 1; i >= 0 && fn == 0 && nsName != 0; i-- {
			fn = s.idID(d.libs[i], d.sel.newFunctionWithName, nsName) // +1
		}
		if fn == 0 {
			return fmt.Errorf("mtl: Pipeline: no kernel function %q in the compiled sources (%s)", name, strings.Join(d.sources, ", "))
		}
		defer s.v(fn, d.sel.release)
		var nserr uintptr
		ps := s.idIDErr(d.dev, d.sel.newComputePipelineStateWithFunctionError, fn, &nserr) // +1
		if ps == 0 {
			return fmt.Errorf("mtl: Pipeline %q: creating the compute pipeline failed: %s", name, orNoMessage(d.describe(nserr)))
		}
		p = &pipeline{
			d:        d,
			id:       ps,
			name:     name,
			maxTotal: int(s.u64(ps, d.sel.maxTotalThreadsPerThreadgroup)),
			width:    int(s.u64(ps, d.sel.threadExecutionWidth)),
			static:   int(s.u64(ps, d.sel.staticThreadgroupMemoryLength)),
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	d.pipelines[name] = p
	return p, nil
}

func orNoMessage(msg string) string {
	if msg == "" {
		return "Metal gave no message"
	}
	return msg
}

// NewBuffer allocates a shared-storage buffer. Metal zero-fills buffers made
// by newBufferWithLength:options:. A zero-length request allocates 16 bytes
// (Metal rejects empty buffers) and reports Len 0.
func (d *device) NewBuffer(size int) (driver.Buffer, error) {
	if err := d.check("NewBuffer"); err != nil {
		return nil, err
	}
	if size < 0 {
		return nil, fmt.Errorf("mtl: NewBuffer: negative size %d", size)
	}
	if uint64(size) > d.maxBufferLen {
		return nil, fmt.Errorf("mtl: NewBuffer: %d bytes is more than the GPU's largest buffer (%d bytes)", size, d.maxBufferLen)
	}
	n := uint64(size)
	if n == 0 {
		n = 16
	}
	s := d.s
	id := s.idU64U64(d.dev, d.sel.newBufferWithLengthOptions, n, resourceStorageModeShared) // +1
	if id == 0 {
		return nil, fmt.Errorf("mtl: NewBuffer: the GPU could not allocate %d bytes (out of memory)", size)
	}
	p := s.ptr(id, d.sel.contents)
	if p == nil {
		s.v(id, d.sel.release)
		return nil, fmt.Errorf("mtl: NewBuffer: the %d-byte buffer has no host address (not in shared storage)", size)
	}
	return &buffer{d: d, id: id, contents: p, size: size}, nil
}

// PushPool pushes an autorelease pool on the driver's thread.
func (d *device) PushPool() driver.Pool {
	if t := d.s.threadID(); t != d.thread {
		panic(fmt.Sprintf("mtl: PushPool on OS thread %#x, but the driver was opened on %#x (lock the device goroutine with runtime.LockOSThread)", t, d.thread))
	}
	p := driver.Pool(d.s.poolPush())
	d.pools = append(d.pools, p)
	return p
}

// PopPool pops the innermost pool, which must be p.
func (d *device) PopPool(p driver.Pool) {
	if t := d.s.threadID(); t != d.thread {
		panic(fmt.Sprintf("mtl: PopPool on OS thread %#x, but the driver was opened on %#x (lock the device goroutine with runtime.LockOSThread)", t, d.thread))
	}
	if n := len(d.pools); n == 0 || d.pools[n-1] != p {
		panic(fmt.Sprintf("mtl: PopPool(%#x) out of order: the innermost pushed pool is %v", uintptr(p), d.innermost()))
	}
	d.pools = d.pools[:len(d.pools)-1]
	d.s.poolPop(uintptr(p))
}

func (d *device) innermost() string {
	if len(d.pools) == 0 {
		return "none"
	}
	return fmt.Sprintf("%#x", uintptr(d.pools[len(d.pools)-1]))
}

// Close releases the device, its queue, libraries and pipelines. Buffers
// stay valid until their own Release (an MTLBuffer retains its device).
func (d *device) Close() error {
	if d.closed {
		return nil
	}
	if err := d.check("Close"); err != nil {
		return err
	}
	d.releaseAll()
	d.closed = true
	if n := len(d.pools); n > 0 {
		return fmt.Errorf("mtl: Close with %d autorelease pool(s) still pushed", n)
	}
	return nil
}

// pipeline is a compiled compute pipeline state. It implements driver.Pipeline.
type pipeline struct {
	d                       *device
	id                      uintptr // +1, released at Close
	name                    string
	maxTotal, width, static int
}

func (p *pipeline) Name() string                       { return p.name }
func (p *pipeline) MaxTotalThreadsPerThreadgroup() int { return p.maxTotal }
func (p *pipeline) ThreadExecutionWidth() int          { return p.width }
func (p *pipeline) StaticThreadgroupMemoryLength() int { return p.static }

// buffer is a shared-storage MTLBuffer. It implements driver.Buffer.
type buffer struct {
	d        *device
	id       uintptr // +1, released by Release
	contents unsafe.Pointer
	size     int
	released atomic.Bool
}

func (b *buffer) Contents() unsafe.Pointer { return b.contents }
func (b *buffer) Len() int                 { return b.size }

// Release releases the MTLBuffer once; further calls do nothing.
func (b *buffer) Release() {
	if b.released.Swap(true) {
		return
	}
	b.d.s.v(b.id, b.d.sel.release)
}

// Command buffer states.
const (
	cbEncoding  = iota // encoder open
	cbEnded            // encoding ended without commit (an encode error)
	cbCommitted        // committed, not yet waited on
	cbDone             // waited on, everything released
)

// commandBuffer is one MTLCommandBuffer with one serial compute encoder.
// It implements driver.CommandBuffer.
type commandBuffer struct {
	d        *device
	cb, enc  uintptr // retained; released by Commit (enc) and Wait (cb)
	state    int
	n        int   // dispatches encoded
	err      error // first encode or commit error, reported by Wait
	result   error // Wait's result, kept for repeated calls
	gpuStart float64
	gpuEnd   float64
}

// NewCommandBuffer makes a command buffer and its compute encoder. Both are
// autoreleased by Metal and retained here, so they outlive any pool.
func (d *device) NewCommandBuffer() (driver.CommandBuffer, error) {
	if err := d.check("NewCommandBuffer"); err != nil {
		return nil, err
	}
	c := &commandBuffer{d: d}
	err := d.inPool(func() error {
		s := d.s
		cb := s.id(d.queue, d.sel.commandBuffer)
		if cb == 0 {
			return errors.New("mtl: NewCommandBuffer: the command queue returned no command buffer")
		}
		c.cb = s.id(cb, d.sel.retain)
		enc := s.id(c.cb, d.sel.computeCommandEncoder)
		if enc == 0 {
			s.v(c.cb, d.sel.release)
			return errors.New("mtl: NewCommandBuffer: the command buffer returned no compute encoder")
		}
		c.enc = s.id(enc, d.sel.retain)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Encode validates and encodes one dispatch. The first invalid dispatch
// stops encoding; Wait reports it and nothing is committed.
func (c *commandBuffer) Encode(dsp *driver.Dispatch) {
	if c.err != nil {
		return
	}
	if c.state != cbEncoding {
		c.err = errors.New("mtl: Encode after Commit")
		return
	}
	d := c.d
	if err := d.check("Encode"); err != nil {
		c.err = err
		return
	}
	p, err := c.validate(dsp)
	if err != nil {
		name := "?"
		if dsp != nil && dsp.Pipeline != nil {
			name = dsp.Pipeline.Name()
		}
		c.err = fmt.Errorf("mtl: dispatch %d (%s): %w", c.n, name, err)
		return
	}
	s, enc := d.s, c.enc
	s.vID(enc, d.sel.setComputePipelineState, p.id)
	for i, a := range dsp.Args {
		if a.Buffer != nil {
			b := a.Buffer.(*buffer)
			s.vIDU64U64(enc, d.sel.setBufferOffsetAtIndex, b.id, uint64(a.Offset), uint64(i))
		} else {
			// Metal copies the bytes during the call.
			s.vPtrU64U64(enc, d.sel.setBytesLengthAtIndex, unsafe.Pointer(&a.Bytes[0]), uint64(len(a.Bytes)), uint64(i))
		}
	}
	for i, n := range dsp.ThreadgroupMemory {
		if n > 0 {
			s.vU64U64(enc, d.sel.setThreadgroupMemoryLengthAtIndex, uint64(n), uint64(i))
		}
	}
	s.vSizeSize(enc, d.sel.dispatchThreadgroups, mtlSize(dsp.Threadgroups), mtlSize(dsp.Threads))
	c.n++
}

func mtlSize(s driver.Size) MTLSize {
	return MTLSize{uint64(s.X), uint64(s.Y), uint64(s.Z)}
}

// validate checks a dispatch against Metal's rules, so that nothing invalid
// reaches the encoder (where it would abort the process under the API
// validation layer, or run with undefined results without it).
func (c *commandBuffer) validate(dsp *driver.Dispatch) (*pipeline, error) {
	if dsp == nil {
		return nil, errors.New("nil dispatch")
	}
	p, ok := dsp.Pipeline.(*pipeline)
	if !ok || p == nil || p.d != c.d {
		return nil, fmt.Errorf("pipeline %T is not from this driver", dsp.Pipeline)
	}
	g, t := dsp.Threadgroups, dsp.Threads
	if g.X < 1 || g.Y < 1 || g.Z < 1 {
		return nil, fmt.Errorf("threadgroups %v: every dimension must be at least 1", g)
	}
	if t.X < 1 || t.Y < 1 || t.Z < 1 {
		return nil, fmt.Errorf("threads per threadgroup %v: every dimension must be at least 1", t)
	}
	if n := t.X * t.Y * t.Z; n > p.maxTotal {
		return nil, fmt.Errorf("threads per threadgroup %v = %d exceeds the pipeline's limit of %d", t, n, p.maxTotal)
	}
	if len(dsp.Args) > maxBufferBindings {
		return nil, fmt.Errorf("%d arguments: Metal binds at most %d buffers", len(dsp.Args), maxBufferBindings)
	}
	for i, a := range dsp.Args {
		switch {
		case a.Buffer != nil && a.Bytes != nil:
			return nil, fmt.Errorf("argument %d has both a buffer and bytes", i)
		case a.Buffer != nil:
			b, ok := a.Buffer.(*buffer)
			if !ok || b.d != c.d {
				return nil, fmt.Errorf("argument %d: buffer %T is not from this driver", i, a.Buffer)
			}
			if b.released.Load() {
				return nil, fmt.Errorf("argument %d: the buffer was released", i)
			}
			if a.Offset < 0 || a.Offset > b.size {
				return nil, fmt.Errorf("argument %d: offset %d outside the %d-byte buffer", i, a.Offset, b.size)
			}
		case len(a.Bytes) > maxSetBytes:
			return nil, fmt.Errorf("argument %d: %d inline bytes; Metal's setBytes allows at most %d (use a buffer)", i, len(a.Bytes), maxSetBytes)
		case len(a.Bytes) == 0:
			return nil, fmt.Errorf("argument %d has neither a buffer nor bytes", i)
		}
	}
	if len(dsp.ThreadgroupMemory) > maxThreadgroupBindings {
		return nil, fmt.Errorf("%d threadgroup memory bindings: Metal allows at most %d", len(dsp.ThreadgroupMemory), maxThreadgroupBindings)
	}
	total := p.static
	for i, n := range dsp.ThreadgroupMemory {
		if n < 0 || n%16 != 0 {
			return nil, fmt.Errorf("threadgroup memory %d: length %d must be a non-negative multiple of 16", i, n)
		}
		total += n
	}
	if total > c.d.info.MaxThreadgroupMemory {
		return nil, fmt.Errorf("threadgroup memory %d bytes (%d static) exceeds the GPU's %d", total, p.static, c.d.info.MaxThreadgroupMemory)
	}
	return p, nil
}

// Commit ends encoding and queues the work, unless an encode failed.
func (c *commandBuffer) Commit() {
	if c.state != cbEncoding {
		if c.err == nil {
			c.err = errors.New("mtl: Commit called twice")
		}
		return
	}
	d := c.d
	if err := d.check("Commit"); err != nil {
		if c.err == nil {
			c.err = err
		}
		return // Wait, on the right thread, ends and releases
	}
	c.end()
	if c.err != nil {
		c.state = cbEnded
		return
	}
	d.s.v(c.cb, d.sel.commit)
	c.state = cbCommitted
}

// end closes and releases the encoder.
func (c *commandBuffer) end() {
	d := c.d
	d.s.v(c.enc, d.sel.endEncoding)
	d.s.v(c.enc, d.sel.release)
	c.enc = 0
}

// Wait blocks until the work completes, then reads the command buffer's
// status and error: a GPU fault becomes a Go error. It releases the command
// buffer; later calls return the same result.
func (c *commandBuffer) Wait() error {
	if c.state == cbDone {
		return c.result
	}
	d := c.d
	if err := d.check("Wait"); err != nil {
		return err
	}
	s := d.s
	switch c.state {
	case cbEncoding: // never committed
		c.end()
		if c.err == nil {
			c.err = errors.New("mtl: Wait before Commit")
		}
		c.result = c.err
	case cbEnded:
		c.result = c.err
	case cbCommitted:
		_ = d.inPool(func() error {
			s.v(c.cb, d.sel.waitUntilCompleted)
			status := s.u64(c.cb, d.sel.status)
			nserr := s.id(c.cb, d.sel.errorSel)
			if status != commandBufferStatusCompleted || nserr != 0 {
				c.result = fmt.Errorf("mtl: the GPU failed running %d dispatch(es) (command buffer status %s): %s",
					c.n, statusName(status), orNoMessage(d.describe(nserr)))
			}
			c.gpuStart = s.f64(c.cb, d.sel.gpuStartTime)
			c.gpuEnd = s.f64(c.cb, d.sel.gpuEndTime)
			return nil
		})
		if c.result == nil {
			c.result = c.err // an Encode or Commit after Commit
		}
	}
	s.v(c.cb, d.sel.release)
	c.cb = 0
	c.state = cbDone
	return c.result
}

func statusName(s uint64) string {
	names := []string{"not enqueued", "enqueued", "committed", "scheduled", "completed", "error"}
	if s < uint64(len(names)) {
		return names[s]
	}
	return strconv.FormatUint(s, 10)
}

// GPUTime is GPUEndTime - GPUStartTime in seconds, valid after Wait.
func (c *commandBuffer) GPUTime() float64 {
	if t := c.gpuEnd - c.gpuStart; t > 0 {
		return t
	}
	return 0
}

// Package metal is ingot's Metal device: the platform-independent logic
// (kernel and variant choice, argument packing, command batching, hazard
// tracking, the device goroutine) over the small driver interface of
// package metal/driver. On macOS the driver is Metal.framework through
// purego (package metal/mtl); on Linux, tests use the MSL emulator
// (package metal/emu), which runs the same shaders/*.metal on the CPU.
//
// Batching: kernels are encoded into one command buffer, which is
// committed only when the host needs a buffer that queued work uses
// (Device.HostBytes), on Sync, or after MaxBatch dispatches — never one
// commit per op. Buffers use shared (unified) storage: the host reads a
// tensor's memory in place once the work using it has completed.
//
// Threading: every driver call happens on one goroutine locked to its OS
// thread (Metal's autorelease pools are per thread); other goroutines
// submit work to it in order. Device is safe for concurrent use.
package metal

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/ingotml/ingot/metal/driver"
	"github.com/ingotml/ingot/shaders"
	"github.com/ingotml/ingot/tensor"
)

// MaxBatch is the number of dispatches after which a command buffer is
// committed even if the host does not need a result yet, so that the GPU
// starts while encoding goes on.
const MaxBatch = 512

// Device is a Metal GPU (or the emulator) as a tensor.Device.
type Device struct {
	name    string
	info    driver.Info
	kernels tensor.KernelTable
	alloc   *tensor.Allocator
	reqs    chan func()
	postMu  sync.RWMutex // guards sending to reqs against Close
	closed  bool

	// Touched only on the device goroutine.
	drv       driver.Driver
	pipes     map[string]driver.Pipeline
	status    driver.Buffer // error bits set by kernels (INGOT_ERR_*)
	cb        driver.CommandBuffer
	pool      driver.Pool
	seq       uint64 // sequence number of the open or last command buffer
	encoded   int    // dispatches in the open command buffer
	inflight  []inflight
	completed uint64 // every command buffer up to this one has finished
	err       error  // first failure, reported by Sync and host access

	commits, dispatches atomic.Int64
	gpuSeconds          atomic.Uint64 // float64 bits
	perKernel           sync.Map      // kernel name → *atomic.Int64
}

type inflight struct {
	cb  driver.CommandBuffer
	seq uint64
}

// mbuf is the Handle of a Metal tensor.Buffer.
type mbuf struct {
	buf     driver.Buffer
	lastUse uint64 // command buffer that last used it (device goroutine)
}

// New makes a device over an opened driver: it starts the device goroutine,
// compiles the shaders and checks the GPU's SIMD width. open is called on
// the device goroutine, which owns the driver from then on.
func New(name string, open func() (driver.Driver, error)) (*Device, error) {
	d := &Device{name: name, reqs: make(chan func(), 1024), pipes: map[string]driver.Pipeline{}}
	started := make(chan error, 1)
	go d.loop(open, started)
	if err := <-started; err != nil {
		return nil, err
	}
	d.alloc = tensor.NewAllocator(d.newBuffer)
	registerKernels(&d.kernels)
	return d, nil
}

func (d *Device) loop(open func() (driver.Driver, error), started chan<- error) {
	runtime.LockOSThread()
	drv, err := open()
	if err == nil {
		d.drv = drv
		d.info = drv.Info()
		err = d.setup()
	}
	started <- err
	if err != nil {
		if drv != nil {
			drv.Close()
		}
		return
	}
	for fn := range d.reqs {
		fn()
	}
}

func (d *Device) setup() error {
	lib := shaders.Library()
	if err := d.drv.Compile([]driver.Source{{Name: lib.Name, Text: lib.Text}}); err != nil {
		return fmt.Errorf("compiling shaders: %w", err)
	}
	st, err := d.drv.NewBuffer(16)
	if err != nil {
		return err
	}
	d.status = st
	return nil
}

// post queues fn for the device goroutine; it reports false once the
// device is closed.
func (d *Device) post(fn func()) bool {
	d.postMu.RLock()
	defer d.postMu.RUnlock()
	if d.closed {
		return false
	}
	d.reqs <- fn
	return true
}

// call runs fn on the device goroutine and waits for it. Using a closed
// device is a programmer error.
func (d *Device) call(fn func()) {
	done := make(chan struct{})
	if !d.post(func() { fn(); close(done) }) {
		panic("metal: use of a closed device")
	}
	<-done
}

// Name implements tensor.Device.
func (d *Device) Name() string { return d.name }

// Kernels implements tensor.Device.
func (d *Device) Kernels() *tensor.KernelTable { return &d.kernels }

// Allocator implements tensor.Device.
func (d *Device) Allocator() *tensor.Allocator { return d.alloc }

// Info describes the GPU.
func (d *Device) Info() driver.Info { return d.info }

// String describes the device for `ingot info`.
func (d *Device) String() string {
	i := d.info
	s := fmt.Sprintf("%s (%s, MSL %s, %d KB threadgroup memory", i.Name, i.Family, i.LanguageVersion, i.MaxThreadgroupMemory/1024)
	if i.UnifiedMemory {
		s += ", unified memory"
	}
	if i.Emulated {
		s += ", emulated on the CPU"
	}
	return s + ")"
}

// Stats counts the device's work, for tests and benchmarks.
type Stats struct {
	Commits    int64   // command buffers committed
	Dispatches int64   // kernels encoded
	GPUSeconds float64 // GPU time of completed command buffers
}

// KernelCount reports how many times the named kernel (a pipeline name such
// as "gemm_nn_aligned") has been dispatched.
func (d *Device) KernelCount(name string) int64 {
	if c, ok := d.perKernel.Load(name); ok {
		return c.(*atomic.Int64).Load()
	}
	return 0
}

// Stats reports the counters.
func (d *Device) Stats() Stats {
	return Stats{Commits: d.commits.Load(), Dispatches: d.dispatches.Load(), GPUSeconds: float64frombits(d.gpuSeconds.Load())}
}

func (d *Device) newBuffer(size int) (*tensor.Buffer, error) {
	var b driver.Buffer
	var err error
	d.call(func() { b, err = d.drv.NewBuffer(size) })
	if err != nil {
		return nil, err
	}
	h := &mbuf{buf: b}
	tb := &tensor.Buffer{Device: d, Mem: hostSlice(b), Handle: h}
	// Buffers dropped without Release (or trimmed from the allocator) are
	// freed once unreachable and no queued work uses them.
	runtime.AddCleanup(tb, func(h *mbuf) {
		d.post(func() { // after Close the driver has gone, and the buffer with it
			d.waitFor(h.lastUse)
			h.buf.Release()
		})
	}, h)
	return tb, nil
}

// HostBytes implements tensor.Device: it waits for queued work that uses b
// (committing it first if needed). A device failure panics here with the
// error; Sync reports it as an error.
func (d *Device) HostBytes(b *tensor.Buffer, write bool) []byte {
	h := b.Handle.(*mbuf)
	var err error
	d.call(func() {
		d.waitFor(h.lastUse)
		err = d.err
	})
	if err != nil {
		panic(fmt.Sprintf("metal: %v", err))
	}
	return b.Mem
}

// Sync commits queued work, waits for all of it and reports (and clears)
// the first failure since the last Sync.
func (d *Device) Sync() error {
	var err error
	d.call(func() {
		d.waitFor(d.seq)
		err, d.err = d.err, nil
	})
	return err
}

// encode appends a dispatch to the open command buffer (device goroutine).
func (d *Device) encode(disp *driver.Dispatch, used []*mbuf) {
	if d.err != nil {
		return // drop work after a failure until Sync reports it
	}
	if d.cb == nil {
		d.pool = d.drv.PushPool()
		cb, err := d.drv.NewCommandBuffer()
		if err != nil {
			d.drv.PopPool(d.pool)
			d.err = err
			return
		}
		d.cb = cb
		d.seq++
	}
	d.cb.Encode(disp)
	for _, h := range used {
		h.lastUse = d.seq
	}
	d.encoded++
	d.dispatches.Add(1)
	c, _ := d.perKernel.LoadOrStore(disp.Pipeline.Name(), new(atomic.Int64))
	c.(*atomic.Int64).Add(1)
	if d.encoded >= MaxBatch {
		d.commit()
	}
}

func (d *Device) commit() {
	if d.cb == nil {
		return
	}
	d.cb.Commit()
	d.inflight = append(d.inflight, inflight{d.cb, d.seq})
	d.cb, d.encoded = nil, 0
	d.drv.PopPool(d.pool)
	d.commits.Add(1)
}

// waitFor makes sure command buffer seq has finished.
func (d *Device) waitFor(seq uint64) {
	if seq <= d.completed {
		return
	}
	if d.cb != nil && seq >= d.seq {
		d.commit()
	}
	for len(d.inflight) > 0 && d.inflight[0].seq <= seq {
		f := d.inflight[0]
		d.inflight = d.inflight[1:]
		if err := f.cb.Wait(); err != nil && d.err == nil {
			d.err = fmt.Errorf("command buffer %d: %w", f.seq, err)
		}
		add(&d.gpuSeconds, f.cb.GPUTime())
		d.completed = f.seq
		d.checkStatus()
	}
}

// checkStatus turns error bits set by kernels into an error.
func (d *Device) checkStatus() {
	st := (*uint32)(d.status.Contents())
	if bits := atomic.SwapUint32(st, 0); bits != 0 && d.err == nil {
		d.err = errors.New("a gather or scatter-add index was out of range")
	}
}

// Close waits for queued work and releases the driver.
func (d *Device) Close() error {
	var err error
	d.call(func() {
		d.waitFor(d.seq)
		d.status.Release()
		err = d.drv.Close()
	})
	d.postMu.Lock()
	d.closed = true
	close(d.reqs)
	d.postMu.Unlock()
	return err
}

// pipeline returns a cached pipeline (device goroutine).
func (d *Device) pipeline(name string) (driver.Pipeline, error) {
	if p, ok := d.pipes[name]; ok {
		return p, nil
	}
	p, err := d.drv.Pipeline(name)
	if err != nil {
		return nil, err
	}
	if w := p.ThreadExecutionWidth(); w != 32 {
		return nil, fmt.Errorf("kernel %s: SIMD width %d, ingot's kernels need 32", name, w)
	}
	d.pipes[name] = p
	return p, nil
}

var addMu sync.Mutex

func add(a *atomic.Uint64, v float64) {
	addMu.Lock()
	a.Store(float64bits(float64frombits(a.Load()) + v))
	addMu.Unlock()
}

// GPUSeconds is the total GPU time of the command buffers completed so far
// (for benchmarks).
func (d *Device) GPUSeconds() float64 { return d.Stats().GPUSeconds }

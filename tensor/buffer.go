package tensor

import (
	"fmt"
	"math/bits"
	"sync"
	"unsafe"
)

// Buffer is a block of device memory. Buffers come from a device's
// Allocator and go back to it when the last tensor using them is released.
type Buffer struct {
	// Device owns the buffer.
	Device Device
	// Mem is the buffer's memory when it is host-addressable (the CPU, and
	// Metal's unified memory); its length is the buffer's capacity. Kernels
	// of the owning device use it directly; the host goes through
	// Device.HostBytes so that queued work is waited for.
	Mem []byte
	// Handle is the device's own handle (for Metal, the driver buffer).
	Handle any
}

// Float32s views the first n float32 elements of b's memory.
func (b *Buffer) Float32s(n int) []float32 {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b.Mem[0])), n)
}

// Int32s views the first n int32 elements of b's memory.
func (b *Buffer) Int32s(n int) []int32 {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*int32)(unsafe.Pointer(&b.Mem[0])), n)
}

// Allocator is a caching allocator: buffers are kept in free lists by size
// class and handed out again, so a training step in steady state allocates
// no new device memory and touches no fresh pages. Size classes are 256
// bytes and, above that, four classes per power of two (at most 25% waste).
//
// Reuse is safe on asynchronous devices because a device runs its queued
// kernels in order: a buffer freed while queued work still reads it is only
// handed to later work, and any host access goes through Device.HostBytes,
// which waits first. Allocator is safe for concurrent use.
type Allocator struct {
	newBuffer func(size int) (*Buffer, error)

	mu    sync.Mutex
	free  map[int][]*Buffer
	stats AllocStats
}

// AllocStats counts an allocator's work.
type AllocStats struct {
	Gets     int64 // buffers handed out
	Fresh    int64 // of those, newly allocated from the device
	InUse    int64 // bytes handed out and not yet returned
	Cached   int64 // bytes in free lists
	Capacity int64 // bytes allocated from the device, in use or cached
}

// NewAllocator returns an allocator that gets new buffers of an exact
// size class from newBuffer.
func NewAllocator(newBuffer func(size int) (*Buffer, error)) *Allocator {
	return &Allocator{newBuffer: newBuffer, free: map[int][]*Buffer{}}
}

// SizeClass is the capacity the allocator gives a request of n bytes.
func SizeClass(n int) int {
	if n <= 256 {
		return 256
	}
	step := 1 << (bits.Len(uint(n-1)) - 3)
	return (n + step - 1) / step * step
}

// Get returns a buffer of at least n bytes with unspecified contents.
func (a *Allocator) Get(n int) (*Buffer, error) {
	c := SizeClass(n)
	a.mu.Lock()
	a.stats.Gets++
	a.stats.InUse += int64(c)
	if l := a.free[c]; len(l) > 0 {
		b := l[len(l)-1]
		a.free[c] = l[:len(l)-1]
		a.stats.Cached -= int64(c)
		a.mu.Unlock()
		return b, nil
	}
	a.stats.Fresh++
	a.stats.Capacity += int64(c)
	a.mu.Unlock()
	b, err := a.newBuffer(c)
	if err != nil {
		a.mu.Lock()
		a.stats.InUse -= int64(c)
		a.stats.Capacity -= int64(c)
		a.mu.Unlock()
		return nil, fmt.Errorf("allocating %d bytes: %w", c, err)
	}
	return b, nil
}

// Put returns a buffer for reuse.
func (a *Allocator) Put(b *Buffer) {
	c := len(b.Mem)
	a.mu.Lock()
	a.free[c] = append(a.free[c], b)
	a.stats.InUse -= int64(c)
	a.stats.Cached += int64(c)
	a.mu.Unlock()
}

// Trim drops every cached buffer (the device frees them when unreachable).
func (a *Allocator) Trim() {
	a.mu.Lock()
	a.stats.Capacity -= a.stats.Cached
	a.stats.Cached = 0
	a.free = map[int][]*Buffer{}
	a.mu.Unlock()
}

// Stats reports the allocator's counters.
func (a *Allocator) Stats() AllocStats {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stats
}

// Package driver is the narrow interface between ingot's Metal device and
// an implementation of Metal: the real Metal.framework on darwin (package
// metal, files *_darwin.go) or the MSL emulator (package metal/emu) that
// runs the same shaders/*.metal sources on the CPU for tests on Linux.
//
// It is a leaf package so that drivers and the tests of package metal can
// import it without import cycles.
//
// Threading: every method of Driver, Buffer, Pipeline and CommandBuffer must
// be called from the one OS thread that opened the driver (the Metal device's
// locked goroutine), except Buffer.Contents, whose memory the host may touch
// from any goroutine once no queued work uses the buffer. Implementations
// report a call from another thread as an error (emulator) or document it.
package driver

import "unsafe"

// Driver is one opened Metal GPU.
type Driver interface {
	// Info describes the GPU.
	Info() Info
	// Compile compiles MSL sources into the library that Pipeline looks up.
	// An error carries the compiler's message and names the source file.
	Compile(sources []Source) error
	// Pipeline returns the compute pipeline of a kernel function (a kernel's
	// name, or the host_name of a template instantiation) of the compiled
	// library. Pipelines are cached: the same name gives the same Pipeline.
	Pipeline(name string) (Pipeline, error)
	// NewBuffer allocates a buffer of size bytes in shared (unified)
	// storage, zero-filled, whose Contents the host may read and write.
	NewBuffer(size int) (Buffer, error)
	// NewCommandBuffer starts a command buffer with one serial compute
	// encoder: its dispatches run in the order they are encoded, each seeing
	// the writes of the ones before it.
	NewCommandBuffer() (CommandBuffer, error)
	// PushPool and PopPool bracket a batch of work with an autorelease pool
	// (a no-op where there is none). Pops pair with pushes, on the driver's
	// thread, innermost first.
	PushPool() Pool
	PopPool(Pool)
	// Close releases the driver. Queued work must have completed.
	Close() error
}

// Pool is a token returned by PushPool.
type Pool uintptr

// Info describes a GPU.
type Info struct {
	Name                     string // e.g. "Apple M2 Max" or "MSL emulator"
	Family                   string // highest Apple GPU family supported, e.g. "Apple8"
	UnifiedMemory            bool
	MaxThreadgroupMemory     int    // bytes of threadgroup memory per threadgroup
	MaxThreadsPerThreadgroup int    // device limit
	LanguageVersion          string // MSL version the library is compiled with, e.g. "3.0"
	Emulated                 bool   // true for the emulator: nothing runs on a GPU
}

// Source is one MSL source file.
type Source struct {
	Name string // file name, e.g. "gemm.metal", used in error messages
	Text string
}

// Buffer is a GPU buffer in shared storage.
type Buffer interface {
	// Contents is the host address of the buffer's bytes. It stays valid
	// until Release.
	Contents() unsafe.Pointer
	// Len is the buffer's size in bytes.
	Len() int
	// Release frees the buffer. Work using it must have completed.
	Release()
}

// Pipeline is a compiled compute kernel.
type Pipeline interface {
	Name() string
	MaxTotalThreadsPerThreadgroup() int
	ThreadExecutionWidth() int // SIMD width; ingot's kernels require 32
	StaticThreadgroupMemoryLength() int
}

// Size is Metal's MTLSize.
type Size struct{ X, Y, Z int }

// Arg is one argument bound at [[buffer(i)]] where i is its position in
// Dispatch.Args: either a buffer at a byte offset, or inline bytes
// (setBytes; Metal allows at most 4 KB).
type Arg struct {
	Buffer Buffer
	Offset int
	Bytes  []byte
}

// Dispatch is one compute dispatch.
type Dispatch struct {
	Pipeline Pipeline
	Args     []Arg
	// ThreadgroupMemory[i] is the length in bytes of [[threadgroup(i)]]
	// (a multiple of 16).
	ThreadgroupMemory []int
	Threadgroups      Size // grid size in threadgroups
	Threads           Size // threads per threadgroup
}

// CommandBuffer collects dispatches and runs them when committed.
type CommandBuffer interface {
	// Encode appends a dispatch. An invalid dispatch (zero size, too many
	// threads, too much threadgroup memory) is reported by Wait.
	Encode(d *Dispatch)
	// Commit ends encoding and queues the work; it runs asynchronously.
	Commit()
	// Wait blocks until the committed work has finished and returns its
	// error, if any (a GPU fault, an emulator trap, an invalid dispatch).
	Wait() error
	// GPUTime returns the seconds the work took on the GPU (for benchmarks);
	// valid after Wait.
	GPUTime() float64
}

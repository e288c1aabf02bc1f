// Package tensor owns ingot's n-dimensional arrays, their reverse-mode
// automatic differentiation, and the devices that compute them.
//
// # Tensors
//
// A Tensor has a dtype (Float32 for values, Int32 for indices; Float16 is
// reserved), a shape of up to MaxRank dimensions, and lives on one Device.
// Views (Reshape of contiguous data, Transpose, Permute, Slice,
// BroadcastTo) share storage; MatMul reads transposed views in place. Ops
// are functions (Add, MatMul, Softmax…) that broadcast like NumPy and panic
// on programmer error — mismatched shapes, mixed devices — with a message
// naming the op, the shapes and the devices, as slice indexing does.
//
// # Gradients
//
// Leaves that need gradients are marked with SetRequiresGrad. An op records
// its backward step exactly when one of its inputs requires gradients:
// there is no global "no grad" switch, so a goroutine running inference on
// tensors that do not require gradients (for example Detach'ed parameters)
// never disturbs one that is training. Backward (from a scalar) or
// BackwardWith (from a given upstream gradient) adds into each leaf's Grad;
// gradients accumulate across calls until ZeroGrad.
//
// # Memory
//
// Every device allocates through a caching Allocator. Release returns a
// tensor's buffer once no view shares it; ReleaseGraph releases every
// intermediate tensor of a finished step. A training loop that calls
// ReleaseGraph after each step reuses the same buffers every step and takes
// almost nothing new from the Go heap or the OS. Tensors that are never
// released are reclaimed by the garbage collector instead.
//
// # Devices and kernels
//
// A Device is a small interface: a name, a kernel table, an allocator, host
// access to buffers and Sync. All computation goes through kernels:
// NewKernel declares a kernel with a typed parameter struct, Implement
// registers a device's implementation, Kernel.Run runs it. The primitive
// kernels (kernels.go) are what tensor ops lower to; packages add fused
// kernels the same way, without widening Device. The rule that every kernel
// has a CPU and an MSL implementation and a conformance case is enforced by
// package devicetest.
//
// Devices register themselves on import (RegisterDevice, like database/sql
// drivers). Default picks the most preferred one that opens on this machine,
// or the one INGOT_DEVICE names (cpu, metal). The CPU device is always
// present; it runs kernels synchronously on a persistent worker pool.
// Asynchronous devices (Metal) queue kernels and commit them in batches;
// HostBytes and the host accessors (Float32s, Item, CopyFrom) wait for
// queued work first, so no op forces a round trip by itself.
//
// # Concurrency
//
// Devices, allocators, kernel tables and RNGs are safe for concurrent use.
// A Tensor's values are immutable after the op that made it, except through
// the explicit in-place methods (CopyFrom, ZeroGrad, optimizer updates), so
// tensors may be read concurrently; one graph must not run Backward from two
// goroutines at once.
package tensor

// Package bench holds ingot's side-by-side performance figures: benchmark
// definitions that time ingot's kernels next to in-process references (gonum
// for GEMM) and print a comparison table or JSON lines. The CLI's
// `ingot bench` subcommands are thin wrappers over this package.
//
// Benchmarks change process-wide settings while they run (the GEMM kernel
// path, the worker-pool thread count and GOMAXPROCS) and restore them after,
// so they must not run concurrently with other work in the same process.
package bench

// Package safetensors reads and writes the weight-file format every ingot model
// family shares: safetensors (https://github.com/huggingface/safetensors),
// optionally wrapped in a zstd stream (".safetensors.zst").
//
// It knows nothing about tensors, devices or modules: a [File] is a set of named
// raw little-endian row-major tensors ([Tensor]) plus string→string metadata. The
// nn package maps modules onto it.
//
// # Format
//
// An 8-byte little-endian header length N, then N bytes of UTF-8 JSON starting
// with '{' (padded with trailing spaces to a multiple of 8 so the buffer is
// 8-byte aligned), then the byte buffer. The header maps each tensor name to
// {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the
// buffer start); the optional "__metadata__" key maps strings to strings only.
//
// The writer is deterministic and matches the reference writer's layout:
// "__metadata__" first with sorted keys, then tensors ordered by dtype alignment
// descending, then by name, so every tensor starts at a multiple of its element
// size; offsets are contiguous and cover the buffer exactly.
//
// The reader is strict: duplicate keys (at any level), metadata values that are
// not strings, unknown dtypes or tensor fields, shapes whose byte size disagrees
// with the offsets, gaps, overlaps, out-of-range offsets, a header length larger
// than the file or than [Limits.MaxHeader], truncated files, trailing bytes and
// corrupt zstd frames are all errors wrapping [ErrFormat] (or [ErrTooLarge] for
// limits) that name the problem and the tensor. Bad input never panics.
//
// # Memory
//
// Reading never allocates from a size it has not seen arrive: buffers grow
// (at most doubling) as bytes are read, so a header that lies about sizes costs
// no more than the bytes actually present. zstd input is additionally bounded by
// [Limits.MaxTotal] on the decoded size (zstd can legitimately compress far
// below the decoded size, so the compressed size is no bound) and by
// [Limits.MaxWindow] on the decoder's window, which the zstd decoder allocates
// up front when a frame starts.
//
// # Reduced precision
//
// [File.AddFloat32] can store float32 values as F16 or BF16, both rounded to
// nearest, ties to even:
//
//   - F16: relative error ≤ 2⁻¹¹ ≈ 4.9e-4 for 6.1e-5 (2⁻¹⁴) ≤ |x| ≤ 65504;
//     below 2⁻¹⁴ values are subnormal with absolute error ≤ 2⁻²⁵ ≈ 3.0e-8
//     (so |x| ≤ 2⁻²⁵ becomes ±0); |x| ≥ 65520 becomes ±Inf.
//   - BF16: relative error ≤ 2⁻⁸ ≈ 3.9e-3 over the whole float32 normal range
//     (same exponent range as float32); float32 subnormals get absolute error
//     ≤ 2⁻¹³⁴; |x| ≥ (2−2⁻⁸)·2¹²⁷ becomes ±Inf.
//
// NaN stays NaN (quiet, sign kept), ±Inf and ±0 are exact. Decoding F16 and BF16
// to float32 is exact.
package safetensors

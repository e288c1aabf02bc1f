// Test kernels for the MSL emulator (package metal/emu). They use only MSL
// that a Mac's Metal compiler also accepts.
#include <metal_stdlib>
using namespace metal;

struct AddParams {
    uint n;
    float scale;
};

// out[i] = scale * (a[i] + b[i]) for i < n
kernel void vec_add(device const float* a [[buffer(0)]],
                    device const float* b [[buffer(1)]],
                    device float* out [[buffer(2)]],
                    constant AddParams& p [[buffer(3)]],
                    uint gid [[thread_position_in_grid]]) {
    if (gid >= p.n) return;
    out[gid] = p.scale * (a[gid] + b[gid]);
}

// Every thread writes the attributes it sees: 24 uints per thread at
// (group linear index * threads per group + thread index) * 24.
kernel void ids(device uint* out [[buffer(0)]],
                uint3 tpig [[thread_position_in_grid]],
                uint3 tptg [[thread_position_in_threadgroup]],
                uint3 tgpig [[threadgroup_position_in_grid]],
                uint3 tpt [[threads_per_threadgroup]],
                uint3 tgpg [[threadgroups_per_grid]],
                uint tidx [[thread_index_in_threadgroup]],
                uint lane [[thread_index_in_simdgroup]],
                uint sg [[simdgroup_index_in_threadgroup]],
                uint simdw [[threads_per_simdgroup]],
                uint2 tpig2 [[thread_position_in_grid]],
                ushort nsg [[simdgroups_per_threadgroup]]) {
    uint g = (tgpig.z * tgpg.y + tgpig.y) * tgpg.x + tgpig.x;
    uint n = tpt.x * tpt.y * tpt.z;
    device uint* o = out + (g * n + tidx) * 24;
    o[0] = tpig.x; o[1] = tpig.y; o[2] = tpig.z;
    o[3] = tptg.x; o[4] = tptg.y; o[5] = tptg.z;
    o[6] = tgpig.x; o[7] = tgpig.y; o[8] = tgpig.z;
    o[9] = tpt.x; o[10] = tpt.y; o[11] = tpt.z;
    o[12] = tgpg.x; o[13] = tgpg.y; o[14] = tgpg.z;
    o[15] = tidx; o[16] = lane; o[17] = sg; o[18] = simdw;
    o[19] = tpig2.x; o[20] = tpig2.y; o[21] = nsg;
    o[22] = 0xabcd; o[23] = 0;
}

// Sum of each threadgroup's slice: a tree reduction in dynamic threadgroup
// memory, then the partials of the 4 quarters through a static array.
kernel void reduce_sum(device const float* in [[buffer(0)]],
                       device float* out [[buffer(1)]],
                       threadgroup float* scratch [[threadgroup(0)]],
                       uint lid [[thread_position_in_threadgroup]],
                       uint gid [[threadgroup_position_in_grid]],
                       uint n [[threads_per_threadgroup]]) {
    threadgroup float quarter[4];
    scratch[lid] = in[gid * n + lid];
    threadgroup_barrier(mem_flags::mem_threadgroup);
    uint q = n / 4;
    for (uint s = q / 2; s > 0; s /= 2) {
        if (lid % q < s) {
            scratch[lid] += scratch[lid + s];
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    if (lid % q == 0) {
        quarter[lid / q] = scratch[lid];
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    if (lid == 0) {
        out[gid] = quarter[0] + quarter[1] + quarter[2] + quarter[3];
    }
}

// SIMD collectives: 8 outputs per thread.
kernel void simd_ops(device const float* in [[buffer(0)]],
                     device float* out [[buffer(1)]],
                     uint gid [[thread_position_in_grid]],
                     uint lane [[thread_index_in_simdgroup]]) {
    float x = in[gid];
    device float* o = out + gid * 8;
    o[0] = simd_sum(x);
    o[1] = simd_max(x);
    o[2] = simd_min(x);
    o[3] = simd_shuffle_down(x, 3);
    o[4] = simd_shuffle_xor(x, 5);
    o[5] = simd_broadcast(x, 7);
    o[6] = simd_prefix_exclusive_sum(x);
    // divergent branches: two identical-looking sums that an optimiser
    // would like to merge into one after the branch
    if (lane < 10) {
        o[7] = simd_sum(x);
    } else {
        o[7] = simd_sum(x);
    }
}

// C = A * B with A (M x K), B (K x N) row-major, M, N, K multiples of 8;
// one SIMD group per 8x8 tile of C; B read transposed when bt != 0 (then B
// is stored N x K).
struct MatParams {
    uint M, N, K, bt;
};
kernel void matmul8(device const float* A [[buffer(0)]],
                    device const float* B [[buffer(1)]],
                    device float* C [[buffer(2)]],
                    constant MatParams& p [[buffer(3)]],
                    uint2 tg [[threadgroup_position_in_grid]]) {
    simdgroup_float8x8 acc = make_filled_simdgroup_matrix<float, 8, 8>(0.0f);
    simdgroup_float8x8 a, b;
    for (uint k = 0; k < p.K; k += 8) {
        simdgroup_load(a, A, p.K, ulong2(k, tg.y * 8));
        if (p.bt != 0) {
            simdgroup_load(b, B, p.K, ulong2(k, tg.x * 8), true);
        } else {
            simdgroup_load(b, B, p.N, ulong2(tg.x * 8, k));
        }
        simdgroup_multiply_accumulate(acc, a, b, acc);
    }
    simdgroup_store(acc, C, p.N, ulong2(tg.x * 8, tg.y * 8));
}

// A template with two named instantiations.
template <typename T, int K>
kernel void scale_k(device T* x [[buffer(0)]], uint i [[thread_position_in_grid]]) {
    x[i] = x[i] * T(K) + T(1);
}
template [[host_name("scale_f2")]] kernel void scale_k<float, 2>(device float*, uint);
template [[host_name("scale_i3")]] [[kernel]] void scale_k<int, 3>(device int* x [[buffer(0)]], uint i [[thread_position_in_grid]]);

// Vector types and swizzles: out[i] = (v.wzyx * 2 + v.xxyy, dot(v.xy, v.zw), ...).
kernel void swizzle(device const float4* in [[buffer(0)]],
                    device float4* out [[buffer(1)]],
                    uint i [[thread_position_in_grid]]) {
    float4 v = in[i];
    float4 r = v.wzyx * 2.0 + float4(v.xx, v.yy);
    float2 lo = v.xy;
    float3 t = float3(lo, v.z);
    r.xy += float2(dot(v.xy, v.zw), length_squared(t));
    out[2 * i] = r;
    float4 m = max(v, float4(0.5));
    m.zw = v.xy;
    out[2 * i + 1] = float4(select(m.xy, float2(-1.0), v.xy > v.zw), exp(v.z), fma(v.x, v.y, v.w));
}

// Histogram of bytes with device atomics.
kernel void histogram(device const uchar* in [[buffer(0)]],
                      device atomic_uint* bins [[buffer(1)]],
                      uint i [[thread_position_in_grid]]) {
    atomic_fetch_add_explicit(&bins[in[i] % 16], 1u, memory_order_relaxed);
}

// Spins until the host sets flag[0] = 1, then writes 1 (or 2 if it gave up
// after a bounded number of tries): shows that committed work runs
// asynchronously while the host goes on.
kernel void wait_flag(device atomic_uint* flag [[buffer(0)]],
                      device uint* out [[buffer(1)]]) {
    for (uint i = 0; i < 2000000000u; i++) {
        if (atomic_load_explicit(&flag[0], memory_order_relaxed) == 1u) {
            out[0] = 1;
            return;
        }
    }
    out[0] = 2;
}

// At most 64 threads per threadgroup; a constant const reference.
[[max_total_threads_per_threadgroup(64)]]
kernel void limited(device float* out [[buffer(0)]],
                    constant const float& v [[buffer(1)]],
                    uint i [[thread_position_in_grid]]) {
    out[i] = v + 1.5;
}

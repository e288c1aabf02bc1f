// Assorted MSL features the shim must support, one result slot each.
#include <metal_stdlib>
using namespace metal;

constant float table[4] = {0.5, 1.5, 2.5, 3.5};
constant constexpr uint kShift = 3;

template <typename T>
inline T twice(T x) {
    if constexpr (is_same_v<T, float>) {
        return x * 2.0;
    } else {
        return x << 1;
    }
}

// a helper with a barrier, called by every thread
inline float neighbour(threadgroup float* s, uint lid, float v, uint n) {
    s[lid] = v;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    return s[(lid + 1) % n];
}

kernel void features(device float* out [[buffer(0)]],
                     device uint* uout [[buffer(1)]],
                     threadgroup float* s [[threadgroup(0)]],
                     uint lid [[thread_index_in_threadgroup]],
                     uint lane [[thread_index_in_simdgroup]],
                     uint n [[threads_per_threadgroup]]) {
    threadgroup atomic_uint counter;
    if (lid == 0) {
        atomic_store_explicit(&counter, 0u, memory_order_relaxed);
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    atomic_fetch_add_explicit(&counter, lid, memory_order_relaxed);
    threadgroup_barrier(mem_flags::mem_threadgroup);

    float x = float(lid) * 0.25 - 1.0;
    device float* o = out + lid * 16;
    device uint* u = uout + lid * 8;
    o[0] = metal::precise::exp(x);
    o[1] = fast::tanh(x);
    o[2] = clamp(x, -0.5, 0.5);
    o[3] = select(1.0, 2.0, x > 0.0);
    o[4] = table[lid % 4];
    o[5] = twice(x);
    o[6] = neighbour(s, lid, x, n);
    o[7] = simd_shuffle_up(x, 2);
    o[8] = simd_prefix_inclusive_sum(x);
    o[9] = simd_broadcast_first(x + 1.0);
    float4 v = float4(x, 2.0 * x, 1.0, -x);
    float4 sv = simd_sum(v);
    o[10] = sv.y;
    o[11] = isinf(numeric_limits<float>::infinity()) && isnan(NAN) ? 1.0 : 0.0;
    o[12] = fmax(x, 0.0) + abs(x) + sign(x);
    o[13] = rsqrt(4.0 + x * x);
    uint2 p = uint2(lid, lid + 1);
    p.yx += uint2(10, 20);
    o[14] = float(p.x) + float(p.y) * 0.5;
    o[15] = as_type<float>(as_type<uint>(x) ^ 0x80000000u);
    u[0] = twice(lid) >> kShift;
    u[1] = simd_max(lid * 7 % 13);
    u[2] = atomic_load_explicit(&counter, memory_order_relaxed);
    u[3] = popcount(lid) + clz(lid + 1u);
    u[4] = as_type<uint>(1.0);
    ulong big = ulong(lid) * 4000000000ul;
    u[5] = uint(big >> 32);
    u[6] = simd_sum(lane < 5 ? 1u : 0u);
    u[7] = uint(int(lid) - 40) / 3u;
    if (lane >= 3) {
        o[11] += simd_is_first() ? 10.0 : 0.0;
    }
}

// Instantiations stamped out by a macro (MLX style).
template <typename T>
kernel void fill_k(device T* x [[buffer(0)]], uint i [[thread_position_in_grid]]) {
    x[i] = T(i) * T(3);
}
#define INSTANTIATE_FILL(tname, T) \
    template [[host_name("fill_" #tname)]] kernel void fill_k<T>(device T*, uint);
INSTANTIATE_FILL(f32, float)
INSTANTIATE_FILL(u32, uint)

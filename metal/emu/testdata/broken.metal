// Deliberately broken kernels: each has a bug the emulator must catch.
#include <metal_stdlib>
using namespace metal;

// Missing barrier: threads read a neighbour's slot before it was written.
kernel void missing_barrier(device float* out [[buffer(0)]],
                            uint gid [[threadgroup_position_in_grid]],
                            uint lid [[thread_position_in_threadgroup]],
                            uint n [[threads_per_threadgroup]]) {
    threadgroup float shared[64];
    shared[lid] = float(lid);
    // BUG: threadgroup_barrier(mem_flags::mem_threadgroup) missing here
    out[gid * n + lid] = shared[(lid + 1) % n];
}

// Barrier reached by only half of the threadgroup.
kernel void partial_barrier(device float* out [[buffer(0)]],
                            uint lid [[thread_position_in_threadgroup]]) {
    if (lid < 16) {
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    out[lid] = 1.0;
}

// Barriers at two different call sites.
kernel void divergent_barrier(device float* out [[buffer(0)]],
                              uint lid [[thread_position_in_threadgroup]]) {
    if (lid % 2 == 0) {
        threadgroup_barrier(mem_flags::mem_threadgroup);
    } else {
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    out[lid] = 1.0;
}

// Odd lanes return early; even lanes read them with a shuffle.
kernel void inactive_lane(device float* out [[buffer(0)]],
                          uint lane [[thread_index_in_simdgroup]]) {
    if (lane % 2 == 1) {
        return;
    }
    out[lane] = simd_shuffle_down(float(lane), 1);
}

// 9000 floats = 36000 bytes of threadgroup memory, over the 32 KiB limit.
kernel void tg_too_big(device float* out [[buffer(0)]],
                       uint lid [[thread_position_in_threadgroup]]) {
    threadgroup float big[9000];
    big[lid] = 1.0;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    out[lid] = big[0];
}

// Reads one element past the end of its input (for the ASan test).
kernel void oob_read(device const float* in [[buffer(0)]],
                     device float* out [[buffer(1)]],
                     constant uint& n [[buffer(2)]],
                     uint i [[thread_position_in_grid]]) {
    out[i] = in[i + n];
}

// Uses an uninitialised accumulator.
kernel void uninit_acc(device const float* in [[buffer(0)]],
                       device float* out [[buffer(1)]],
                       uint i [[thread_position_in_grid]]) {
    float acc;
    for (uint k = 0; k < 4; k++) {
        acc += in[4 * i + k];
    }
    out[i] = acc;
}

// SIMD group 1 reads what SIMD group 0 wrote with only a simdgroup_barrier
// in between (a threadgroup_barrier is needed).
kernel void simd_barrier_only(device float* out [[buffer(0)]],
                              uint lid [[thread_index_in_threadgroup]]) {
    threadgroup float shared[64];
    shared[lid] = float(lid);
    simdgroup_barrier(mem_flags::mem_threadgroup);
    out[lid] = shared[(lid + 32) % 64];
}

// Indexes one past the end of a threadgroup array (for the ASan test).
kernel void tg_oob(device float* out [[buffer(0)]],
                   uint lid [[thread_index_in_threadgroup]]) {
    threadgroup float s[32];
    s[lid] = 1.0;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    out[lid] = s[lid + 1];
}

// Divides by a parameter that is zero.
kernel void div_zero(device uint* out [[buffer(0)]],
                     constant uint& d [[buffer(1)]],
                     uint i [[thread_position_in_grid]]) {
    out[i] = (i + 7u) / d;
}

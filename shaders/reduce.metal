// Reductions along the middle axis of a contiguous [outer, axis, inner]
// array, and (log-)softmax along such an axis. Two shapes of kernel each:
// *_group gives each output a threadgroup (long axes: lanes stride the axis,
// then a SIMD-group tree and a threadgroup step combine partials);
// *_thread gives each output one thread (short axes, many outputs).
#include "ingot.h"

struct ReduceArgs {
    int op; // 1 sum, 2 max, 3 min (tensor.ReduceOp)
    int outer;
    int axis;
    int inner;
};

inline float reduce_init(int op) {
    return op == 1 ? 0.0f : (op == 2 ? -INFINITY : INFINITY);
}

// combine is NaN-propagating for max and min.
inline float combine(int op, float acc, float v) {
    if (op == 1) {
        return acc + v;
    }
    if (acc != acc) {
        return acc;
    }
    if (v != v) {
        return v;
    }
    return op == 2 ? max(acc, v) : min(acc, v);
}

// group_reduce combines one value per thread of a group of up to 1024
// threads (a multiple of 32); every thread receives the result.
inline float group_reduce(int op, float v, threadgroup float* partial, uint tid, uint lane, uint sg, uint nsg) {
    for (ushort off = 16; off > 0; off /= 2) {
        v = combine(op, v, simd_shuffle_down(v, off));
    }
    if (lane == 0) {
        partial[sg] = v;
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    if (sg == 0) {
        float w = lane < nsg ? partial[lane] : reduce_init(op);
        for (ushort off = 16; off > 0; off /= 2) {
            w = combine(op, w, simd_shuffle_down(w, off));
        }
        if (lane == 0) {
            partial[0] = w;
        }
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    float r = partial[0];
    threadgroup_barrier(mem_flags::mem_threadgroup);
    return r;
}

kernel void reduce_group(device float* out [[buffer(0)]],
                         device const float* x [[buffer(1)]],
                         constant ReduceArgs& p [[buffer(2)]],
                         uint3 tgpig [[threadgroup_position_in_grid]],
                         uint3 tgpg [[threadgroups_per_grid]],
                         uint tid [[thread_index_in_threadgroup]],
                         uint3 tpt [[threads_per_threadgroup]],
                         uint lane [[thread_index_in_simdgroup]],
                         uint sg [[simdgroup_index_in_threadgroup]]) {
    threadgroup float partial[32];
    int o = int(tgpig.y * tgpg.x + tgpig.x);
    if (o >= p.outer * p.inner) {
        return;
    }
    int base = (o / p.inner) * p.axis * p.inner + o % p.inner;
    float acc = reduce_init(p.op);
    for (int k = int(tid); k < p.axis; k += int(tpt.x)) {
        acc = combine(p.op, acc, x[base + k * p.inner]);
    }
    acc = group_reduce(p.op, acc, partial, tid, lane, sg, (tpt.x + 31) / 32);
    if (tid == 0) {
        out[o] = acc;
    }
}

kernel void reduce_thread(device float* out [[buffer(0)]],
                          device const float* x [[buffer(1)]],
                          constant ReduceArgs& p [[buffer(2)]],
                          uint3 tgpig [[threadgroup_position_in_grid]],
                          uint3 tgpg [[threadgroups_per_grid]],
                          uint3 tptg [[thread_position_in_threadgroup]],
                          uint3 tpt [[threads_per_threadgroup]]) {
    int o = flat_id(tgpig, tgpg, tptg, tpt);
    if (o >= p.outer * p.inner) {
        return;
    }
    int base = (o / p.inner) * p.axis * p.inner + o % p.inner;
    float acc = reduce_init(p.op);
    for (int k = 0; k < p.axis; k++) {
        acc = combine(p.op, acc, x[base + k * p.inner]);
    }
    out[o] = acc;
}

struct SoftmaxArgs {
    int log;
    int outer;
    int axis;
    int inner;
};

kernel void softmax_group(device float* out [[buffer(0)]],
                          device const float* x [[buffer(1)]],
                          constant SoftmaxArgs& p [[buffer(2)]],
                          uint3 tgpig [[threadgroup_position_in_grid]],
                          uint3 tgpg [[threadgroups_per_grid]],
                          uint tid [[thread_index_in_threadgroup]],
                          uint3 tpt [[threads_per_threadgroup]],
                          uint lane [[thread_index_in_simdgroup]],
                          uint sg [[simdgroup_index_in_threadgroup]]) {
    threadgroup float partial[32];
    int o = int(tgpig.y * tgpg.x + tgpig.x);
    if (o >= p.outer * p.inner) {
        return;
    }
    int base = (o / p.inner) * p.axis * p.inner + o % p.inner;
    uint nsg = (tpt.x + 31) / 32;
    float m = -INFINITY;
    for (int k = int(tid); k < p.axis; k += int(tpt.x)) {
        m = combine(2, m, x[base + k * p.inner]);
    }
    m = group_reduce(2, m, partial, tid, lane, sg, nsg);
    float s = 0.0f;
    for (int k = int(tid); k < p.axis; k += int(tpt.x)) {
        s += precise::exp(x[base + k * p.inner] - m);
    }
    s = group_reduce(1, s, partial, tid, lane, sg, nsg);
    float ls = precise::log(s);
    for (int k = int(tid); k < p.axis; k += int(tpt.x)) {
        int i = base + k * p.inner;
        float v = x[i] - m - ls;
        out[i] = p.log ? v : precise::exp(v);
    }
}

kernel void softmax_thread(device float* out [[buffer(0)]],
                           device const float* x [[buffer(1)]],
                           constant SoftmaxArgs& p [[buffer(2)]],
                           uint3 tgpig [[threadgroup_position_in_grid]],
                           uint3 tgpg [[threadgroups_per_grid]],
                           uint3 tptg [[thread_position_in_threadgroup]],
                           uint3 tpt [[threads_per_threadgroup]]) {
    int o = flat_id(tgpig, tgpg, tptg, tpt);
    if (o >= p.outer * p.inner) {
        return;
    }
    int base = (o / p.inner) * p.axis * p.inner + o % p.inner;
    float m = -INFINITY;
    for (int k = 0; k < p.axis; k++) {
        m = combine(2, m, x[base + k * p.inner]);
    }
    float s = 0.0f;
    for (int k = 0; k < p.axis; k++) {
        s += precise::exp(x[base + k * p.inner] - m);
    }
    float ls = precise::log(s);
    for (int k = 0; k < p.axis; k++) {
        int i = base + k * p.inner;
        float v = x[i] - m - ls;
        out[i] = p.log ? v : precise::exp(v);
    }
}

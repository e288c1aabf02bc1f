// Batch normalisation in training mode over a contiguous [outer, c, inner]
// input (package nn/kernels: BatchNormStatsParams, BatchNormApplyParams,
// BatchNormGradParams define the arithmetic). The statistics and the
// backward give each channel one threadgroup whose lanes stride the
// channel's outer·inner values, combined by a SIMD-group tree and a
// threadgroup step; the apply kernel is one thread per element.
#include "ingot.h"

struct BNStatsArgs {
    int outer, c, inner;
    float eps, momentum;
    int update;
};

struct BNApplyArgs {
    int outer, c, inner;
};

struct BNGradArgs {
    int outer, c, inner;
    int need_dx, need_dw, need_db;
};

// bn_group_sum adds one value per thread of a group of up to 1024 threads
// (a multiple of 32); every thread receives the sum.
inline float bn_group_sum(float v, threadgroup float* partial, uint lane, uint sg, uint nsg) {
    v = simd_sum(v);
    if (lane == 0) {
        partial[sg] = v;
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    if (sg == 0) {
        float w = lane < nsg ? partial[lane] : 0.0f;
        w = simd_sum(w);
        if (lane == 0) {
            partial[0] = w;
        }
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    float r = partial[0];
    threadgroup_barrier(mem_flags::mem_threadgroup);
    return r;
}

// bn_index is where the k-th value (k < outer·inner) of channel ch lives.
inline int bn_index(int k, int ch, int c, int inner) {
    int o = k / inner;
    return (o * c + ch) * inner + (k - o * inner);
}

kernel void batchnorm_stats(device const float* x [[buffer(0)]],
                            device float* mean [[buffer(1)]],
                            device float* invstd [[buffer(2)]],
                            device float* rmean [[buffer(3)]],
                            device float* rvar [[buffer(4)]],
                            constant BNStatsArgs& p [[buffer(5)]],
                            uint3 tgpig [[threadgroup_position_in_grid]],
                            uint3 tgpg [[threadgroups_per_grid]],
                            uint tid [[thread_index_in_threadgroup]],
                            uint3 tpt [[threads_per_threadgroup]],
                            uint lane [[thread_index_in_simdgroup]],
                            uint sg [[simdgroup_index_in_threadgroup]]) {
    threadgroup float partial[32];
    int ch = int(tgpig.y * tgpg.x + tgpig.x);
    if (ch >= p.c) {
        return;
    }
    int n = p.outer * p.inner;
    uint nsg = (tpt.x + 31) / 32;
    float s = 0.0f;
    for (int k = int(tid); k < n; k += int(tpt.x)) {
        s += x[bn_index(k, ch, p.c, p.inner)];
    }
    float m = bn_group_sum(s, partial, lane, sg, nsg) / float(n);
    // Second pass about the first mean: the sums of d and d² correct it.
    float sd = 0.0f, sq = 0.0f;
    for (int k = int(tid); k < n; k += int(tpt.x)) {
        float d = x[bn_index(k, ch, p.c, p.inner)] - m;
        sd += d;
        sq = fma(d, d, sq);
    }
    sd = bn_group_sum(sd, partial, lane, sg, nsg);
    sq = bn_group_sum(sq, partial, lane, sg, nsg);
    if (tid == 0) {
        float dm = sd / float(n);
        float v = max(sq / float(n) - dm * dm, 0.0f);
        float mu = m + dm;
        mean[ch] = mu;
        invstd[ch] = 1.0f / precise::sqrt(v + p.eps);
        if (p.update) {
            float vu = v * (float(n) / float(n - 1));
            rmean[ch] += p.momentum * (mu - rmean[ch]);
            rvar[ch] += p.momentum * (vu - rvar[ch]);
        }
    }
}

kernel void batchnorm_apply(device float* y [[buffer(0)]],
                            device const float* x [[buffer(1)]],
                            device const float* mean [[buffer(2)]],
                            device const float* invstd [[buffer(3)]],
                            device const float* w [[buffer(4)]],
                            device const float* b [[buffer(5)]],
                            constant BNApplyArgs& p [[buffer(6)]],
                            uint3 tgpig [[threadgroup_position_in_grid]],
                            uint3 tgpg [[threadgroups_per_grid]],
                            uint3 tptg [[thread_position_in_threadgroup]],
                            uint3 tpt [[threads_per_threadgroup]]) {
    int i = flat_id(tgpig, tgpg, tptg, tpt);
    if (i >= p.outer * p.c * p.inner) {
        return;
    }
    int ch = (i / p.inner) % p.c;
    y[i] = (x[i] - mean[ch]) * (invstd[ch] * w[ch]) + b[ch];
}

kernel void batchnorm_bwd(device float* dx [[buffer(0)]],
                          device float* dw [[buffer(1)]],
                          device float* db [[buffer(2)]],
                          device const float* dy [[buffer(3)]],
                          device const float* x [[buffer(4)]],
                          device const float* mean [[buffer(5)]],
                          device const float* invstd [[buffer(6)]],
                          device const float* w [[buffer(7)]],
                          constant BNGradArgs& p [[buffer(8)]],
                          uint3 tgpig [[threadgroup_position_in_grid]],
                          uint3 tgpg [[threadgroups_per_grid]],
                          uint tid [[thread_index_in_threadgroup]],
                          uint3 tpt [[threads_per_threadgroup]],
                          uint lane [[thread_index_in_simdgroup]],
                          uint sg [[simdgroup_index_in_threadgroup]]) {
    threadgroup float partial[32];
    int ch = int(tgpig.y * tgpg.x + tgpig.x);
    if (ch >= p.c) {
        return;
    }
    int n = p.outer * p.inner;
    uint nsg = (tpt.x + 31) / 32;
    float m = mean[ch], is = invstd[ch];
    float sg_ = 0.0f, sgd = 0.0f;
    for (int k = int(tid); k < n; k += int(tpt.x)) {
        int j = bn_index(k, ch, p.c, p.inner);
        float g = dy[j];
        sg_ += g;
        sgd = fma(g, x[j] - m, sgd);
    }
    sg_ = bn_group_sum(sg_, partial, lane, sg, nsg);
    sgd = bn_group_sum(sgd, partial, lane, sg, nsg);
    if (tid == 0) {
        if (p.need_dw) {
            dw[ch] = sgd * is;
        }
        if (p.need_db) {
            db[ch] = sg_;
        }
    }
    if (!p.need_dx) {
        return;
    }
    float a = w[ch] * is;
    float k1 = sg_ / float(n);
    float k2 = sgd * is * is / float(n);
    for (int k = int(tid); k < n; k += int(tpt.x)) {
        int j = bn_index(k, ch, p.c, p.inner);
        dx[j] = a * (dy[j] - k1 - (x[j] - m) * k2);
    }
}

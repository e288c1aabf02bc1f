// Optimizer updates, one thread per parameter element, with the float32
// arithmetic of the CPU kernels (package nn/kernels: SGDParams, AdamParams,
// RMSPropParams define them), products rounded separately (no contraction),
// and the squared-sum reduction for gradient clipping.
#include "ingot.h"

#pragma clang fp contract(off)

struct SGDArgs {
    int n;
    float lr, weight_decay, momentum, dampening1;
    int nesterov, first;
};

kernel void sgd_update(device float* param [[buffer(0)]],
                       device const float* grad [[buffer(1)]],
                       device float* buf [[buffer(2)]],
                       constant SGDArgs& p [[buffer(3)]],
                       uint3 tgpig [[threadgroup_position_in_grid]],
                       uint3 tgpg [[threadgroups_per_grid]],
                       uint3 tptg [[thread_position_in_threadgroup]],
                       uint3 tpt [[threads_per_threadgroup]]) {
    int i = flat_id(tgpig, tgpg, tptg, tpt);
    if (i >= p.n) {
        return;
    }
    float d = grad[i];
    if (p.weight_decay != 0.0f) {
        d += p.weight_decay * param[i];
    }
    if (p.momentum != 0.0f) {
        float b = d;
        if (!p.first) {
            b = buf[i] * p.momentum + d * p.dampening1;
        }
        buf[i] = b;
        d = p.nesterov ? d + p.momentum * b : b;
    }
    param[i] += -p.lr * d;
}

struct AdamArgs {
    int n;
    float beta1, one_minus_beta1, beta2, one_minus_beta2;
    float eps, weight_decay, decay_factor;
    float step_size, bias_correction2_sqrt;
    int decoupled, amsgrad;
};

kernel void adam_update(device float* param [[buffer(0)]],
                        device const float* grad [[buffer(1)]],
                        device float* m [[buffer(2)]],
                        device float* v [[buffer(3)]],
                        device float* vmax [[buffer(4)]],
                        constant AdamArgs& p [[buffer(5)]],
                        uint3 tgpig [[threadgroup_position_in_grid]],
                        uint3 tgpg [[threadgroups_per_grid]],
                        uint3 tptg [[thread_position_in_threadgroup]],
                        uint3 tpt [[threads_per_threadgroup]]) {
    int i = flat_id(tgpig, tgpg, tptg, tpt);
    if (i >= p.n) {
        return;
    }
    float g = grad[i];
    float w = param[i];
    if (p.decoupled) {
        w *= p.decay_factor;
    } else if (p.weight_decay != 0.0f) {
        g += p.weight_decay * w;
    }
    float mi = m[i] * p.beta1 + g * p.one_minus_beta1;
    float vi = v[i] * p.beta2 + (p.one_minus_beta2 * g) * g;
    m[i] = mi;
    v[i] = vi;
    if (p.amsgrad) {
        vi = max(vmax[i], vi);
        vmax[i] = vi;
    }
    float denom = precise::sqrt(vi) / p.bias_correction2_sqrt + p.eps;
    param[i] = w + (-p.step_size * mi) / denom;
}

struct RMSPropArgs {
    int n;
    float lr, alpha, one_minus_alpha, eps, weight_decay, momentum;
    int centered;
};

kernel void rmsprop_update(device float* param [[buffer(0)]],
                           device const float* grad [[buffer(1)]],
                           device float* sq [[buffer(2)]],
                           device float* ga [[buffer(3)]],
                           device float* buf [[buffer(4)]],
                           constant RMSPropArgs& p [[buffer(5)]],
                           uint3 tgpig [[threadgroup_position_in_grid]],
                           uint3 tgpg [[threadgroups_per_grid]],
                           uint3 tptg [[thread_position_in_threadgroup]],
                           uint3 tpt [[threads_per_threadgroup]]) {
    int i = flat_id(tgpig, tgpg, tptg, tpt);
    if (i >= p.n) {
        return;
    }
    float g = grad[i];
    if (p.weight_decay != 0.0f) {
        g += p.weight_decay * param[i];
    }
    float s = sq[i] * p.alpha + (p.one_minus_alpha * g) * g;
    sq[i] = s;
    float avg;
    if (p.centered) {
        float a = ga[i] * p.alpha + g * p.one_minus_alpha;
        ga[i] = a;
        avg = precise::sqrt(s - a * a);
    } else {
        avg = precise::sqrt(s);
    }
    avg += p.eps;
    if (p.momentum > 0.0f) {
        float b = buf[i] * p.momentum + g / avg;
        buf[i] = b;
        param[i] += -p.lr * b;
    } else {
        param[i] += (-p.lr * g) / avg;
    }
}

struct SumSquaresArgs {
    int n;
};

// One threadgroup of 1024 threads: each sums a strided slice, then a
// SIMD-group tree and a threadgroup step combine the partials.
kernel void sum_squares(device float* out [[buffer(0)]],
                        device const float* x [[buffer(1)]],
                        constant SumSquaresArgs& p [[buffer(2)]],
                        uint tid [[thread_index_in_threadgroup]],
                        uint3 tpt [[threads_per_threadgroup]],
                        uint lane [[thread_index_in_simdgroup]],
                        uint sg [[simdgroup_index_in_threadgroup]]) {
    threadgroup float partial[32];
    float s = 0.0f;
    for (int i = int(tid); i < p.n; i += int(tpt.x)) {
        float v = x[i];
        s = fma(v, v, s);
    }
    s = simd_sum(s);
    if (lane == 0) {
        partial[sg] = s;
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    if (sg == 0) {
        uint nsg = (tpt.x + 31) / 32;
        float w = lane < nsg ? partial[lane] : 0.0f;
        w = simd_sum(w);
        if (lane == 0) {
            out[0] = w;
        }
    }
}

// Row gather (embedding lookup) and its deterministic scatter-add (no float
// atomics: each thread owns one output element and walks the indices).
#include "ingot.h"

struct GatherArgs {
    int n;
    int rows;
    int cols;
};

kernel void gather_rows(device float* out [[buffer(0)]],
                        device const float* table [[buffer(1)]],
                        device const int* index [[buffer(2)]],
                        device atomic_uint* status [[buffer(3)]],
                        constant GatherArgs& p [[buffer(4)]],
                        uint3 tgpig [[threadgroup_position_in_grid]],
                        uint3 tgpg [[threadgroups_per_grid]],
                        uint3 tptg [[thread_position_in_threadgroup]],
                        uint3 tpt [[threads_per_threadgroup]]) {
    int i = flat_id(tgpig, tgpg, tptg, tpt);
    if (i >= p.n * p.cols) {
        return;
    }
    int r = index[i / p.cols];
    if (r < 0 || r >= p.rows) {
        atomic_fetch_or_explicit(status, INGOT_ERR_INDEX, memory_order_relaxed);
        out[i] = NAN;
        return;
    }
    out[i] = table[r * p.cols + i % p.cols];
}

kernel void scatter_add_rows(device float* out [[buffer(0)]],
                             device const float* src [[buffer(1)]],
                             device const int* index [[buffer(2)]],
                             device atomic_uint* status [[buffer(3)]],
                             constant GatherArgs& p [[buffer(4)]],
                             uint3 tgpig [[threadgroup_position_in_grid]],
                             uint3 tgpg [[threadgroups_per_grid]],
                             uint3 tptg [[thread_position_in_threadgroup]],
                             uint3 tpt [[threads_per_threadgroup]]) {
    int o = flat_id(tgpig, tgpg, tptg, tpt);
    if (o >= p.rows * p.cols) {
        return;
    }
    int r = o / p.cols, c = o % p.cols;
    float acc = out[o];
    for (int i = 0; i < p.n; i++) {
        int k = index[i];
        if (k == r) {
            acc += src[i * p.cols + c];
        } else if ((k < 0 || k >= p.rows) && o == 0) {
            atomic_fetch_or_explicit(status, INGOT_ERR_INDEX, memory_order_relaxed);
        }
    }
    out[o] = acc;
}

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

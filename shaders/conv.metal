// im2col and col2im for convolutions as GEMMs (package nn/kernels: the
// ConvGeom, Im2colParams and Col2imParams docs define them). The column
// matrix is (C·KH·KW) × (N·OH·OW): the batch is folded into the columns so
// that one GEMM covers it. One thread per
// output element; col2im sums its (kh, kw) contributions in order, so it is
// deterministic without atomics.
#include "ingot.h"

struct ConvGeom {
    int n, c, h, w;
    int kh, kw;
    int oh, ow;
    int stride_h, stride_w;
    int pad_h, pad_w;
    int dil_h, dil_w;
};

kernel void im2col(device float* cols [[buffer(0)]],
                   device const float* x [[buffer(1)]],
                   constant ConvGeom& g [[buffer(2)]],
                   uint3 tgpig [[threadgroup_position_in_grid]],
                   uint3 tgpg [[threadgroups_per_grid]],
                   uint3 tptg [[thread_position_in_threadgroup]],
                   uint3 tpt [[threads_per_threadgroup]]) {
    int i = flat_id(tgpig, tgpg, tptg, tpt);
    int l = g.oh * g.ow;
    int rows = g.c * g.kh * g.kw;
    if (i >= g.n * rows * l) {
        return;
    }
    int nl = g.n * l;
    int r = i / nl, n = (i % nl) / l, col = i % l;
    int c = r / (g.kh * g.kw), k = r % (g.kh * g.kw);
    int kh = k / g.kw, kw = k % g.kw;
    int ih = (col / g.ow) * g.stride_h - g.pad_h + kh * g.dil_h;
    int iw = (col % g.ow) * g.stride_w - g.pad_w + kw * g.dil_w;
    float v = 0.0f;
    if (ih >= 0 && ih < g.h && iw >= 0 && iw < g.w) {
        v = x[((n * g.c + c) * g.h + ih) * g.w + iw];
    }
    cols[i] = v;
}

kernel void col2im(device float* x [[buffer(0)]],
                   device const float* cols [[buffer(1)]],
                   constant ConvGeom& g [[buffer(2)]],
                   uint3 tgpig [[threadgroup_position_in_grid]],
                   uint3 tgpg [[threadgroups_per_grid]],
                   uint3 tptg [[thread_position_in_threadgroup]],
                   uint3 tpt [[threads_per_threadgroup]]) {
    int i = flat_id(tgpig, tgpg, tptg, tpt);
    if (i >= g.n * g.c * g.h * g.w) {
        return;
    }
    int iw = i % g.w, ih = (i / g.w) % g.h, nc = i / (g.h * g.w);
    int n = nc / g.c, c = nc % g.c;
    int l = g.oh * g.ow, nl = g.n * l;
    float s = 0.0f;
    for (int kh = 0; kh < g.kh; kh++) {
        int th = ih + g.pad_h - kh * g.dil_h;
        if (th < 0 || th % g.stride_h != 0 || th / g.stride_h >= g.oh) {
            continue;
        }
        int oh = th / g.stride_h;
        for (int kw = 0; kw < g.kw; kw++) {
            int tw = iw + g.pad_w - kw * g.dil_w;
            if (tw < 0 || tw % g.stride_w != 0 || tw / g.stride_w >= g.ow) {
                continue;
            }
            int r = (c * g.kh + kh) * g.kw + kw;
            s += cols[r * nl + n * l + oh * g.ow + tw / g.stride_w];
        }
    }
    x[i] = s;
}

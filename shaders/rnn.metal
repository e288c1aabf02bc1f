// Fused recurrent cells (package nn/kernels: LSTMCellParams and friends
// define them). One thread per (row, hidden unit) owns that unit's gate
// entries, so the in-place updates of the gate buffers never race.
#include "ingot.h"

struct CellArgs {
    int n;
    int hidden;
    int has_bias;
};

inline float cell_sigmoid(float x) {
    if (x >= 0.0f) {
        return 1.0f / (1.0f + precise::exp(-x));
    }
    float e = precise::exp(x);
    return e / (1.0f + e);
}

kernel void lstm_cell_fwd(device float* gates [[buffer(0)]],
                          device const float* bih [[buffer(1)]],
                          device const float* bhh [[buffer(2)]],
                          device const float* cprev [[buffer(3)]],
                          device float* c [[buffer(4)]],
                          device float* h [[buffer(5)]],
                          constant CellArgs& p [[buffer(6)]],
                          uint3 tgpig [[threadgroup_position_in_grid]],
                          uint3 tgpg [[threadgroups_per_grid]],
                          uint3 tptg [[thread_position_in_threadgroup]],
                          uint3 tpt [[threads_per_threadgroup]]) {
    int t = flat_id(tgpig, tgpg, tptg, tpt);
    int H = p.hidden;
    if (t >= p.n * H) {
        return;
    }
    int b = t / H, j = t % H;
    device float* g = gates + b * 4 * H;
    float pre[4];
    for (int q = 0; q < 4; q++) {
        pre[q] = g[q * H + j];
        if (p.has_bias) {
            pre[q] += bih[q * H + j] + bhh[q * H + j];
        }
    }
    float i = cell_sigmoid(pre[0]), f = cell_sigmoid(pre[1]);
    float gg = precise::tanh(pre[2]), o = cell_sigmoid(pre[3]);
    g[j] = i;
    g[H + j] = f;
    g[2 * H + j] = gg;
    g[3 * H + j] = o;
    float cv = f * cprev[t] + i * gg;
    c[t] = cv;
    h[t] = o * precise::tanh(cv);
}

kernel void lstm_cell_bwd(device const float* act [[buffer(0)]],
                          device const float* c [[buffer(1)]],
                          device const float* cprev [[buffer(2)]],
                          device const float* dy [[buffer(3)]],
                          device const float* dhrec [[buffer(4)]],
                          device float* dc [[buffer(5)]],
                          device float* dgates [[buffer(6)]],
                          constant CellArgs& p [[buffer(7)]],
                          uint3 tgpig [[threadgroup_position_in_grid]],
                          uint3 tgpg [[threadgroups_per_grid]],
                          uint3 tptg [[thread_position_in_threadgroup]],
                          uint3 tpt [[threads_per_threadgroup]]) {
    int t = flat_id(tgpig, tgpg, tptg, tpt);
    int H = p.hidden;
    if (t >= p.n * H) {
        return;
    }
    int b = t / H, j = t % H;
    device const float* a = act + b * 4 * H;
    device float* dg = dgates + b * 4 * H;
    float i = a[j], f = a[H + j], g = a[2 * H + j], o = a[3 * H + j];
    float tc = precise::tanh(c[t]);
    float dh = dy[t] + dhrec[t];
    float d = dc[t] + dh * o * (1.0f - tc * tc);
    dg[j] = d * g * i * (1.0f - i);
    dg[H + j] = d * cprev[t] * f * (1.0f - f);
    dg[2 * H + j] = d * i * (1.0f - g * g);
    dg[3 * H + j] = dh * tc * o * (1.0f - o);
    dc[t] = d * f;
}

kernel void gru_cell_fwd(device float* xg [[buffer(0)]],
                         device float* hg [[buffer(1)]],
                         device const float* bih [[buffer(2)]],
                         device const float* bhh [[buffer(3)]],
                         device const float* hprev [[buffer(4)]],
                         device float* h [[buffer(5)]],
                         constant CellArgs& p [[buffer(6)]],
                         uint3 tgpig [[threadgroup_position_in_grid]],
                         uint3 tgpg [[threadgroups_per_grid]],
                         uint3 tptg [[thread_position_in_threadgroup]],
                         uint3 tpt [[threads_per_threadgroup]]) {
    int t = flat_id(tgpig, tgpg, tptg, tpt);
    int H = p.hidden;
    if (t >= p.n * H) {
        return;
    }
    int b = t / H, j = t % H;
    device float* x = xg + b * 3 * H;
    device float* r = hg + b * 3 * H;
    float xr = x[j], xz = x[H + j], xn = x[2 * H + j], hn = r[2 * H + j];
    if (p.has_bias) {
        xr += bih[j] + bhh[j];
        xz += bih[H + j] + bhh[H + j];
        xn += bih[2 * H + j];
        hn += bhh[2 * H + j];
    }
    float rg = cell_sigmoid(xr + r[j]);
    float zg = cell_sigmoid(xz + r[H + j]);
    float n = precise::tanh(xn + rg * hn);
    x[j] = rg;
    x[H + j] = zg;
    x[2 * H + j] = n;
    r[2 * H + j] = hn;
    h[t] = (1.0f - zg) * n + zg * hprev[t];
}

kernel void gru_cell_bwd(device const float* act [[buffer(0)]],
                         device const float* hg [[buffer(1)]],
                         device const float* hprev [[buffer(2)]],
                         device const float* dy [[buffer(3)]],
                         device const float* dhrec [[buffer(4)]],
                         device float* dxg [[buffer(5)]],
                         device float* dhg [[buffer(6)]],
                         device float* dhprev [[buffer(7)]],
                         constant CellArgs& p [[buffer(8)]],
                         uint3 tgpig [[threadgroup_position_in_grid]],
                         uint3 tgpg [[threadgroups_per_grid]],
                         uint3 tptg [[thread_position_in_threadgroup]],
                         uint3 tpt [[threads_per_threadgroup]]) {
    int t = flat_id(tgpig, tgpg, tptg, tpt);
    int H = p.hidden;
    if (t >= p.n * H) {
        return;
    }
    int b = t / H, j = t % H;
    device const float* a = act + b * 3 * H;
    float r = a[j], z = a[H + j], n = a[2 * H + j];
    float hn = hg[b * 3 * H + 2 * H + j];
    float dh = dy[t] + dhrec[t]; // read before dhprev (which may alias dhrec) is written
    float dn = dh * (1.0f - z) * (1.0f - n * n);
    float dr = dn * hn * r * (1.0f - r);
    float dz = dh * (hprev[t] - n) * z * (1.0f - z);
    device float* dx = dxg + b * 3 * H;
    device float* dhh = dhg + b * 3 * H;
    dx[j] = dr;
    dx[H + j] = dz;
    dx[2 * H + j] = dn;
    dhh[j] = dr;
    dhh[H + j] = dz;
    dhh[2 * H + j] = dn * r;
    dhprev[t] = dh * z;
}

// The counter-based generator: Philox4x32-10 and the distributions of
// tensor.RandomValue, with the same float32 operations in the same order
// and no contraction into fused multiply-adds, so that every device draws
// the same bits for the same (seed, stream, counter). The constants are the
// float32 values of the Go code, written as bit patterns.
#include "ingot.h"

#pragma clang fp contract(off)

#define RNG_SQRT2 as_type<float>(0x3fb504f3u) // 1.4142135
#define RNG_C11 as_type<float>(0x3dba2e8cu) // 0.09090909
#define RNG_C9 as_type<float>(0x3de38e39u) // 0.11111111
#define RNG_C7 as_type<float>(0x3e124925u) // 0.14285715
#define RNG_C5 as_type<float>(0x3e4ccccdu) // 0.2
#define RNG_C3 as_type<float>(0x3eaaaaabu) // 0.33333334
#define RNG_LN2 as_type<float>(0x3f317218u) // 0.6931472
#define RNG_HALFPI as_type<float>(0x3fc90fdbu) // 1.5707964
#define RNG_S11 as_type<float>(0xb2d7322bu) // -2.5052108e-08
#define RNG_S9 as_type<float>(0x3638ef1du) // 2.7557319e-06
#define RNG_S7 as_type<float>(0x39500d01u) // 0.0001984127
#define RNG_S5 as_type<float>(0x3c088889u) // 0.008333334
#define RNG_S3 as_type<float>(0x3e2aaaabu) // 0.16666667
#define RNG_C12 as_type<float>(0x310f76c7u) // 2.0876756e-09
#define RNG_C10 as_type<float>(0x3493f27eu) // 2.755732e-07
#define RNG_C8 as_type<float>(0x37d00d01u) // 2.4801588e-05
#define RNG_C6 as_type<float>(0x3ab60b61u) // 0.0013888889
#define RNG_C4 as_type<float>(0x3d2aaaabu) // 0.041666668

struct RandArgs {
    int dist; // 1 uniform, 2 normal, 3 bernoulli (tensor.Dist)
    float a;
    float b;
    int n;
    uint seed_lo, seed_hi;
    uint stream_lo, stream_hi;
    uint counter_lo, counter_hi;
};

inline uint4 philox(uint2 key, uint4 c) {
    for (int r = 0; r < 10; r++) {
        ulong p0 = ulong(0xD2511F53u) * ulong(c.x);
        ulong p1 = ulong(0xCD9E8D57u) * ulong(c.z);
        c = uint4(uint(p1 >> 32) ^ c.y ^ key.x, uint(p1), uint(p0 >> 32) ^ c.w ^ key.y, uint(p0));
        key += uint2(0x9E3779B9u, 0xBB67AE85u);
    }
    return c;
}

inline float uniform01(uint x) {
    return float(x >> 8) * as_type<float>(0x33800000u); // 2^-24
}

inline float log_unit(float u) {
    uint bits = as_type<uint>(u);
    int e = int(bits >> 23) - 127;
    float m = as_type<float>((bits & 0x007FFFFFu) | 0x3F800000u);
    if (m > RNG_SQRT2) {
        m = m * 0.5f;
        e++;
    }
    float s = (m - 1.0f) / (m + 1.0f);
    float s2 = s * s;
    float p = s2 * RNG_C11 + RNG_C9;
    p = s2 * p + RNG_C7;
    p = s2 * p + RNG_C5;
    p = s2 * p + RNG_C3;
    p = s2 * p + 1.0f;
    float lnm = (2.0f * s) * p;
    return float(e) * RNG_LN2 + lnm;
}

inline float2 sincos_turn(float t) {
    float f = t * 4.0f;
    int q = int(f);
    f = f - float(q);
    float x = f * RNG_HALFPI;
    float x2 = x * x;
    float sp = x2 * RNG_S11 + RNG_S9;
    sp = x2 * sp - RNG_S7;
    sp = x2 * sp + RNG_S5;
    sp = x2 * sp - RNG_S3;
    float s = (x * x2) * sp + x;
    float cp = x2 * RNG_C12 - RNG_C10;
    cp = x2 * cp + RNG_C8;
    cp = x2 * cp - RNG_C6;
    cp = x2 * cp + RNG_C4;
    cp = x2 * cp - 0.5f;
    float c = x2 * cp + 1.0f;
    switch (q) {
    case 0: return float2(s, c);
    case 1: return float2(c, -s);
    case 2: return float2(-s, -c);
    }
    return float2(-c, s);
}

kernel void rand_fill(device float* out [[buffer(0)]],
                      constant RandArgs& p [[buffer(1)]],
                      uint3 tgpig [[threadgroup_position_in_grid]],
                      uint3 tgpg [[threadgroups_per_grid]],
                      uint3 tptg [[thread_position_in_threadgroup]],
                      uint3 tpt [[threads_per_threadgroup]]) {
    int i = flat_id(tgpig, tgpg, tptg, tpt);
    if (i >= p.n) {
        return;
    }
    ulong g = ((ulong(p.counter_hi) << 32) | ulong(p.counter_lo)) + ulong(i);
    ulong block = g / 4;
    uint lane = uint(g % 4);
    uint4 w = philox(uint2(p.seed_lo, p.seed_hi), uint4(uint(block), uint(block >> 32), p.stream_lo, p.stream_hi));
    uint words[4] = {w.x, w.y, w.z, w.w};
    float v;
    if (p.dist == 1) {
        v = (p.b - p.a) * uniform01(words[lane]) + p.a;
    } else if (p.dist == 3) {
        v = uniform01(words[lane]) < p.a ? 1.0f : 0.0f;
    } else {
        uint q = lane & ~1u;
        float u1 = float((words[q] >> 8) + 1u) * as_type<float>(0x33800000u);
        float u2 = uniform01(words[q + 1]);
        float r = precise::sqrt(-2.0f * log_unit(u1));
        float2 sc = sincos_turn(u2);
        float z = (lane & 1u) ? sc.x : sc.y;
        v = (r * z) * p.b + p.a;
    }
    out[i] = v;
}

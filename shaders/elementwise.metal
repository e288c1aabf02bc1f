// Elementwise kernels: unary and binary ops over strided, broadcast
// operands, where, fill, strided copy and casts. Op numbers match package
// tensor's UnaryOp and BinaryOp constants.
#include "ingot.h"

struct UnaryArgs {
    int op;
    float alpha;
    float beta;
    int n;
    Layout x;
};

inline float sigmoid1(float x) {
    if (x >= 0.0f) {
        return 1.0f / (1.0f + precise::exp(-x));
    }
    float e = precise::exp(x);
    return e / (1.0f + e);
}

inline float softplus1(float x) {
    return max(x, 0.0f) + precise::log(1.0f + precise::exp(-precise::abs(x)));
}

inline float log1p1(float x) {
    // log1p with the classic correction: exact where 1+x rounds.
    float u = 1.0f + x;
    if (u == 1.0f) {
        return x;
    }
    return precise::log(u) * x / (u - 1.0f);
}

inline float unary_op(int op, float x, float a, float b) {
    switch (op) {
    case 1: return -x;
    case 2: return precise::exp(x);
    case 3: return precise::log(x);
    case 4: return precise::sqrt(x);
    case 5: return precise::abs(x);
    case 6: return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : x);
    case 7: return precise::tanh(x);
    case 8: return sigmoid1(x);
    case 9: return x > 0.0f ? x : (x != x ? x : 0.0f);
    case 10: return x > 0.0f ? x : a * x;
    case 11: return softplus1(x);
    case 12: return precise::pow(x, a);
    case 13: return x < a ? a : (x > b ? b : x);
    case 14: return a * x + b;
    case 15: return log1p1(x);
    }
    return NAN;
}

kernel void unary(device float* out [[buffer(0)]],
                  device const float* x [[buffer(1)]],
                  constant UnaryArgs& p [[buffer(2)]],
                  uint3 tgpig [[threadgroup_position_in_grid]],
                  uint3 tgpg [[threadgroups_per_grid]],
                  uint3 tptg [[thread_position_in_threadgroup]],
                  uint3 tpt [[threads_per_threadgroup]]) {
    int i = flat_id(tgpig, tgpg, tptg, tpt);
    if (i >= p.n) {
        return;
    }
    out[i] = unary_op(p.op, x[layout_index(p.x, i)], p.alpha, p.beta);
}

struct BinaryArgs {
    int op;
    float alpha;
    float beta;
    int n;
    Layout a;
    Layout b;
};

inline float binary_op(int op, float a, float b, float alpha, float beta) {
    switch (op) {
    case 1: return a + b;
    case 2: return a - b;
    case 3: return a * b;
    case 4: return a / b;
    case 5: return precise::pow(a, b);
    case 6: return (a != a || a > b) ? a : b;
    case 7: return (a != a || a < b) ? a : b;
    case 8: return a > b ? 1.0f : 0.0f;
    case 9: return a == b ? 1.0f : 0.0f;
    case 10: return b * (1.0f - a * a);
    case 11: return b * a * (1.0f - a);
    case 12: return a > 0.0f ? b : 0.0f;
    case 13: return a > 0.0f ? b : alpha * b;
    case 14: return b * sigmoid1(a);
    case 15: return (a >= alpha && a <= beta) ? b : 0.0f;
    case 16: return a + alpha * b;
    }
    return NAN;
}

kernel void binary(device float* out [[buffer(0)]],
                   device const float* a [[buffer(1)]],
                   device const float* b [[buffer(2)]],
                   constant BinaryArgs& p [[buffer(3)]],
                   uint3 tgpig [[threadgroup_position_in_grid]],
                   uint3 tgpg [[threadgroups_per_grid]],
                   uint3 tptg [[thread_position_in_threadgroup]],
                   uint3 tpt [[threads_per_threadgroup]]) {
    int i = flat_id(tgpig, tgpg, tptg, tpt);
    if (i >= p.n) {
        return;
    }
    out[i] = binary_op(p.op, a[layout_index(p.a, i)], b[layout_index(p.b, i)], p.alpha, p.beta);
}

struct WhereArgs {
    int n;
    Layout c;
    Layout a;
    Layout b;
};

kernel void where_select(device float* out [[buffer(0)]],
                         device const float* c [[buffer(1)]],
                         device const float* a [[buffer(2)]],
                         device const float* b [[buffer(3)]],
                         constant WhereArgs& p [[buffer(4)]],
                         uint3 tgpig [[threadgroup_position_in_grid]],
                         uint3 tgpg [[threadgroups_per_grid]],
                         uint3 tptg [[thread_position_in_threadgroup]],
                         uint3 tpt [[threads_per_threadgroup]]) {
    int i = flat_id(tgpig, tgpg, tptg, tpt);
    if (i >= p.n) {
        return;
    }
    out[i] = c[layout_index(p.c, i)] != 0.0f ? a[layout_index(p.a, i)] : b[layout_index(p.b, i)];
}

struct FillArgs {
    int n;
    uint value;
};

kernel void fill(device uint* out [[buffer(0)]],
                 constant FillArgs& p [[buffer(1)]],
                 uint3 tgpig [[threadgroup_position_in_grid]],
                 uint3 tgpg [[threadgroups_per_grid]],
                 uint3 tptg [[thread_position_in_threadgroup]],
                 uint3 tpt [[threads_per_threadgroup]]) {
    int i = flat_id(tgpig, tgpg, tptg, tpt);
    if (i < p.n) {
        out[i] = p.value;
    }
}

struct CopyArgs {
    int n;
    Layout x;
};

// copy moves 4-byte elements bit for bit (float32 or int32).
kernel void copy_strided(device uint* out [[buffer(0)]],
                         device const uint* x [[buffer(1)]],
                         constant CopyArgs& p [[buffer(2)]],
                         uint3 tgpig [[threadgroup_position_in_grid]],
                         uint3 tgpg [[threadgroups_per_grid]],
                         uint3 tptg [[thread_position_in_threadgroup]],
                         uint3 tpt [[threads_per_threadgroup]]) {
    int i = flat_id(tgpig, tgpg, tptg, tpt);
    if (i < p.n) {
        out[i] = x[layout_index(p.x, i)];
    }
}

struct CastArgs {
    int n;
    int mode; // 0: float to int (toward zero), 1: int to float, 2: bit copy
};

kernel void cast(device uint* out [[buffer(0)]],
                 device const uint* x [[buffer(1)]],
                 constant CastArgs& p [[buffer(2)]],
                 uint3 tgpig [[threadgroup_position_in_grid]],
                 uint3 tgpg [[threadgroups_per_grid]],
                 uint3 tptg [[thread_position_in_threadgroup]],
                 uint3 tpt [[threads_per_threadgroup]]) {
    int i = flat_id(tgpig, tgpg, tptg, tpt);
    if (i >= p.n) {
        return;
    }
    uint v = x[i];
    if (p.mode == 0) {
        v = as_type<uint>(int(as_type<float>(v)));
    } else if (p.mode == 1) {
        v = as_type<uint>(float(as_type<int>(v)));
    }
    out[i] = v;
}

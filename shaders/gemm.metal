// Matrix multiplication C = α·op(A)·op(B) + β·C, row-major, batched, in the
// style of MLX's "steel" GEMM: a 64×64 output tile per threadgroup, BK = 16,
// 2×2 SIMD-groups each accumulating 4×4 simdgroup_float8x8 fragments with
// simdgroup_multiply_accumulate, A and B staged in threadgroup memory padded
// against bank conflicts. All four transpose combinations read their
// operands in place. Accumulation is fp32 throughout (operands are never
// staged as half: that costs training accuracy).
//
// Variants (template instantiations, chosen by package metal):
//   gemm_{n,t}{n,t}_{aligned,edge}: aligned tiles skip bounds checks;
//     edge tiles zero-fill loads and check stores;
//   gemv: M = 1 or N = 1, one SIMD-group per output with simd_sum;
//   split-K: a tile kernel with splits > 1 writes α·partial sums to a
//     workspace and gemm_splitk_reduce adds them (small outputs, long K).
#include "ingot.h"

struct GemmArgs {
    int m, n, k;
    int lda, ldb, ldc;
    int stride_a, stride_b, stride_c; // elements between batch matrices
    float alpha, beta;
    int batch;
    int splits;      // split-K pieces; 1 = none
    int k_per_split; // a multiple of 16
};

#define BM 64
#define BN 64
#define BK 16
#define LDA_S (BK + 4) // padded row of the A tile
#define LDB_S (BN + 4) // padded row of the B tile

template <bool TA, bool TB, bool ALIGNED>
kernel void gemm_tile(device const float* A [[buffer(0)]],
                      device const float* B [[buffer(1)]],
                      device float* C [[buffer(2)]],
                      device float* W [[buffer(3)]],
                      constant GemmArgs& p [[buffer(4)]],
                      uint3 tg [[threadgroup_position_in_grid]],
                      uint tid [[thread_index_in_threadgroup]],
                      uint sg [[simdgroup_index_in_threadgroup]]) {
    threadgroup float As[BM * LDA_S]; // As[m][k]
    threadgroup float Bs[BK * LDB_S]; // Bs[k][n]
    threadgroup float Cs[BM * BN];    // accumulators for the epilogue

    int b = int(tg.z) / p.splits;
    int split = int(tg.z) % p.splits;
    A += b * p.stride_a;
    B += b * p.stride_b;
    int row0 = int(tg.y) * BM;
    int col0 = int(tg.x) * BN;
    int k0 = split * p.k_per_split;
    int k1 = min(p.k, k0 + p.k_per_split);
    int sr = int(sg / 2) * 32;
    int sc = int(sg % 2) * 32;

    simdgroup_float8x8 acc[4][4];
    for (int i = 0; i < 4; i++) {
        for (int j = 0; j < 4; j++) {
            acc[i][j] = make_filled_simdgroup_matrix<float, 8, 8>(0.0f);
        }
    }

    for (int kb = k0; kb < k1; kb += BK) {
        // 128 threads load the 64×16 A tile and the 16×64 B tile, 8
        // elements each, walking memory contiguously for either layout.
        for (int e = int(tid); e < BM * BK; e += 128) {
            int mm = TA ? e % BM : e / BK;
            int kk = TA ? e / BM : e % BK;
            int gm = row0 + mm, gk = kb + kk;
            float v = 0.0f;
            if (ALIGNED || (gm < p.m && gk < k1)) {
                v = TA ? A[gk * p.lda + gm] : A[gm * p.lda + gk];
            }
            As[mm * LDA_S + kk] = v;
        }
        for (int e = int(tid); e < BK * BN; e += 128) {
            int kk = TB ? e % BK : e / BN;
            int nn = TB ? e / BK : e % BN;
            int gk = kb + kk, gn = col0 + nn;
            float v = 0.0f;
            if (ALIGNED || (gn < p.n && gk < k1)) {
                v = TB ? B[gn * p.ldb + gk] : B[gk * p.ldb + gn];
            }
            Bs[kk * LDB_S + nn] = v;
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        for (int kk = 0; kk < BK; kk += 8) {
            simdgroup_float8x8 af[4], bf[4];
            for (int i = 0; i < 4; i++) {
                simdgroup_load(af[i], &As[(sr + i * 8) * LDA_S + kk], LDA_S);
                simdgroup_load(bf[i], &Bs[kk * LDB_S + sc + i * 8], LDB_S);
            }
            for (int i = 0; i < 4; i++) {
                for (int j = 0; j < 4; j++) {
                    simdgroup_multiply_accumulate(acc[i][j], af[i], bf[j], acc[i][j]);
                }
            }
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }

    for (int i = 0; i < 4; i++) {
        for (int j = 0; j < 4; j++) {
            simdgroup_store(acc[i][j], &Cs[(sr + i * 8) * BN + sc + j * 8], BN);
        }
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (int e = int(tid); e < BM * BN; e += 128) {
        int gm = row0 + e / BN, gn = col0 + e % BN;
        if (!ALIGNED && (gm >= p.m || gn >= p.n)) {
            continue;
        }
        float v = p.alpha * Cs[e];
        if (p.splits > 1) {
            W[((split * p.batch + b) * p.m + gm) * p.n + gn] = v;
        } else {
            device float* c = C + b * p.stride_c + gm * p.ldc + gn;
            *c = p.beta == 0.0f ? v : v + p.beta * *c; // β = 0 ignores NaN in C
        }
    }
}

template [[host_name("gemm_nn_aligned")]] [[kernel]] decltype(gemm_tile<false, false, true>) gemm_tile<false, false, true>;
template [[host_name("gemm_nt_aligned")]] [[kernel]] decltype(gemm_tile<false, true, true>) gemm_tile<false, true, true>;
template [[host_name("gemm_tn_aligned")]] [[kernel]] decltype(gemm_tile<true, false, true>) gemm_tile<true, false, true>;
template [[host_name("gemm_tt_aligned")]] [[kernel]] decltype(gemm_tile<true, true, true>) gemm_tile<true, true, true>;
template [[host_name("gemm_nn_edge")]] [[kernel]] decltype(gemm_tile<false, false, false>) gemm_tile<false, false, false>;
template [[host_name("gemm_nt_edge")]] [[kernel]] decltype(gemm_tile<false, true, false>) gemm_tile<false, true, false>;
template [[host_name("gemm_tn_edge")]] [[kernel]] decltype(gemm_tile<true, false, false>) gemm_tile<true, false, false>;
template [[host_name("gemm_tt_edge")]] [[kernel]] decltype(gemm_tile<true, true, false>) gemm_tile<true, true, false>;

// gemm_splitk_reduce: C = Σ_s W[s] + β·C, one thread per element.
kernel void gemm_splitk_reduce(device float* C [[buffer(0)]],
                               device const float* W [[buffer(1)]],
                               constant GemmArgs& p [[buffer(2)]],
                               uint3 tgpig [[threadgroup_position_in_grid]],
                               uint3 tgpg [[threadgroups_per_grid]],
                               uint3 tptg [[thread_position_in_threadgroup]],
                               uint3 tpt [[threads_per_threadgroup]]) {
    int i = flat_id(tgpig, tgpg, tptg, tpt);
    int mn = p.m * p.n;
    if (i >= p.batch * mn) {
        return;
    }
    int b = i / mn, gm = (i % mn) / p.n, gn = i % p.n;
    float v = 0.0f;
    for (int s = 0; s < p.splits; s++) {
        v += W[(s * p.batch + b) * mn + i % mn];
    }
    device float* c = C + b * p.stride_c + gm * p.ldc + gn;
    *c = p.beta == 0.0f ? v : v + p.beta * *c;
}

// gemv: one of M, N is 1. Each SIMD-group computes one output element as
// a simd_sum over K; a threadgroup of 256 threads computes 8 outputs.
kernel void gemv(device const float* A [[buffer(0)]],
                 device const float* B [[buffer(1)]],
                 device float* C [[buffer(2)]],
                 constant GemmArgs& p [[buffer(3)]],
                 constant int& trans [[buffer(4)]], // bit 0: TA, bit 1: TB
                 uint3 tg [[threadgroup_position_in_grid]],
                 uint lane [[thread_index_in_simdgroup]],
                 uint sg [[simdgroup_index_in_threadgroup]]) {
    int b = int(tg.z);
    int o = int(tg.x) * 8 + int(sg);
    int outs = max(p.m, p.n);
    if (o >= outs) {
        return;
    }
    int i = p.m == 1 ? 0 : o;
    int j = p.m == 1 ? o : 0;
    bool ta = (trans & 1) != 0, tb = (trans & 2) != 0;
    device const float* a = A + b * p.stride_a;
    device const float* bb = B + b * p.stride_b;
    float s = 0.0f;
    for (int k = int(lane); k < p.k; k += 32) {
        float av = ta ? a[k * p.lda + i] : a[i * p.lda + k];
        float bv = tb ? bb[j * p.ldb + k] : bb[k * p.ldb + j];
        s = fma(av, bv, s);
    }
    s = simd_sum(s);
    if (lane == 0) {
        device float* c = C + b * p.stride_c + i * p.ldc + j;
        float v = p.alpha * s;
        *c = p.beta == 0.0f ? v : v + p.beta * *c;
    }
}


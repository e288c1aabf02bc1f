// A small steel-style GEMM for the emulator's tests: C = A * B (row-major,
// A M x K, B K x N), a BM x BN tile per threadgroup staged through padded
// threadgroup memory, 2 x 2 SIMD groups each accumulating (BM/16) x (BN/16)
// simdgroup_float8x8 fragments; zero-filled edge loads, bounds-checked
// stores.
#include <metal_stdlib>
using namespace metal;

struct GemmParams {
    uint M, N, K;
};

template <int BM, int BN, int BK>
[[kernel]] void gemm_tile(device const float* A [[buffer(0)]],
                          device const float* B [[buffer(1)]],
                          device float* C [[buffer(2)]],
                          constant GemmParams& p [[buffer(3)]],
                          uint2 tg [[threadgroup_position_in_grid]],
                          uint tid [[thread_index_in_threadgroup]],
                          uint sg [[simdgroup_index_in_threadgroup]]) {
    constexpr int PAD = 4; // against bank conflicts
    constexpr int FM = BM / 16, FN = BN / 16; // fragments per SIMD group
    threadgroup float As[BM * (BK + PAD)];
    threadgroup float Bs[BK * (BN + PAD)];
    const uint row0 = tg.y * BM, col0 = tg.x * BN;
    const uint sr = (sg / 2) * (BM / 2), sc = (sg % 2) * (BN / 2);
    simdgroup_float8x8 acc[FM][FN];
    for (int i = 0; i < FM; i++) {
        for (int j = 0; j < FN; j++) {
            acc[i][j] = simdgroup_float8x8(0.0);
        }
    }
    for (uint k0 = 0; k0 < p.K; k0 += BK) {
        for (uint e = tid; e < BM * BK; e += 128) {
            uint r = e / BK, c = e % BK;
            uint gr = row0 + r, gc = k0 + c;
            As[r * (BK + PAD) + c] = (gr < p.M && gc < p.K) ? A[gr * p.K + gc] : 0.0;
        }
        for (uint e = tid; e < BK * BN; e += 128) {
            uint r = e / BN, c = e % BN;
            uint gr = k0 + r, gc = col0 + c;
            Bs[r * (BN + PAD) + c] = (gr < p.K && gc < p.N) ? B[gr * p.N + gc] : 0.0;
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        for (int kk = 0; kk < BK; kk += 8) {
            simdgroup_float8x8 a[FM], b[FN];
            for (int i = 0; i < FM; i++) {
                simdgroup_load(a[i], As, BK + PAD, ulong2(kk, sr + 8 * i));
            }
            for (int j = 0; j < FN; j++) {
                simdgroup_load(b[j], Bs, BN + PAD, ulong2(sc + 8 * j, kk));
            }
            for (int i = 0; i < FM; i++) {
                for (int j = 0; j < FN; j++) {
                    simdgroup_multiply_accumulate(acc[i][j], a[i], b[j], acc[i][j]);
                }
            }
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    // stage each fragment through threadgroup memory for a bounds-checked store
    threadgroup float Cs[4][64];
    uint lane = tid % 32;
    for (int i = 0; i < FM; i++) {
        for (int j = 0; j < FN; j++) {
            simdgroup_store(acc[i][j], &Cs[sg][0], 8);
            simdgroup_barrier(mem_flags::mem_threadgroup);
            for (uint e = lane; e < 64; e += 32) {
                uint gr = row0 + sr + 8 * i + e / 8, gc = col0 + sc + 8 * j + e % 8;
                if (gr < p.M && gc < p.N) {
                    C[gr * p.N + gc] = Cs[sg][e];
                }
            }
            simdgroup_barrier(mem_flags::mem_threadgroup);
        }
    }
}

template [[host_name("gemm_32x32")]] [[kernel]] void gemm_tile<32, 32, 16>(
    device const float*, device const float*, device float*, constant GemmParams&, uint2, uint, uint);
template [[host_name("gemm_64x64")]] [[kernel]] decltype(gemm_tile<64, 64, 16>) gemm_tile<64, 64, 16>;

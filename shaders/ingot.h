// ingot.h: definitions shared by every ingot kernel. Each .metal file
// includes it; shaders.Library inlines it once at the top of the single
// translation unit the drivers compile (Metal compiles from source strings
// and cannot open files itself).
//
// Argument structs mirror the Go parameter structs of package tensor and are
// packed by package metal: 4-byte fields, in order, no padding.
#include <metal_stdlib>
using namespace metal;

#define MAX_RANK 8

// Layout is a strided operand: element i (row-major over shape) lives at
// base[off + Σ idx[d]·strides[d]]; a broadcast dimension has stride 0.
struct Layout {
    int rank;
    int off;
    int shape[MAX_RANK];
    int strides[MAX_RANK];
};

inline int layout_index(constant Layout& l, int i) {
    int off = l.off;
    for (int d = l.rank - 1; d >= 0; d--) {
        int s = l.shape[d];
        off += (i % s) * l.strides[d];
        i /= s;
    }
    return off;
}

// Error bits a kernel may set in the device's status buffer; the host
// turns them into Go errors when it synchronises.
#define INGOT_ERR_INDEX 1u

// The thread position of a 1-D dispatch whose grid may exceed 65535 groups
// in x: groups are laid out in x then y.
inline int flat_id(uint3 tgpig, uint3 tgpg, uint3 tptg, uint3 tpt) {
    return int((tgpig.y * tgpg.x + tgpig.x) * tpt.x + tptg.x);
}

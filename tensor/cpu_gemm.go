package tensor

import "github.com/ingotml/ingot/internal/gemm"

// sgemmBatched is the CPU device's GEMM: internal/gemm's packed SGEMM.
var sgemmBatched = gemm.SgemmBatched

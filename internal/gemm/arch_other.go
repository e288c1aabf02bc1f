//go:build !amd64 && !arm64

package gemm

import "github.com/ingotml/ingot/internal/cpufeat"

func archImpl(p cpufeat.Path) *impl { return nil }

func packB64(dst, src *float32, ldb, kc, np int) { panic("gemm: packB64 is amd64-only") }
func packBT64(dst, src *float32, ldb, kc int)    { panic("gemm: packBT64 is amd64-only") }

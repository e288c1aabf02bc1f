//go:build !amd64 && !arm64

package gemm

import "github.com/ingotml/ingot/internal/cpufeat"

func archImpl(p cpufeat.Path) *impl { return nil }

//go:build tools

// This file pins the project's chosen dependencies (DESIGN.md) in go.mod
// while the packages that will import them are being written.
package ingot

import (
	_ "github.com/ebitengine/purego"
	_ "github.com/klauspost/compress/zstd"
	_ "github.com/schollz/progressbar/v3"
	_ "github.com/stretchr/testify/require"
	_ "golang.org/x/sys/cpu"
	_ "gonum.org/v1/gonum/blas/blas32"
	_ "gonum.org/v1/plot"
)

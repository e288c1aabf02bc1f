package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestGeneratedUpToDate fails when internal/vmath's generated files differ
// from what this generator writes (run go generate ./internal/vmath).
func TestGeneratedUpToDate(t *testing.T) {
	dir := t.TempDir()
	generate(dir)
	for _, f := range []string{"zkernels_amd64.s", "zkernels_amd64.go", "zkernels_arm64.s", "zkernels_arm64.go"} {
		want, err := os.ReadFile(filepath.Join(dir, f))
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join("..", "..", f))
		require.NoError(t, err)
		require.Equal(t, string(want), string(got), "%s is stale: run go generate ./internal/vmath", f)
	}
}

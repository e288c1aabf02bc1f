//go:build darwin

package metal_test

import (
	"testing"

	"github.com/ingotml/ingot/metal"
	"github.com/ingotml/ingot/metal/mtl"
	_ "github.com/ingotml/ingot/nn/kernels/kerneltest" // nn's kernels join the suite
	"github.com/ingotml/ingot/tensor/devicetest"
)

// The conformance suite on the real GPU: the self-check a Mac user runs
// (docs/first-run-on-a-mac.md).
func TestConformanceOnGPU(t *testing.T) {
	d, err := metal.New("metal-gpu", mtl.Open)
	if err != nil {
		t.Skipf("needs macOS with an Apple-silicon GPU: %v", err)
	}
	defer d.Close()
	t.Logf("GPU: %v", d)
	devicetest.Run(t, d)
	t.Run("training steps match the CPU", func(t *testing.T) { checkTrainingSteps(t, d) })
}

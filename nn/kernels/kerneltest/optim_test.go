package kerneltest

import (
	"strings"
	"testing"

	"github.com/ingotml/ingot/tensor"
	"github.com/ingotml/ingot/tensor/devicetest"
)

// TestOptimCPU runs the optimizer update cases on the CPU device.
func TestOptimCPU(t *testing.T) {
	for _, c := range devicetest.Cases() {
		if strings.HasPrefix(c.Name, "nn/sgd_update") || strings.HasPrefix(c.Name, "nn/adam_update") || strings.HasPrefix(c.Name, "nn/rmsprop_update") || strings.HasPrefix(c.Name, "nn/sum_squares") {
			t.Run(c.Name, func(t *testing.T) { c.Run(t, tensor.CPU()) })
		}
	}
}

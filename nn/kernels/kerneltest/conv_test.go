package kerneltest

import (
	"strings"
	"testing"

	"github.com/ingotml/ingot/tensor"
	"github.com/ingotml/ingot/tensor/devicetest"
)

// TestConvCPU runs this package's convolution cases on the CPU device (the
// full suite, with the completeness rule, runs in each device's own tests).
func TestConvCPU(t *testing.T) {
	for _, c := range devicetest.Cases() {
		if strings.HasPrefix(c.Name, "nn/im2col") || strings.HasPrefix(c.Name, "nn/col2im") {
			t.Run(c.Name, func(t *testing.T) { c.Run(t, tensor.CPU()) })
		}
	}
}

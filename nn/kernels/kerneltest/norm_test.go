package kerneltest

import (
	"strings"
	"testing"

	"github.com/ingotml/ingot/tensor"
	"github.com/ingotml/ingot/tensor/devicetest"
)

// TestBatchNormCPU runs the batch-normalisation cases on the CPU device.
func TestBatchNormCPU(t *testing.T) {
	for _, c := range devicetest.Cases() {
		if strings.HasPrefix(c.Name, "nn/batchnorm_") {
			t.Run(c.Name, func(t *testing.T) { c.Run(t, tensor.CPU()) })
		}
	}
}

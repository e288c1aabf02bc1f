package kerneltest

import (
	"strings"
	"testing"

	"github.com/ingotml/ingot/tensor"
	"github.com/ingotml/ingot/tensor/devicetest"
)

// TestRNNCPU runs the recurrent cell cases on the CPU device.
func TestRNNCPU(t *testing.T) {
	for _, c := range devicetest.Cases() {
		if strings.HasPrefix(c.Name, "nn/lstm_cell") || strings.HasPrefix(c.Name, "nn/gru_cell") {
			t.Run(c.Name, func(t *testing.T) { c.Run(t, tensor.CPU()) })
		}
	}
}
